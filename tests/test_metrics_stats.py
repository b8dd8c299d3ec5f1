import pytest

from promptsearch.errors import InputError
from promptsearch.core.metrics import get_metric
from promptsearch.core.stats import Answers, compare, holm, score_interval, wilson


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


@pytest.mark.parametrize("name", ["meteor", "regex:(", "python:nope_module:f", "numeric:x"])
def test_bad_metric_names(name):
    with pytest.raises(InputError, match="metric"):
        get_metric(name)




def _answers(scores, predictions=None, targets=None):
    predictions = predictions or [str(s) for s in scores]
    return Answers(predictions, targets or ["1.0"] * len(scores), scores)


def test_a_perfect_score_has_an_interval_of_real_width():
    low, high = score_interval(get_metric("exact_match"), _answers([1.0] * 100))
    assert high == 1.0 and low == pytest.approx(0.963, abs=1e-3)  # Wilson, not [1.00, 1.00]
    low, high = score_interval(get_metric("exact_match"), _answers([0.0] * 10))
    assert low == 0.0 and high > 0.25  # ten misses say little


def test_graded_scores_get_bca_and_a_constant_one_falls_back_to_wilson():
    per_example = get_metric("exact_match")  # the scores stand for any graded metric's
    scores = [0.25, 0.5, 0.75, 1.0] * 10
    low, high = score_interval(per_example, _answers(scores))
    assert low < 0.625 < high and high - low < 0.3
    assert score_interval(per_example, _answers(scores)) == (low, high)  # seeded
    low, high = score_interval(per_example, _answers([0.5] * 40))
    assert low < 0.5 < high  # every example scored alike: still an interval with width


def test_a_corpus_metric_interval_resamples_the_metric_itself():
    f1 = get_metric("f1_macro")
    targets = ["a"] * 30 + ["b"] * 10
    predictions = ["a"] * 30 + ["a"] * 5 + ["b"] * 5  # half of the rare class missed
    scores = [f1.score(p, t) for p, t in zip(predictions, targets)]
    answers = Answers(predictions, targets, scores)
    macro = f1.aggregate(predictions, targets, scores)
    low, high = score_interval(f1, answers)
    assert low < macro < high
    assert macro < sum(scores) / len(scores)  # an exact-match interval would centre elsewhere
    assert high < 0.95  # the interval is about macro-F1 (0.78), not accuracy (0.875)


def test_paired_comparison_tells_one_miss_from_a_real_drop():
    metric = get_metric("exact_match")
    recorded = _answers([1.0] * 100)
    one_miss = compare(metric, recorded, _answers([1.0] * 99 + [0.0]), alternative="greater")
    assert one_miss.delta == pytest.approx(0.01) and one_miss.p_value > 0.4
    third_wrong = compare(metric, recorded, _answers([1.0] * 67 + [0.0] * 33),
                          alternative="greater")
    assert third_wrong.p_value < 0.001 and third_wrong.low > 0.15
    same = compare(metric, recorded, recorded)
    assert (same.delta, same.p_value) == (0.0, 1.0)
    swapped = compare(metric, _answers([1.0, 0.0] * 20), _answers([0.0, 1.0] * 20))
    assert swapped.delta == 0.0 and swapped.p_value > 0.5


def test_holm_adjusts_the_smallest_p_most_and_keeps_the_order():
    assert holm([0.01, 0.04, None, 0.03]) == [pytest.approx(0.03), pytest.approx(0.06), None,
                                               pytest.approx(0.06)]
    assert holm([0.5]) == [0.5] and holm([0.6, 0.9]) == [1.0, 1.0]


def test_wilson_is_scipys():
    assert wilson(0, 20)[0] == 0.0 and wilson(20, 20)[1] == 1.0
