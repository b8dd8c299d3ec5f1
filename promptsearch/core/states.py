"""The named states of recorded things. Each is a StrEnum whose values are the strings the store
has always held, so stores written before these enums existed read back unchanged."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class CandidateStatus(StrEnum):
    COMPLETE = "complete"      # an answer on every dev example: rankable
    INCOMPLETE = "incomplete"  # every example asked, some calls failed
    FAILED = "failed"          # every call failed
    PARTIAL = "partial"        # cut short by the budget or an interrupt
    PRUNED = "pruned"          # racing stopped it: clearly worse than the best

    @property
    def retryable(self) -> bool:
        """Failed calls that are asked again after the search."""
        return self in (CandidateStatus.INCOMPLETE, CandidateStatus.FAILED)


class RunStatus(StrEnum):
    RUNNING = "running"
    FINISHED = "finished"
    INTERRUPTED = "interrupted"  # finalized after Ctrl-C: the winner was chosen on dev alone
    STOPPED = "stopped"          # the model could not answer: no lock, `--resume` goes on
    EMPTY = "empty"              # nothing was scored


class SharedRunStatus(StrEnum):
    SEARCHING = "searching"
    FINALIZING = "finalizing"
    FINISHED = "finished"


class WorkerState(StrEnum):
    LIVE = "live"
    DONE = "done"
    DEAD = "dead"  # missed its heartbeats: its claims are adopted by another worker


class ClaimState(StrEnum):
    RUNNING = "running"
    DONE = "done"


class Reservation(StrEnum):
    """What a worker's request for calls in a shared run got: OK, WAIT while others' holds
    stand in the way, else the limit that ends the search for it."""

    OK = "ok"
    WAIT = "wait"
    LM_CALLS = "lm_calls"
    MINUTES = "minutes"
    TOKENS = "tokens"
    TRIALS = "trials"
    FINISHED = "finished"  # the run left its search phase
    DECLARED_DEAD = "declared dead"


class StopReason(StrEnum):
    BUDGET = "budget"
    STRATEGY_FINISHED = "strategy finished"
    CONVERGED = "converged"
    DEV_SATURATED = "dev saturated"  # a key is perfect on dev: later keys could only tie it
    INTERRUPTED = "interrupted"
    ERROR_RATE = "error rate"
    DECLARED_DEAD = "declared dead"
    WORKERS_EXITED = "workers exited"
    WORKERS_STOPPED = "workers stopped"
    RUN_CLOSED = "run"  # a worker came to a run that no longer searches


@dataclass(frozen=True)
class Stop:
    """Why a search ended, with its detail; str() is the text the store and lock file hold."""

    reason: StopReason
    detail: str = ""

    def __str__(self) -> str:
        if not self.detail:
            return self.reason.value
        joint = ": " if self.reason is StopReason.BUDGET else " "
        return f"{self.reason.value}{joint}{self.detail}"

    @classmethod
    def parse(cls, text: str) -> "Stop":
        """The Stop a recorded text came from (a worker's row holds only the text)."""
        for reason in sorted(StopReason, key=lambda r: -len(r.value)):
            for joint in (": ", " "):
                if text.startswith(reason.value + joint):
                    return cls(reason, text[len(reason.value) + len(joint):])
            if text == reason.value:
                return cls(reason)
        raise ValueError(f"not a stop reason: {text!r}")


DEAD_DETAIL = "(its heartbeat stalled; another worker took over its key)"
DECLARED_DEAD = Stop(StopReason.DECLARED_DEAD, DEAD_DETAIL)
