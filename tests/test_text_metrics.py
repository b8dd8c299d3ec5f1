"""chrF, BLEU and ROUGE-L: sacrebleu's and rouge-score's numbers on the 0-1 scale, corpus scores
from summed statistics (computed once per example, however often an interval resamples them),
unparseable answers scored as empty ones, and a whole run scored by chrF."""

import json

import sacrebleu
from conftest import write_task, write_upper_task
from pytest import approx

from promptsearch.cli.main import main
from promptsearch.core import text_metrics
from promptsearch.core.metrics import get_metric
from promptsearch.core.stats import Answers, compare, score_interval
from promptsearch.pipeline.prepare import prepare
from promptsearch.task.config import load_task

ANSWERS = ["Le chat est noir.", "Il fait très beau aujourd'hui", "Je ne sais pas", "Bonjour"]
REFERENCES = ["Le chat est noir.", "Il fait beau aujourd'hui.", "Je sais.", "Bonsoir"]


def test_corpus_and_sentence_scores_are_sacrebleus_on_a_unit_scale():
    chrf, bleu = get_metric("chrf"), get_metric("bleu")
    assert chrf.aggregate(ANSWERS, REFERENCES, [0.0] * 4) == approx(
        sacrebleu.corpus_chrf(ANSWERS, [REFERENCES]).score / 100)
    assert bleu.aggregate(ANSWERS, REFERENCES, [0.0] * 4) == approx(
        sacrebleu.corpus_bleu(ANSWERS, [REFERENCES]).score / 100)
    for answer, reference in zip(ANSWERS, REFERENCES):
        assert chrf.score(answer, reference) == approx(
            sacrebleu.sentence_chrf(answer, [reference]).score / 100)
        assert 0.0 <= bleu.score(answer, reference) <= 1.0
    assert chrf.score("Le chat", "Le chat") == 1.0 and bleu.score("le chat", "le chat") == 1.0
    # A corpus score is not the mean of sentence scores.
    assert chrf.aggregate(ANSWERS, REFERENCES, [0.0] * 4) != approx(
        sum(chrf.score(a, r) for a, r in zip(ANSWERS, REFERENCES)) / 4)


def test_text_keeps_its_case_and_an_unparseable_answer_is_empty():
    chrf = get_metric("chrf")
    assert chrf.score("le chat", "Le Chat") < 1.0
    assert chrf.score(None, "Le chat") == 0.0
    with_missing = chrf.aggregate([None, "Bonjour"], ["Le chat", "Bonjour"], [0.0, 1.0])
    with_empty = sacrebleu.corpus_chrf(["", "Bonjour"], [["Le chat", "Bonjour"]]).score / 100
    assert with_missing == approx(with_empty)


def test_rouge_l_reads_words_of_any_script():
    rouge = get_metric("rouge_l")
    assert rouge.score("un été très chaud", "un été chaud") == approx(2 * 1 * 0.75 / 1.75)
    assert rouge.score("日本語 テキスト", "日本語 テキスト") == 1.0
    assert rouge.score("", "un été") == 0.0


def test_resampled_intervals_compute_each_examples_statistics_once():
    chrf = get_metric("chrf")
    answers = [f"réponse numéro {i} du modèle" for i in range(40)]
    targets = [f"la réponse numéro {i}" for i in range(40)]
    text_metrics._statistics.cache_clear()
    scores = [chrf.score(a, t) for a, t in zip(answers, targets)]
    low, high = score_interval(chrf, Answers(answers, targets, scores))
    assert low < chrf.aggregate(answers, targets, scores) < high
    assert text_metrics._statistics.cache_info().misses == 40  # 2,000 resamples, 40 computations
    shorter = [a.split(" du")[0] for a in answers]
    shorter_scores = [chrf.score(a, t) for a, t in zip(shorter, targets)]
    result = compare(chrf, Answers(answers, targets, scores),
                     Answers(shorter, targets, shorter_scores))
    assert result.examples == 40 and 0.0 <= result.p_value <= 1.0


def test_a_run_scored_by_chrf_reports_the_corpus_chrf_of_its_answers(tmp_path, fake_model):
    task = write_upper_task(tmp_path)
    task = write_task(tmp_path, task.read_text().replace("search:\n", "metric: chrf\nsearch:\n", 1))
    results = tmp_path / "results"
    assert main(["run", str(task), "--results", str(results), "--quiet"]) == 0
    lock = json.loads((results / "upper" / "best.json").read_text())
    targets = {example.id: example.target
               for example in prepare(load_task(task), None).dataset.test}
    answered = lock["scores"]["test_by_example"]
    answers = [answered[i]["prediction"] or "" for i in answered]
    expected = sacrebleu.corpus_chrf(answers, [[targets[i] for i in answered]]).score / 100
    assert lock["scores"]["test"] == approx(expected)
    low, high = lock["scores"]["test_ci"]
    assert low <= lock["scores"]["test"] <= high
