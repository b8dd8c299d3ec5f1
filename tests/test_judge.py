"""An LLM judge as the metric: verdicts go through the client, cache and store, cost budget
calls (counted apart as spent.judge_calls), keep their reasons as feedback, and judge-check
measures a judge against exact answers."""

import json
import re

import pytest
from conftest import DATA, REPO, write_task, write_upper_task

from promptsearch.api import open_store
from promptsearch.cli.main import main
from promptsearch.errors import EXIT_BAD_INPUT, EXIT_REGRESSION, InputError
from promptsearch.evaluation.judge import read_verdict
from promptsearch.pipeline.plan import make_plan
from promptsearch.pipeline.prepare import prepare
from promptsearch.task.config import load_task

JUDGE = "metric:\n  judge: {model: fake/scripted}\nsearch:\n"


@pytest.mark.parametrize("reply, scale, verdict", [
    ("PASS\nThe words match.", "pass_fail", (1.0, "PASS: The words match.")),
    ("Verdict: fail. Wrong case.", "pass_fail", (0.0, "FAIL: Wrong case.")),
    ("4\nClose, but a letter is off.", "1-5", (0.75, "4: Close, but a letter is off.")),
    ("I cannot tell.", "pass_fail", (0.0, "no verdict in the judge's reply: I cannot tell.")),
])
def test_a_verdict_is_read_from_the_judges_reply(reply, scale, verdict):
    assert read_verdict(reply, scale) == verdict


def _lenient_judge(prompt: str):
    """As a judge, the scripted model passes any answer that looks like one of the task's
    words: it ignores the reference (a judge to catch out). None for other requests."""
    if "You grade answers." not in prompt:
        return None
    answer = re.search(r"answer to grade: (.*)", prompt).group(1)
    return "PASS\nIt is a word in capitals." if answer.startswith("WORD") else \
        "FAIL\nNot a word in capitals."


@pytest.fixture
def judged(fake_model, monkeypatch):
    answer = fake_model.reply
    monkeypatch.setattr(fake_model, "reply", lambda prompt: _lenient_judge(prompt) or
                        answer(prompt))
    return fake_model


def _task(folder, extra: str = ""):
    text = write_upper_task(folder).read_text().replace("search:\n", JUDGE + extra, 1)
    return write_task(folder, text)


def test_a_judged_search_counts_verdicts_in_the_budget_and_keeps_their_reasons(
        tmp_path, judged, capsys):
    task = _task(tmp_path)
    results = tmp_path / "results"
    assert main(["run", str(task), "--results", str(results), "--quiet"]) == 0
    store = open_store(results, read_only=True)
    run = store.list_runs("upper")[-1]
    spent = run["spent"]
    # Verdicts are budget calls on dev (the budget holds) and test calls on test, where each
    # of the 4 keys tested (3 finalists and the seed) answered 20 examples, each judged.
    assert spent["lm_calls"] <= 120 and spent["test_calls"] == 2 * 4 * 20
    assert 4 * 20 < spent["judge_calls"] < 4 * 20 + 120 / 2
    lock = json.loads((results / "upper" / "best.json").read_text())
    assert lock["scores"]["test"] == 1.0 and (lock["key"]["demos"] or lock["key"]["retrieval"])
    seed = store.list_candidates(run["id"])[0]
    assert set(store.get_feedback(run["id"], seed["key_id"], "dev").values()) == \
        {"FAIL: Not a word in capitals."}
    capsys.readouterr()
    assert main(["eval", str(task), "--prompt", "Write the word in capitals.", "--show", "1",
                 "--results", str(results)]) == 0
    assert "FAIL: Not a word in capitals." in capsys.readouterr().out


def test_plan_counts_a_verdict_per_answer(tmp_path, judged):
    plan = make_plan(prepare(load_task(_task(tmp_path)), None), None, probe=False)
    phases = {phase.name: phase for phase in plan.phases}
    assert phases["seed baseline on dev"].calls == 2 * 10
    assert phases["finalists on test"].calls == 2 * (3 + 1) * 20
    assert "the judge's verdict" in phases["finalists on test"].note


