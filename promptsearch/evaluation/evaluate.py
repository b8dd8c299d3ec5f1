"""Score a key on examples: one key across many examples in a row (llama.cpp reuses the shared
prefix), every prediction stored, errors and unparseable answers counted apart from wrong ones."""

from __future__ import annotations

import time
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Callable, Optional, Sequence

from promptsearch.core import likelihood
from promptsearch.core.key import PromptKey
from promptsearch.core.metrics import Metric
from promptsearch.core.stats import Answers
from promptsearch.errors import BudgetExhausted
from promptsearch.evaluation.budget import BudgetMeter
from promptsearch.evaluation.judge import JudgeFailed
from promptsearch.lm.client import LM, Completion
from promptsearch.task.data import Example

SAVE_EVERY = 8  # evaluation rows per store transaction


@dataclass
class KeyScore:
    key_id: str
    score: Optional[float]                 # None when no example got an answer (all LM errors)
    scores: list[Optional[float]]          # per example, aligned; None = LM error (left out)
    predictions: list[Optional[str]]
    errors: int = 0
    unparseable: int = 0
    lm_calls: int = 0
    judge_calls: int = 0  # the metric's own model calls (an LLM judge's verdicts)
    tokens: int = 0
    seconds: float = 0.0
    complete: bool = True                  # False when the budget ran out part-way
    pruned: bool = False                   # racing stopped it early: clearly worse than the best
    targets: list[str] = field(default_factory=list)
    example_ids: list[str] = field(default_factory=list)
    replies: list[Optional[str]] = field(default_factory=list)  # the model's text, as written
    feedback: list[Optional[str]] = field(default_factory=list)  # the metric's, where it gave any

    @property
    def examples(self) -> int:
        return sum(score is not None for score in self.scores)

    def answers(self) -> Answers:
        """The examples with an answer (LM errors left out), for intervals and tests."""
        kept = [i for i, score in enumerate(self.scores) if score is not None]
        return Answers([self.predictions[i] for i in kept], [self.targets[i] for i in kept],
                       [self.scores[i] for i in kept])

    def by_example(self) -> dict[str, dict]:
        """{example id: its score and prediction} for the examples with an answer: what a lock
        records so that a later check can be paired with it example by example."""
        return {example_id: {"score": score, "prediction": prediction}
                for example_id, score, prediction in
                zip(self.example_ids, self.scores, self.predictions) if score is not None}

    @property
    def answered_all(self) -> bool:
        """Every example scored and none of them an LM error: the only score worth ranking."""
        return self.complete and self.errors == 0


