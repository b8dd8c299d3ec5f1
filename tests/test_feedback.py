"""Metric feedback: a Python metric may say why an answer is wrong; the words are stored per
example, shown by `eval --show` and the report, and reach the proposer's requests (ProTeGi's
critique and edit, OPRO's history) in place of bare wrong answers."""

import pytest
from conftest import write_task, write_upper_task

from promptsearch.api import open_store
from promptsearch.cli.main import main
from promptsearch.core.metrics import get_metric
from promptsearch.errors import EXIT_BAD_INPUT

METRIC = '''\
def score(prediction, target):
    if prediction.strip() == target:
        return 1.0
    if prediction.strip().upper() == target:
        return (0.0, "the right word in the wrong case")
    return {"score": 0.0, "feedback": "not the input word in capitals: " + target}
'''


def _task(folder, strategy: str, metric: str = METRIC):
    (folder / "feedback_metric.py").write_text(metric)
    text = write_upper_task(folder).read_text().replace("strategy: tpe", f"strategy: {strategy}")
    return write_task(folder, text.replace("search:\n", "metric: python:feedback_metric:score\n"
                                                       "search:\n", 1))


def test_a_metric_may_return_feedback_as_a_pair_or_a_dict(tmp_path):
    (tmp_path / "feedback_metric.py").write_text(METRIC)
    metric = get_metric("python:feedback_metric:score", search_path=str(tmp_path))
    assert metric.judge("WORD1", "WORD1") == (1.0, None)
    assert metric.judge("word1", "WORD1") == (0.0, "the right word in the wrong case")
    assert metric.judge("no", "WORD1") == (0.0, "not the input word in capitals: WORD1")
    assert metric.judge(None, "WORD1") == (0.0, None) and metric.score("word1", "WORD1") == 0.0


def _sometimes_lower_case(text: str) -> str:
    """The scripted model's answers with demos: right, except in lower case for a third."""
    return text.lower() if text[-1] in "147" else text.upper()


def test_protegi_critiques_with_the_metrics_words(tmp_path, fake_model, capsys, monkeypatch):
    monkeypatch.setattr(fake_model, "rule", _sometimes_lower_case)
    task = _task(tmp_path, "protegi")
    results = tmp_path / "results"
    assert main(["run", str(task), "--results", str(results), "--quiet"]) == 0
    critiques = [p for p in fake_model.prompts if "got these examples wrong" in p]
    assert critiques, "ProTeGi made no critique request"
    assert all("Feedback: the right word in the wrong case" in p for p in critiques)
    store = open_store(results, read_only=True)
    run = store.list_runs("upper")[-1]
    seed = store.list_candidates(run["id"])[0]
    notes = store.get_feedback(run["id"], seed["key_id"], "dev")
    assert len(notes) == 10 and set(notes.values()) <= {
        f"not the input word in capitals: WORD{i}" for i in range(100)}
    capsys.readouterr()
    assert main(["report", "--results", str(results)]) == 0
    page = (results / "report.html").read_text()
    assert "What the metric said about the winner's wrong test answers" in page
    assert "the right word in the wrong case" in page


def test_opro_shows_the_best_keys_feedback(tmp_path, fake_model, monkeypatch):
    monkeypatch.setattr(fake_model, "rule", _sometimes_lower_case)
    task = _task(tmp_path, "opro")
    assert main(["run", str(task), "--results", str(tmp_path / "results"), "--quiet"]) == 0
    history = [p for p in fake_model.prompts if "scores higher" in p or "score higher" in p]
    assert history, "OPRO made no request"
    assert all("What the scorer said about the best instruction's wrong answers:\n- the right "
               "word in the wrong case" in p for p in history)


def test_eval_show_prints_the_feedback(tmp_path, fake_model, capsys):
    task = _task(tmp_path, "tpe")
    assert main(["eval", str(task), "--prompt", "Write the word in capitals.", "--show", "2",
                 "--results", str(tmp_path / "results")]) == 0
    assert "— not the input word in capitals: WORD100" in capsys.readouterr().out


@pytest.mark.parametrize("returned", ["'yes'", "1.5", "(0.5, 'a', 'b')"])
def test_a_metric_returning_no_score_is_refused_before_any_call(tmp_path, fake_model, capsys,
                                                                returned):
    task = _task(tmp_path, "tpe", f"def score(prediction, target):\n    return {returned}\n")
    code = main(["run", str(task), "--results", str(tmp_path / "results"), "--quiet"])
    err = capsys.readouterr().err
    assert code == EXIT_BAD_INPUT and err.count("\n") == 1
    assert "metric python:feedback_metric:score returned" in err and "(score, feedback)" in err
    assert fake_model.calls == 0
