import pytest

from promptsearch.errors import InputError
from promptsearch.metrics import get_metric
from promptsearch.stats import bootstrap_ci, paired_permutation_p


def test_exact_match_trims_and_ignores_case():
    metric = get_metric("exact_match")
    assert metric.score(" Chats ", "chats") == 1.0 and metric.score("chat", "chats") == 0.0
    assert metric.score(None, "chats") == 0.0  # unparseable scores as wrong


def test_contains_numeric_and_regex():
    assert get_metric("contains").score("the answer is 42.", "42") == 1.0
    assert get_metric("numeric").score("= 7.0", "7") == 1.0
    assert get_metric("numeric:0.5").score("7.4", "7") == 1.0
    assert get_metric("numeric").score("seven", "7") == 0.0
    assert get_metric(r"regex:answer: (\w+)").score("answer: Yes", "yes") == 1.0


def test_corpus_metrics_use_sklearn():
    f1 = get_metric("f1_macro")
    predictions = ["a", "a", "b", None]
    targets = ["a", "b", "b", "b"]
    scores = [f1.score(p, t) for p, t in zip(predictions, targets)]
    assert f1.aggregate(predictions, targets, scores) == pytest.approx(0.5833, abs=1e-3)
    accuracy = get_metric("accuracy")
    assert accuracy.aggregate(predictions, targets, scores) == 0.5


def test_python_metric_from_the_task_folder(tmp_path):
    (tmp_path / "mymetric.py").write_text("def score(p, t):\n    return float(len(p) == len(t))\n")
    metric = get_metric("python:mymetric:score", search_path=str(tmp_path))
    assert metric.score("abc", "xyz") == 1.0


@pytest.mark.parametrize("name", ["bleu", "regex:(", "python:nope_module:f", "numeric:x"])
def test_bad_metric_names(name):
    with pytest.raises(InputError, match="metric"):
        get_metric(name)


def test_bootstrap_ci_brackets_the_mean_and_is_seeded():
    scores = [1.0] * 30 + [0.0] * 70
    low, high = bootstrap_ci(scores)
    assert low < 0.3 < high and 0.15 < low and high < 0.45
    assert bootstrap_ci(scores) == (low, high)


def test_paired_permutation_detects_a_real_difference():
    better, worse = [1.0] * 40, [1.0] * 10 + [0.0] * 30
    assert paired_permutation_p(better, worse) < 0.01
    assert paired_permutation_p(worse, worse) == 1.0
    assert paired_permutation_p([1, 0] * 20, [0, 1] * 20) > 0.5
