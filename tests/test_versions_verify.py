"""Versions, aliases and `verify`, with the scripted fake model."""

import json

import pytest

from promptsearch import load_best, run
from promptsearch.api import open_store
from promptsearch.cli import main
from promptsearch.errors import EXIT_BAD_INPUT, EXIT_REGRESSION, InputError


def _run(task_path, results, budget):
    text = task_path.read_text()
    for line in text.splitlines():
        if "lm_calls:" in line:
            text = text.replace(line, f"  budget: {{lm_calls: {budget}}}")
    task_path.write_text(text)
    return run(task_path, store=open_store(results), results_dir=results)


@pytest.fixture
def versioned(upper_task, fake_model, tmp_path, monkeypatch):
    """Version 1: only the seed fits the budget (test 0.0); version 2: a real search (1.0)."""
    monkeypatch.setenv("COLUMNS", "200")  # rich tables at full width in captured output
    results = tmp_path / "results"
    first = _run(upper_task, results, 14)  # 4 proposer paraphrases + the seed on 10 dev
    second = _run(upper_task, results, 120)
    return upper_task, results, first, second


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
