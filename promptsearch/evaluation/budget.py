"""The search budget: a hard cap on logical LM calls, tokens, trials and wall time."""

from __future__ import annotations

import threading
import time
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Optional

from promptsearch.errors import BudgetExhausted


@dataclass
class Spent:
    lm_calls: int = 0        # logical search-time calls (dev scoring + proposer), cached or not
    proposer_calls: int = 0
    judge_calls: int = 0     # a judge metric's verdicts, search and test (search ones in lm_calls)
    framework_calls: int = 0  # calls made inside another framework's optimizer (DSPy), any model
    test_calls: int = 0      # scoring finalists on test: outside the budget
    model_calls: int = 0     # calls that really reached a model (cache misses)
    tokens: int = 0
    trials: int = 0
    racing_saved: int = 0    # dev calls racing did not make: candidates stopped early
    parse_failures: int = 0  # framework replies its own format could not parse (DSPy)
    seconds: float = 0.0
    errors: dict = field(default_factory=dict)  # calls failed after retries, by kind
    error_retry_calls: int = 0  # failed dev calls asked again after the search
    incomplete_keys: int = 0   # keys still short of an answer at the end: never ranked

    def as_dict(self) -> dict:
        return {k: (round(v, 3) if isinstance(v, float) else dict(v) if isinstance(v, dict)
                    else v) for k, v in vars(self).items()}


@dataclass
class BudgetMeter:
    """Hands out search-time calls until any limit is reached; thread-safe."""

    lm_calls: Optional[int] = None
    minutes: Optional[float] = None
    trials: Optional[int] = None
    tokens: Optional[int] = None
    spent: Spent = field(default_factory=Spent)
    started: float = field(default_factory=time.monotonic)
    elapsed_before: float = 0.0  # seconds spent by earlier sessions of a resumed run
    errors_before: dict = field(default_factory=dict)  # failed calls of earlier sessions
    _reserved: int = 0  # calls granted answers keep for their metric's own calls (a judge)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _healths: list = field(default_factory=list, repr=False)

    def watch(self, *healths) -> None:
        """Count these models' failed calls (promptsearch.lm.health) in spent.errors."""
        self._healths = list({id(health): health for health in healths}.values())

    def elapsed(self) -> float:
        return self.elapsed_before + time.monotonic() - self.started

    def exhausted_by(self, calls: int = 1) -> Optional[str]:
        """The name of the limit that `calls` more calls would break, or None."""
        if self.lm_calls is not None and \
                self.spent.lm_calls + self._reserved + calls > self.lm_calls:
            return "lm_calls"
        if self.minutes is not None and self.elapsed() >= self.minutes * 60:
            return "minutes"
        if self.tokens is not None and self.spent.tokens >= self.tokens:
            return "tokens"
        return None

    def can_start_trial(self) -> bool:
        return self.exhausted_by() is None and (self.trials is None or
                                                self.spent.trials < self.trials)

    def take(self, proposer: bool = False, framework: bool = False, keep: int = 0) -> None:
        """One call; `keep` more are set aside, in the same step, for the metric to score its
        answer with (taken by take_judged, or given back by release)."""
        with self._lock:
            limit = self.exhausted_by(1 + keep)
            if limit:
                raise BudgetExhausted(limit)
            self._reserved += keep
            self.spent.lm_calls += 1
            self.spent.proposer_calls += proposer
            self.spent.framework_calls += framework

    @contextmanager
    def holding_back(self, calls: int):
        """Within the block the LM-call limit is `calls` lower (kept for a later phase)."""
        if not calls or self.lm_calls is None:
            yield
            return
        self.lm_calls -= calls
        try:
            yield
        finally:
            self.lm_calls += calls

    def calls_spent(self) -> int:
        """Search-time calls spent by the whole run (a shared run's meter counts every worker)."""
        return self.spent.lm_calls

    def errors(self) -> dict[str, int]:
        """Calls failed after every retry so far, by kind (earlier sessions included)."""
        errors = Counter(self.errors_before)
        for health in self._healths:
            errors.update(health.snapshot())
        return dict(errors)

    def last_error_kind(self) -> Optional[str]:
        kinds = [health.last_kind for health in self._healths if health.last_kind]
        return kinds[-1] if kinds else None

    def snapshot(self) -> dict:
        self.spent.seconds = self.elapsed()
        self.spent.errors = self.errors()
        return self.spent.as_dict()

    def take_judged(self) -> None:
        """A judge's verdict on a dev answer: a search call set aside when the answer was
        granted (so it never fails)."""
        with self._lock:
            self._reserved -= 1
            self.spent.lm_calls += 1
            self.spent.judge_calls += 1

    def release(self, calls: int) -> None:
        """Calls set aside but not needed (an unparseable answer needs no verdict)."""
        with self._lock:
            self._reserved -= calls

    def note_parse_failure(self) -> None:
        with self._lock:
            self.spent.parse_failures += 1

    def record(self, tokens: int) -> None:
        with self._lock:
            self.spent.tokens += tokens
