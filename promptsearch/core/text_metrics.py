"""Generation metrics on the 0-1 scale of the others: chrF and BLEU (sacrebleu), ROUGE-L
(rouge-score).

chrF and BLEU are corpus metrics: a set of answers is scored from n-gram statistics summed over
its examples, not by averaging sentence scores. Each example's statistics are computed once and
cached, so the resampled intervals and paired tests (core.stats), which recompute the metric
thousands of times, only sum them. An example's own score (what racing and the sign tests
compare) is its sentence-level score: chrF as is, BLEU with effective order (a short answer
without 4-grams is not zero). ROUGE-L is the mean of per-example F-measures, as it is usually
reported, over words of any script.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Sequence

import numpy as np
from rouge_score import rouge_scorer
from sacrebleu.metrics import BLEU, CHRF

_CORPUS = {"chrf": CHRF(), "bleu": BLEU()}
_SENTENCE = {"chrf": CHRF(), "bleu": BLEU(effective_order=True)}
STATS_CACHE = 200_000  # (answer, reference) pairs kept; a run scores far fewer


class _WordTokenizer:
    """Lower-cased words of any script (rouge-score's own tokenizer keeps only a-z and 0-9,
    which would score French or Japanese answers as empty)."""

    def tokenize(self, text: str) -> list[str]:
        return re.findall(r"\w+", text.lower())


_ROUGE = rouge_scorer.RougeScorer(["rougeL"], tokenizer=_WordTokenizer())


@lru_cache(maxsize=STATS_CACHE)
def _statistics(kind: str, answer: str, reference: str) -> tuple[float, ...]:
    # sacrebleu 2.x: per-sentence sufficient statistics, summed for a corpus score.
    return tuple(_CORPUS[kind]._extract_corpus_statistics([answer], [[reference]])[0])


def sentence_score(kind: str, answer: str, reference: str) -> float:
    stats = list(_statistics(kind, answer, reference))
    return _unit(_SENTENCE[kind]._compute_score_from_stats(stats).score)


def corpus_score(kind: str, answers: Sequence[str], references: Sequence[str]) -> float:
    if not answers:
        return 0.0
    total = np.sum([_statistics(kind, a, r) for a, r in zip(answers, references)], axis=0)
    return _unit(_CORPUS[kind]._compute_score_from_stats(total.tolist()).score)


def _unit(percent: float) -> float:
    """sacrebleu's 0-100 on the 0-1 scale (its float sums can land a hair past 100)."""
    return min(1.0, max(0.0, percent / 100))


def chrf(answer: str, reference: str) -> float:
    return sentence_score("chrf", answer, reference)


def bleu(answer: str, reference: str) -> float:
    return sentence_score("bleu", answer, reference)


def corpus_chrf(answers: Sequence[str], references: Sequence[str]) -> float:
    return corpus_score("chrf", answers, references)


def corpus_bleu(answers: Sequence[str], references: Sequence[str]) -> float:
    return corpus_score("bleu", answers, references)


def rouge_l(answer: str, reference: str) -> float:
    return float(_ROUGE.score(reference, answer)["rougeL"].fmeasure)