class Evaluator:
    """Scores keys for one run. `store` records each example; `meter` caps search-time calls."""

    def __init__(self, lm: LM, metric: Metric, store, run_id: str, *, max_tokens: int = 48,
                 concurrency: int = 1, dev_score: str = "metric"):
        self.lm, self.metric, self.store, self.run_id = lm, metric, store, run_id
        self.max_tokens, self.concurrency = max_tokens, concurrency
        # "probability": keys are ranked on dev (and confirmation) by the correct label's
        # probability, a likelihood answer's graded score; test is always scored by the metric.
        self.dev_score = dev_score
        # Called after each answer (in the scoring thread): a progress display counts examples.
        self.on_answer: Optional[Callable[[], None]] = None

    def score(self, key: PromptKey, examples: Sequence[Example], split: str,
              meter: Optional[BudgetMeter] = None) -> KeyScore:
        """Dev scoring draws on `meter` (raising nothing: a cut-short score is marked incomplete);
        test scoring passes meter=None and is counted apart."""
        started = time.monotonic()
        recorded = self._recorded_rows(key, split)
        rows, complete = self._run_missing(key, examples, split, meter, recorded)
        recorded.update({row["example_id"]: row for row in rows})
        return self._summarise(key, examples, split, recorded, rows, complete,
                               time.monotonic() - started)

    def recorded(self, key: PromptKey, examples: Sequence[Example], split: str) -> KeyScore:
        """The key's score from stored answers alone, never calling the model: complete only
        when every example's answer is stored (another worker's results, read back)."""
        return self._summarise(key, examples, split, self._recorded_rows(key, split), [], True,
                               0.0)

    def _recorded_rows(self, key: PromptKey, split: str) -> dict[str, dict]:
        recorded = self.store.get_evaluations(self.run_id, key.id, split)
        if self.metric.gives_feedback:
            notes = self.store.get_feedback(self.run_id, key.id, split)
            for example_id, row in recorded.items():
                row["feedback"] = notes.get(example_id)
        return recorded

    def _save(self, rows: list[dict]) -> None:
        """Evaluation rows, and the metric's feedback in its own table."""
        self.store.add_evaluations([{k: v for k, v in row.items()
                                     if k not in ("feedback", "judged")} for row in rows])
        notes = [{"run_id": row["run_id"], "key_id": row["key_id"], "split": row["split"],
                  "example_id": row["example_id"], "text": row["feedback"]}
                 for row in rows if row["feedback"]]
        if notes:
            self.store.add_feedback(notes)

    def _run_missing(self, key, examples, split, meter, recorded):
        """Examples without a recorded answer: never asked, or asked and failed (an error is
        asked again: the API may be back; an answer is never asked twice)."""
        todo = [(position, ex) for position, ex in enumerate(examples)
                if ex.id not in recorded or recorded[ex.id]["error"] is not None]
        if self.concurrency == 1 or len(todo) <= 1:
            return self._run_serial(key, todo, split, meter)
        return self._run_concurrent(key, todo, split, meter)

    def _run_serial(self, key, todo, split, meter):
        """Rows are stored SAVE_EVERY at a time (and whatever is in hand when stopped): a
        process killed in between loses no model call, since each answer is in the call cache
        the moment it arrives, and a resumed run rebuilds the rows from there."""
        rows: list[dict] = []
        saved = 0
        try:
            for position, example in todo:
                if _grant(meter, 1, self.metric.calls_per_answer) == 0:
                    return rows, False
                rows.append(self._answer(key, example, position, split, meter,
                                         self._ask(key, example)))
                if len(rows) - saved >= SAVE_EVERY:
                    self._save(rows[saved:])
                    saved = len(rows)
            return rows, True
        finally:
            self._save(rows[saved:])

    def _run_concurrent(self, key, todo, split, meter):
        """Keep `concurrency` calls in flight (a sliding window, not batches that wait for
        their slowest call); rows are stored every `concurrency` answers."""
        rows, unsaved, pending = [], [], {}
        queue, granted_all = iter(todo), [True]

        def submit_next(pool) -> None:
            item = next(queue, None) if granted_all[0] else None
            if item is None:
                return
            if _grant(meter, 1, self.metric.calls_per_answer) == 0:
                granted_all[0] = False
                return
            pending[pool.submit(self._ask, key, item[1])] = item

        with ThreadPoolExecutor(self.concurrency) as pool:
            try:
                for _ in range(self.concurrency):
                    submit_next(pool)
                while pending:
                    done, _ = wait(pending, return_when=FIRST_COMPLETED)
                    for future in done:
                        position, example = pending.pop(future)
                        unsaved.append(self._answer(key, example, position, split, meter,
                                                    future.result()))
                        submit_next(pool)
                    if len(unsaved) >= self.concurrency:
                        self._save(unsaved)
                        rows, unsaved = rows + unsaved, []
            finally:  # answers already in hand are recorded even when interrupted
                self._save(unsaved)
        return rows + unsaved, granted_all[0]

    def _answer(self, key, example, position, split, meter, completion: Completion) -> dict:
        if meter is not None:
            meter.record(completion.tokens)
        if self.on_answer is not None:
            self.on_answer()
        row = self._row(key, example, position, split, completion)
        if self.metric.calls_per_answer and meter is not None:
            meter.take_judged() if row["judged"] else meter.release(self.metric.calls_per_answer)
        return row

    def _ask(self, key: PromptKey, example: Example) -> Completion:
        return ask(self.lm, key, example.inputs, self.max_tokens)

    def _row(self, key, example, position, split, completion: Completion) -> dict:
        prediction = None if completion.error else key.read(completion.text)
        error, score, note = completion.error, None, None
        by_probability = self._by_probability(split)  # the metric is not asked: no judge call
        judged = bool(self.metric.calls_per_answer) and error is None and \
            prediction is not None and not by_probability
        if error is None and by_probability:
            found = likelihood.probabilities(completion.text, key.output.labels) or {}
            score = found.get(example.target, 0.0)
        elif error is None:
            try:
                score, note = self.metric.judge(prediction, example.target, example.inputs)
            except JudgeFailed as exc:  # asked again later like a failed call (answer cached)
                score, error = None, str(exc)
        return {"run_id": self.run_id, "key_id": key.id, "split": split,
                "example_id": example.id, "position": position, "completion": completion.text,
                "prediction": prediction, "target": example.target, "score": score,
                "error": error, "tokens": completion.tokens, "feedback": note, "judged": judged}

    def _by_probability(self, split: str) -> bool:
        return self.dev_score == "probability" and split != "test"

    def _aggregate(self, rows: list[dict], split: str) -> float:
        """The metric over the answers; on dev by probability, the mean probability (a corpus
        metric would recompute itself from the answers and ignore it)."""
        if self._by_probability(split):
            return sum(row["score"] for row in rows) / len(rows)
        return self.metric.aggregate([r["prediction"] for r in rows],
                                     [r["target"] for r in rows], [r["score"] for r in rows])

    def _summarise(self, key, examples, split, recorded, new_rows, complete,
                   seconds) -> KeyScore:
        present = [recorded[ex.id] for ex in examples if ex.id in recorded]
        scores = [row["score"] for row in present]
        ok = [row for row in present if row["score"] is not None]
        aggregate = self._aggregate(ok, split) if ok else None
        return KeyScore(
            key_id=key.id, score=aggregate, scores=scores,
            predictions=[row["prediction"] for row in present],
            errors=sum(row["error"] is not None for row in present),
            unparseable=sum(row["error"] is None and row["prediction"] is None for row in present),
            lm_calls=len(new_rows), tokens=sum(row["tokens"] for row in new_rows),
            judge_calls=sum(row.get("judged", False) for row in new_rows),
            seconds=seconds, complete=complete and len(present) == len(examples),
            targets=[row["target"] for row in present],
            example_ids=[row["example_id"] for row in present],
            replies=[row["completion"] if row["error"] is None else row["error"]
                     for row in present],
            feedback=[row.get("feedback") for row in present])


