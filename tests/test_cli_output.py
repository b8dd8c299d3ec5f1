"""Output that survives pipes, files and CI logs, and errors a user can act on: machine formats
unwrapped, full-width tables without a terminal, a line per phase in a log, the best score of a
resumed run, summaries by default, raw replies for unparseable answers, read-only commands that
create nothing, and an unwritable results folder refused in one line."""

import csv
import io
import json
import subprocess
import sys

import pytest
from conftest import REPO, write_task, write_upper_task

from promptsearch.api import load_best
from promptsearch.cli.main import main
from promptsearch.errors import EXIT_BAD_INPUT, InputError

LONG_TASK_NAME = "a_task_name_long_enough_to_need_a_wide_column_in_any_table"


@pytest.fixture(scope="module")
def searched(tmp_path_factory):
    """One finished run of a task with a long name (tables wider than 80 columns)."""
    import conftest

    conftest._register(conftest.SCRIPTED)
    folder = tmp_path_factory.mktemp("searched")
    task = write_upper_task(folder)
    task = write_task(folder, task.read_text().replace("name: upper", f"name: {LONG_TASK_NAME}"))
    results = folder / "results"
    assert main(["run", str(task), "--results", str(results), "--quiet"]) == 0
    return task, results


def _child(*args: str) -> subprocess.CompletedProcess:
    """The CLI in a child process whose stdout and stderr are pipes, as in CI or `| tee`."""
    return subprocess.run([sys.executable, "-m", "promptsearch.cli", *args], cwd=REPO,
                          capture_output=True, text=True, timeout=300,
                          env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO)})


def test_csv_through_a_pipe_reads_back_with_equal_rows(searched):
    _, results = searched
    done = _child("leaderboard", "--format", "csv", "--results", str(results))
    assert done.returncode == 0, done.stderr
    rows = list(csv.reader(io.StringIO(done.stdout)))
    assert len(rows) >= 2 and len({len(row) for row in rows}) == 1
    assert rows[1][rows[0].index("task")] == LONG_TASK_NAME


