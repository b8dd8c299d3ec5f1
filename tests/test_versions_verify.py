"""Versions, aliases and `verify`, with the scripted fake model."""

import json
import shutil

import pytest
from conftest import SCRIPTED, _register, write_upper_task

from promptsearch import load_best, run
from promptsearch.api import open_store
from promptsearch.cli.main import main
from promptsearch.errors import EXIT_BAD_INPUT, EXIT_REGRESSION, InputError


def _run(task_path, results, budget):
    text = task_path.read_text()
    for line in text.splitlines():
        if "lm_calls:" in line:
            text = text.replace(line, f"  budget: {{lm_calls: {budget}}}")
    task_path.write_text(text)
    return run(task_path, store=open_store(results), results_dir=results)


@pytest.fixture(scope="module")
def versioned_once(tmp_path_factory):
    """Version 1: only the seed fits the budget (test 0.0); version 2: a real search (1.0).
    Searched once for the module; each test gets a copy (tests promote, rerun, edit data)."""
    _register(SCRIPTED)
    SCRIPTED.rule, SCRIPTED.fail_on = (lambda text: text.upper()), None
    folder = tmp_path_factory.mktemp("versioned")
    task_path, results = write_upper_task(folder), folder / "results"
    first = _run(task_path, results, 14)  # 4 proposer paraphrases + the seed on 10 dev
    second = _run(task_path, results, 120)
    return folder, first, second