def test_judge_check_reports_agreement_and_kappa_and_can_gate(tmp_path, judged, capsys):
    task = _task(tmp_path)
    args = ["judge-check", str(task), "--examples", "6", "--results", str(tmp_path / "r")]
    assert main(args + ["--format", "json"]) == 0
    report = json.loads(capsys.readouterr().out)
    # 6 model answers (no demos: wrong, failed), 6 references (passed), 6 other examples'
    # references (wrong, yet passed): agreement 12/18; kappa (2/3 - 4/9) / (1 - 4/9) = 0.4.
    assert report["overall"]["n"] == 18 and report["judge_calls"] == 18
    assert report["overall"]["agreement"] == pytest.approx(2 / 3)
    assert report["overall"]["kappa"] == pytest.approx(0.4)
    assert report["overall"]["confusion"] == [[6, 6], [0, 6]]
    assert report["on_model_answers"]["kappa"] is None  # all wrong: nothing to agree on
    assert main(args + ["--min-kappa", "0.5"]) == EXIT_REGRESSION
    out = capsys.readouterr().out
    assert "kappa undefined" in out and "disagrees: other reference 'WORD" in out


@pytest.mark.parametrize("metric, field", [
    ("{judge: {rubric: 'Is it right?'}}", "metric.judge.model"),
    ("{judge: {model: fake/scripted, rubric: 'Is {{ answr }} right?'}}", "metric.judge.rubric"),
    ("{judge: {model: fake/scripted, scale: 1-10}}", "metric.judge.scale"),
    ("{judge: {model: fake/scripted}, weights: {output: 1}}", "metric"),
])
def test_a_judge_given_wrongly_is_refused_before_any_call(tmp_path, judged, metric, field):
    text = write_upper_task(tmp_path).read_text().replace("search:\n", f"metric: {metric}\n"
                                                                       "search:\n", 1)
    with pytest.raises(InputError) as refused:
        prepare(load_task(write_task(tmp_path, text)), None)
    assert field in str(refused.value) and judged.calls == 0


def test_dspy_strategies_are_refused_with_a_judge(tmp_path, judged, capsys):
    task = _task(tmp_path)
    task.write_text(task.read_text().replace("strategy: tpe", "strategy: dspy-mipro"))
    assert main(["validate", str(task)]) == EXIT_BAD_INPUT
    assert "search.strategy" in capsys.readouterr().err


@pytest.mark.model
def test_judge_check_runs_on_the_embedded_model(tmp_path, capsys):
    """A small local judge is allowed; judge-check reports what it is worth (no claim on the
    figures themselves: they are the benchmark's, results/judge.md)."""
    task = write_task(tmp_path, f"""\
name: words
data:
  train: {DATA}/translation_en-fr/train.jsonl
  test: {DATA}/translation_en-fr/test.jsonl
  dev_size: 4
model: local/gemma-3-270m
metric:
  judge: {{model: local/gemma-3-270m}}
""")
    args = ["judge-check", str(task), "--examples", "3", "--results", str(tmp_path / "r"),
            "--format", "json"]
    assert main(args) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["judge_calls"] == report["overall"]["n"] >= 6  # references and others
    assert 0 <= report["overall"]["agreement"] <= 1
    assert all(g["verdict"] for g in report["graded"])


def test_the_bundled_judged_task_reads(tmp_path):
    task = load_task(REPO / "benchmarks" / "tasks" / "variants" / "translation_en-fr_judge.yaml")
    assert task.config.metric.judge.model == "local/qwen2.5-coder-1.5b"
    assert "{{ input }}" in task.config.metric.judge.rubric


def test_a_judged_task_is_refused_workers_in_one_line(tmp_path, judged, capsys):
    task = _task(tmp_path)
    assert main(["run", str(task), "--workers", "2", "--results", str(tmp_path / "r")]) == \
        EXIT_BAD_INPUT
    assert "--workers" in capsys.readouterr().err and judged.calls == 0