def test_markdown_and_json_are_written_unwrapped(searched, capsys):
    _, results = searched
    assert main(["leaderboard", "--format", "md", "--results", str(results)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 3 and all(line.startswith("|") for line in lines)
    assert main(["leaderboard", "--format", "json", "--results", str(results)]) == 0
    assert json.loads(capsys.readouterr().out)[0]["task"] == LONG_TASK_NAME


def test_tables_without_a_terminal_keep_every_column_whole(searched):
    _, results = searched
    done = _child("leaderboard", "--results", str(results))
    assert done.returncode == 0, done.stderr
    assert LONG_TASK_NAME in done.stdout and "…" not in done.stdout
    assert max(map(len, done.stdout.splitlines())) > 80


def test_a_ci_log_gets_a_line_per_phase(tmp_path, fake_model):
    # The scripted model lives in this process, so the child reaches the embedded route of a
    # real run through `run` in-process; its stderr is a pipe when captured by subprocess.
    task = write_upper_task(tmp_path)
    script = ("import sys, conftest; conftest._register(conftest.SCRIPTED); "
              "from promptsearch.cli.main import main; sys.exit(main(sys.argv[1:]))")
    done = subprocess.run([sys.executable, "-c", script, "run", str(task), "--results",
                           str(tmp_path / "results")], cwd=REPO / "tests", capture_output=True,
                          text=True, timeout=300,
                          env={"PATH": "/usr/bin:/bin", "PYTHONPATH": f"{REPO}:{REPO}/tests"})
    assert done.returncode == 0, done.stderr
    lines = done.stderr.splitlines()
    assert lines[0].startswith("plan: 120 LM calls")
    for phase in ("proposing done", "searching done", "retrying done", "testing 1/"):
        assert any(line.startswith(phase) for line in lines), done.stderr
    testing = [line for line in lines if line.startswith("testing 1/")][0]
    assert "20 examples" in testing and "best dev" in testing
    assert "\x1b[" not in done.stderr  # no terminal control codes in a log


def test_resume_shows_the_best_dev_score_found_before(upper_task, tmp_path, fake_model):
    from rich.console import Console
    from rich.progress import Progress

    from promptsearch.api import run
    from promptsearch.cli.progress import ProgressObserver

    results = tmp_path / "results"
    first = run(upper_task, results_dir=results)
    best_before = first.finalists[0]["dev"]
    log = io.StringIO()
    with Progress(console=Console(file=log), disable=True) as progress:
        observer = ProgressObserver(progress, 120, lines=Console(file=log, width=200))
        run(upper_task, results_dir=results, resume=True, observer=observer)
        assert observer.best != "–"
    assert float(log.getvalue().split("best dev ")[1].split()[0]) >= best_before


def test_show_summarises_a_retrieval_pool_unless_full(searched, capsys, tmp_path):
    _, results = searched
    lock_file = next(results.glob("*/best.json"))
    lock = json.loads(lock_file.read_text())
    pool = [{"inputs": {"input": f"word{i}"}, "output": f"WORD{i}"} for i in range(300)]
    lock["key"]["retrieval"] = {"pool": pool, "k": 4}
    path = tmp_path / "best.json"
    path.write_text(json.dumps(lock))
    assert main(["show", str(path), "--results", str(results)]) == 0
    short = capsys.readouterr().out
    assert '"pool_size": 300' in short and "word299" not in short and "--full" in short
    assert main(["show", str(path), "--results", str(results), "--full"]) == 0
    assert "word299" in capsys.readouterr().out


def test_eval_show_prints_the_raw_reply_of_an_unparseable_answer(upper_task, tmp_path,
                                                                 fake_model, capsys):
    # Without demos the scripted model rambles: its reply is shown, not an empty mark.
    code = main(["eval", str(upper_task), "--prompt", "Write the word in capitals.",
                 "--results", str(tmp_path), "--show", "2"])
    assert code == 0
    out = capsys.readouterr().out
    assert "I think that the" in out and "∅" not in out


def test_read_only_commands_never_create_a_store(tmp_path, capsys):
    empty = tmp_path / "nothing-here"
    for command in (["leaderboard"], ["report"], ["versions", "upper"], ["show", "upper"]):
        code = main([*command, "--results", str(empty)])
        err = capsys.readouterr().err
        assert code == EXIT_BAD_INPUT, (command, err)
        assert len([line for line in err.splitlines() if line.strip()]) == 1, err
        assert not empty.exists()


def test_verify_needs_no_store_and_writes_none(searched, tmp_path, fake_model, capsys):
    task, results = searched
    lock = next(results.glob("*/best.json"))
    before = (results / "promptsearch.db").stat().st_mtime_ns
    assert main(["verify", str(lock), "--results", str(tmp_path / "absent"), "--quiet"]) == 0
    assert not (tmp_path / "absent").exists()
    assert main(["verify", str(lock), "--results", str(results), "--cached"]) == 0
    assert (results / "promptsearch.db").stat().st_mtime_ns == before
    # Without a terminal: a line per task, with the examples it answered.
    lines = [line for line in capsys.readouterr().err.splitlines() if line.startswith("verif")]
    assert lines == [lines[0]] and f"verifying {LONG_TASK_NAME} done in" in lines[0]
    assert "20 examples" in lines[0] and "LM calls" not in lines[0]


@pytest.mark.parametrize("results", ["a_file/results", "db_is_a_folder"])
def test_an_unusable_results_folder_is_one_line_and_exit_2(upper_task, tmp_path, fake_model,
                                                            capsys, results):
    (tmp_path / "a_file").write_text("not a folder")
    (tmp_path / "db_is_a_folder" / "promptsearch.db").mkdir(parents=True)
    code = main(["run", str(upper_task), "--results", str(tmp_path / results), "--quiet"])
    err = capsys.readouterr().err
    assert code == EXIT_BAD_INPUT, err
    assert err.count("\n") == 1 and "--results" in err and "fix:" in err, err
    assert fake_model.calls == 0


def test_predict_without_the_prompts_field_names_the_expected_fields(tmp_path):
    lock = {"task": "t", "model": "fake/scripted", "key": {
        "instruction": "Classify.", "demos": [], "format": "Text: {{ text }}\nLabel:",
        "style": "completion", "output": {"labels": None, "verbalizer": None}}}
    path = tmp_path / "best.json"
    path.write_text(json.dumps(lock))
    best = load_best(path)
    with pytest.raises(InputError) as caught:
        best.predict(input="a fine film")
    message = str(caught.value)
    assert "needs input field(s) text" in message and "given: input" in message
    assert "pass text=..." in message


def test_init_help_says_how_the_task_is_named(capsys):
    with pytest.raises(SystemExit):
        main(["init", "--help"])
    help_text = " ".join(capsys.readouterr().out.split())
    assert "for a file named train, data, dataset, all or examples, its folder's name" \
        in help_text


def test_reading_a_store_in_a_folder_that_takes_no_new_file(searched, tmp_path, capsys):
    # SQLite's WAL mode keeps DB-shm beside the database. Where it cannot be made (a read-only
    # folder; here a folder in its place, which root cannot get around either), the reading
    # commands still read, and leave the database as it was.
    import shutil
    import sqlite3

    _, results = searched
    copy = tmp_path / "results"
    shutil.copytree(results, copy)
    with sqlite3.connect(copy / "promptsearch.db") as conn:  # what a finished writer leaves
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    for suffix in ("-shm", "-wal"):
        (copy / f"promptsearch.db{suffix}").unlink(missing_ok=True)
    (copy / "promptsearch.db-shm").mkdir()
    before = (copy / "promptsearch.db").read_bytes()
    assert main(["leaderboard", "--format", "csv", "--results", str(copy)]) == 0
    assert LONG_TASK_NAME in capsys.readouterr().out
    assert main(["show", LONG_TASK_NAME, "--results", str(copy)]) == 0
    assert "history:" in capsys.readouterr().out
    assert (copy / "promptsearch.db").read_bytes() == before


@pytest.mark.parametrize("command", [["run", "{task}", "--quiet"], ["leaderboard"]])
def test_a_results_folder_whose_store_is_not_a_database(upper_task, tmp_path, fake_model,
                                                        capsys, command):
    results = tmp_path / "results"
    results.mkdir()
    (results / "promptsearch.db").write_text("these are notes, not a database\n")
    argv = [word.format(task=upper_task) for word in command] + ["--results", str(results)]
    code = main(argv)
    err = capsys.readouterr().err
    assert code == EXIT_BAD_INPUT and err.count("\n") == 1, err
    assert "promptsearch.db" in err and "not a database" in err and "fix:" in err
    assert (results / "promptsearch.db").read_text() == "these are notes, not a database\n"
    assert fake_model.calls == 0


def test_a_database_of_another_app_is_not_read_as_a_store(tmp_path, capsys):
    import sqlite3

    results = tmp_path / "results"
    results.mkdir()
    with sqlite3.connect(results / "promptsearch.db") as conn:
        conn.execute("CREATE TABLE notes (body TEXT)")
    assert main(["leaderboard", "--results", str(results)]) == EXIT_BAD_INPUT
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "holds no promptsearch store" in err


def test_eval_scores_a_stored_key_on_another_model(searched, tmp_path, fake_model, capsys,
                                                   monkeypatch):
    # The same key on a second scripted model that answers backwards: its own answers are
    # asked for and scored, not the first model's recorded ones.
    task, results = searched
    assert main(["eval", str(task), "--key", LONG_TASK_NAME, "--results", str(results)]) == 0
    first = capsys.readouterr().out
    assert "1.000" in first
    calls = fake_model.calls
    monkeypatch.setattr(fake_model, "rule", lambda text: text[::-1])
    assert main(["eval", str(task), "--key", LONG_TASK_NAME, "--model", "fake/other",
                 "--results", str(results)]) == 0
    other = capsys.readouterr().out
    assert "fake/other" in other and "0.000" in other
    assert fake_model.calls == calls + 20  # every test example asked again, of the other model
    with pytest.raises(SystemExit) as refused:
        main(["eval", str(task), "--key", LONG_TASK_NAME, "--model", "not a model"])
    assert refused.value.code == EXIT_BAD_INPUT
    assert "malformed model string 'not a model'" in capsys.readouterr().err


def test_leaderboard_puts_models_side_by_side(upper_task, tmp_path, fake_model, capsys):
    results = tmp_path / "results"
    other = write_task(tmp_path, upper_task.read_text().replace("model: fake/scripted",
                                                                "model: fake/other"), "b.yaml")
    for task in (upper_task, other):
        assert main(["run", str(task), "--results", str(results), "--quiet"]) == 0
    capsys.readouterr()
    assert main(["leaderboard", "--by-model", "--format", "csv", "--results", str(results)]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert [(r["task"], r["strategy"]) for r in rows] == [("upper", "tpe")]
    assert float(rows[0]["fake/scripted"]) == float(rows[0]["fake/other"]) == 1.0
    assert main(["leaderboard", "--by-model", "--format", "md", "--results", str(results)]) == 0
    table = capsys.readouterr().out
    assert "| task | strategy | fake/other | fake/scripted |" in table
    assert "| upper | tpe | 1.00 [0.84, 1.00] | 1.00 [0.84, 1.00] |" in table
    assert main(["report", "--results", str(results)]) == 0
    page = (results / "report.html").read_text()
    assert "Models side by side" in page and "fake/other" in page
