"""A store and a lock file written by promptsearch before its modules moved into packages
(tests/fixtures/before_move, written by make_fixture.py there at commit 71a6f03) still load:
apps keep their lock files and users their stores across the move."""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

import pytest

from promptsearch import load_best
from promptsearch.api import open_store
from promptsearch.cli.main import main
from promptsearch.core.states import CandidateStatus, RunStatus
from promptsearch.report import leaderboard, run_leaderboard
from promptsearch.storage import versions

FIXTURE = Path(__file__).parent / "fixtures" / "before_move"


@pytest.fixture
def before_move(tmp_path: Path) -> Path:
    """A copy of the fixture (the tests write to its store)."""
    folder = tmp_path / "before_move"
    shutil.copytree(FIXTURE, folder, ignore=shutil.ignore_patterns("make_fixture.py", "*.sql"))
    # The store is committed as the SQL text of its SQLite file (no database is tracked by git)
    with sqlite3.connect(folder / "results" / "promptsearch.db") as conn:
        conn.executescript((FIXTURE / "store.sql").read_text(encoding="utf-8"))
    return folder


def test_a_lock_file_from_before_the_move_answers_in_an_app(before_move, fake_model):
    lock = json.loads((before_move / "results" / "upper" / "best.json").read_text())
    best = load_best(before_move / "results" / "upper" / "best.json")
    assert best.key.id == lock["key_id"] and best.model == "fake/scripted"
    assert best.predict(input="word7") == "WORD7"
    assert load_best("upper@1", results_dir=before_move / "results").key.id == lock["key_id"]


def test_a_store_from_before_the_move_reads_back(before_move):
    store = open_store(before_move / "results")
    runs = store.list_runs("upper")
    assert [RunStatus(run["status"]) for run in runs] == [RunStatus.FINISHED]
    statuses = {CandidateStatus(row["status"]) for row in store.list_candidates(runs[0]["id"])}
    assert CandidateStatus.COMPLETE in statuses
    board = leaderboard(store)
    assert list(board["task"]) == ["upper"] and board["test"].iloc[0] == 1.0
    assert len(run_leaderboard(store, runs[0]["id"])) >= 2  # the winner and the seed baseline
    assert versions.latest_for_model(store, "upper", "fake/scripted")["version"] == 1


def test_verify_pairs_new_answers_with_a_lock_from_before_the_move(before_move, fake_model,
                                                                   capsys):
    assert main(["verify", "--results", str(before_move / "results")]) == 0
    assert "ok" in capsys.readouterr().out


def test_a_new_run_on_a_store_from_before_the_move_adds_its_own(before_move, fake_model):
    from promptsearch import run

    result = run(before_move / "task.yaml", results_dir=before_move / "results")
    store = open_store(before_move / "results")
    assert len(store.list_runs("upper")) == 2 and result.run_id.endswith("-2")