@pytest.fixture
def versioned(versioned_once, fake_model, tmp_path, monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")  # rich tables at full width in captured output
    folder, first, second = versioned_once
    shutil.copytree(folder, tmp_path, dirs_exist_ok=True)
    return tmp_path / "task.yaml", tmp_path / "results", first, second


def test_a_run_that_beats_the_latest_version_records_a_new_one(versioned):
    task_path, results, first, second = versioned
    assert (first.version, second.version) == (1, 2)
    assert first.lock["scores"]["test"] == 0.0 and second.lock["scores"]["test"] == 1.0
    on_disk = json.loads((results / "upper" / "best.json").read_text())
    assert on_disk["version"] == 2 and on_disk["key_id"] == second.lock["key_id"]
    third = _run(task_path, results, 120)  # same search again: not better, no new version
    assert third.version is None and third.lock_path is None
    assert json.loads((results / "upper" / "best.json").read_text())["version"] == 2


def test_load_best_by_version_alias_latest_and_path(versioned, capsys):
    _, results, first, second = versioned
    assert main(["promote", "upper", "1", "--alias", "production", "--results",
                 str(results)]) == 0
    assert "upper@production → version 1" in capsys.readouterr().out
    assert load_best("upper@production", results).key.id == first.lock["key_id"]
    assert load_best("upper@2", results).key.id == second.lock["key_id"]
    assert load_best("upper@latest", results).key.id == second.lock["key_id"]
    assert load_best("upper", results).key.id == second.lock["key_id"]
    assert load_best(results / "upper" / "best.json").key.id == second.lock["key_id"]
    assert main(["promote", "upper", "production", "--alias", "staging", "--results",
                 str(results)]) == 0
    assert load_best("upper@staging", results).lock["version"] == 1
    assert main(["versions", "upper", "--results", str(results)]) == 0
    listing = capsys.readouterr().out
    assert "production" in listing and "staging" in listing and "1.000" in listing


def test_unknown_versions_and_bad_aliases_are_one_line_errors(versioned, capsys):
    _, results, _, _ = versioned
    with pytest.raises(InputError, match="upper@9: no such version or alias"):
        load_best("upper@9", results)
    with pytest.raises(InputError, match="no store"):
        load_best("upper@1", results / "elsewhere")
    assert main(["promote", "upper", "1", "--alias", "3", "--results", str(results)]) == \
        EXIT_BAD_INPUT
    assert "bad alias" in capsys.readouterr().err


def test_verify_passes_on_fresh_results_and_fails_with_exit_3_after_a_regression(
        versioned, capsys):
    _, results, _, second = versioned
    assert main(["verify", "--results", str(results)]) == 0
    assert "ok" in capsys.readouterr().out
    lock_file = results / "upper" / "best.json"
    lock = json.loads(lock_file.read_text())
    lock["key"]["demos"] = []  # a deliberate regression: someone dropped the demos
    lock["key"]["retrieval"] = None
    lock_file.write_text(json.dumps(lock))
    assert main(["verify", "upper", "--results", str(results)]) == EXIT_REGRESSION
    out = capsys.readouterr().out
    assert "REGRESSED" in out and "+1.000" in out  # the drop, from 1.000 to 0.000


def test_verify_warns_when_the_test_data_changed(versioned, capsys):
    task_path, results, _, _ = versioned
    test_file = task_path.parent / "data" / "test.jsonl"
    rows = [json.loads(line) for line in test_file.read_text().splitlines()]
    test_file.write_text("".join(json.dumps(r) + "\n" for r in rows[:-1]))
    assert main(["verify", "--results", str(results)]) == 0
    captured = capsys.readouterr()
    assert "test data changed" in captured.err + captured.out


def test_eval_scores_prompts_and_stored_keys_side_by_side(versioned, capsys):
    task_path, results, _, second = versioned
    template = "Input: cat\nOutput: CAT\n\nInput: {{ input }}\nOutput:"
    code = main(["eval", str(task_path), "--prompt", "Write the word in capitals.",
                 "--prompt", template, "--key", "upper@2", "--show", "3",
                 "--results", str(results)])
    assert code == 0
    out = capsys.readouterr().out
    rows = [line for line in out.splitlines() if "prompt 1" in line or "prompt 2" in line
            or "upper@2" in line]
    assert "0.000" in rows[0] and "1.000" in rows[1] and "1.000" in rows[2]
    assert "✓ WORD" in out and "✗" in out


def test_eval_refuses_a_template_with_an_unknown_field(versioned, capsys):
    task_path, results, _, _ = versioned
    code = main(["eval", str(task_path), "--prompt", "{{ question }}", "--results",
                 str(results)])
    assert code == EXIT_BAD_INPUT
    assert "question" in capsys.readouterr().err


def test_init_writes_a_task_that_validate_accepts_and_run_runs(tmp_path, fake_model, capsys):
    rows = [{"text": f"word{i}", "label": "yes" if i % 2 else "no"} for i in range(60)]
    data = tmp_path / "reviews" / "train.csv"
    data.parent.mkdir()
    data.write_text("text,label\n" + "".join(f"{r['text']},{r['label']}\n" for r in rows))
    task_file = tmp_path / "task.yaml"
    assert main(["init", str(data), "--out", str(task_file)]) == 0
    text = task_file.read_text()
    assert "name: reviews" in text and 'input: "text"' in text and 'target: "label"' in text
    assert 'labels: ["no", "yes"]' in text and "metric: exact_match" in text
    assert main(["validate", str(task_file)]) == 0
    assert main(["init", str(data), "--out", str(task_file)]) == EXIT_BAD_INPUT  # no overwrite
    task_file.write_text(text.replace("local/gemma-3-270m", "fake/scripted")
                         .replace("lm_calls: 300", "lm_calls: 60"))
    result = run(task_file, store=open_store(tmp_path / "results"),
                 results_dir=tmp_path / "results")
    assert result.version == 1 and result.lock["task"] == "reviews"


def test_init_names_the_file_when_it_cannot_read_it(tmp_path, capsys):
    assert main(["init", str(tmp_path / "missing.csv")]) == EXIT_BAD_INPUT
    assert "missing.csv: file not found" in capsys.readouterr().err


def test_a_lock_moved_with_its_results_and_data_still_verifies(versioned, tmp_path, capsys):
    task_path, results, _, second = versioned
    lock_file = results / "upper" / "best.json"
    assert lock_file.stat().st_mode & 0o777 == 0o666 & ~_umask()  # 0644 by default
    lock = json.loads(lock_file.read_text())
    assert lock["task_dir"] == "../.."  # relative to the lock file's folder
    moved = tmp_path / "elsewhere" / "app"
    moved.mkdir(parents=True)
    for name in ("data", "results"):  # the folder tree moves as a whole
        (tmp_path / name).rename(moved / name)
    assert main(["verify", str(moved / "results" / "upper" / "best.json"),
                 "--results", str(moved / "results")]) == 0
    assert "ok" in capsys.readouterr().out


def test_a_lock_written_with_an_absolute_task_dir_still_verifies(versioned, capsys):
    task_path, results, _, _ = versioned
    lock_file = results / "upper" / "best.json"
    lock = json.loads(lock_file.read_text())
    lock["task_dir"] = str(task_path.parent.resolve())  # as locks were written before
    vendored = results / "vendored" / "deep" / "best.json"
    vendored.parent.mkdir(parents=True)
    vendored.write_text(json.dumps(lock))
    assert main(["verify", str(vendored), "--results", str(results)]) == 0


def _umask() -> int:
    import os
    current = os.umask(0)
    os.umask(current)
    return current


def test_verify_forgives_one_miss_of_a_perfect_key_and_fails_a_real_regression(
        versioned, fake_model, capsys):
    _, results, _, second = versioned
    assert second.lock["scores"]["test"] == 1.0
    assert len(second.lock["scores"]["test_by_example"]) == 20  # recorded example by example
    low, high = second.lock["scores"]["test_ci"]
    assert high == 1.0 and 0.8 < low < 0.9  # Wilson's: not a zero-width [1.00, 1.00]
    fake_model.rule = lambda text: "nope" if text == "word119" else text.upper()
    assert main(["verify", "--results", str(results)]) == 0  # one miss in 20: not significant
    out = " ".join(capsys.readouterr().out.split())
    assert "ok" in out and "paired on 20 examples" in out
    assert main(["verify", "--results", str(results), "--tolerance", "0.01"]) == EXIT_REGRESSION
    capsys.readouterr()  # the user's tolerance is stricter than the test
    wrong = {f"word{i}" for i in range(100, 107)}  # a third of the test set now wrong
    fake_model.rule = lambda text: "nope" if text in wrong else text.upper()
    assert main(["verify", "--results", str(results)]) == EXIT_REGRESSION
    out = " ".join(capsys.readouterr().out.split())
    assert "REGRESSED" in out and "+0.350" in out


def test_an_equal_winner_from_another_seed_is_not_promoted_unless_asked(versioned, capsys):
    task_path, results, _, second = versioned
    task_path.write_text(task_path.read_text().replace("seed: 3", "seed: 4"))
    args = ["run", str(task_path), "--results", str(results), "--quiet"]
    assert main(args) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "is not a new version; version 2 (test 1.000) stays" in out
    assert "Δ +0.000 over version 2 on 20 test examples" in out and "not significant" in out
    assert json.loads((results / "upper" / "best.json").read_text())["version"] == 2
    assert main(args + ["--promote", "always"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "version 3 of upper" in out and "(--promote always)" in out


def test_the_lock_says_how_many_keys_were_tested_and_corrects_the_p_value(versioned):
    _, _, _, second = versioned
    lock = second.lock
    tested = lock["scores"]["finalists_tested"]
    assert tested == len(second.finalists) >= 2
    baseline = lock["baseline"]
    assert baseline["p_value"] <= baseline["p_value_holm"] <= 1.0
    compared = [row["p_value"] for row in second.finalists if row["p_value"] is not None]
    assert baseline["p_value_holm"] <= min(1.0, len(compared) * baseline["p_value"]) + 1e-12
    low, high = baseline["delta_ci"]
    assert low <= baseline["delta_test"] <= high