def ask(lm: LM, key: PromptKey, inputs: dict[str, str], max_tokens: int) -> Completion:
    """One model call for one input, exactly as search and apps make it."""
    if key.output.likelihood:
        return lm.continuation_logprobs(key.render(**inputs), [
            key.answer_separator + word for word in key.output.words])
    max_tokens = key.answer_tokens(max_tokens)
    if key.style == "chat":
        return lm.complete(messages=key.messages(**inputs), max_tokens=max_tokens)
    return lm.complete(prompt=key.render(**inputs), max_tokens=max_tokens, stop=key.stop)


def paired_answers(a: KeyScore, b: KeyScore) -> tuple[Answers, Answers]:
    """Both keys' answers on the examples both answered, in the same order."""
    mine = {i: n for n, i in enumerate(a.example_ids) if a.scores[n] is not None}
    shared = [(mine[i], n) for n, i in enumerate(b.example_ids)
              if i in mine and b.scores[n] is not None]
    return (_pick(a, [x for x, _ in shared]), _pick(b, [y for _, y in shared]))


def _pick(result: KeyScore, positions: list[int]) -> Answers:
    return Answers([result.predictions[i] for i in positions],
                   [result.targets[i] for i in positions], [result.scores[i] for i in positions])


def _grant(meter: Optional[BudgetMeter], wanted: int, metric_calls: int = 0) -> int:
    """How many of `wanted` answers the budget allows (all of them outside the search). An
    answer the metric scores with calls of its own (a judge) has them set aside as well."""
    if meter is None:
        return wanted
    for granted in range(wanted):
        try:
            meter.take(keep=metric_calls)
        except BudgetExhausted:
            return granted
    return wanted
