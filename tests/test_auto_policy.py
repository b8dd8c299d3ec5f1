"""`auto`'s budget policy, driven directly with made-up scores: prior draws first, then the
bandit; proposer-written arms wait for a stall unless the proposer is a separate model."""

from promptsearch.evaluation.budget import BudgetMeter
from promptsearch.task.config import load_task
from promptsearch.evaluation.evaluate import KeyScore
from promptsearch.lm.client import LM
from promptsearch.pipeline.prepare import prepare
from promptsearch.search.strategies.auto import EXPLORE_SHARE, STALL, AutoStrategy
from promptsearch.search.base import Candidate, Context

WRITERS = {"ape", "protegi", "opro", "evolution"}
BUDGET = 1000


def _auto(task_path, separate_proposer: bool) -> AutoStrategy:
    prepared = prepare(load_task(task_path), None)
    proposer = LM(prepared.lm.model) if separate_proposer else prepared.lm
    context = Context(prepared.space, 0, proposer, BudgetMeter(lm_calls=BUDGET),
                      dev=prepared.dataset.dev, task_model=prepared.lm, metric=prepared.metric)
    auto = AutoStrategy(context)
    auto.setup()
    return auto


def _step(auto: AutoStrategy, score: float) -> str:
    """One ask/tell with a made-up dev score; the arm that proposed (None: a baseline)."""
    return _scored_step(auto, score)[0]


def _scored_step(auto: AutoStrategy, score: float) -> tuple[str, Candidate]:
    candidate = auto.ask()
    arm = auto._pending[id(candidate)][0]
    auto.context.meter.spent.lm_calls += 10
    result = KeyScore(candidate.key.id, score, [score] * 10, [None] * 10, lm_calls=10)
    auto.context.pool.add(candidate, result)
    auto.tell(candidate, result)
    return None if arm is None else arm.name, candidate


def test_prior_draws_until_the_exploration_share_then_writers_only_after_a_stall(
        upper_task, fake_model):
    auto = _auto(upper_task, separate_proposer=False)
    arms = []
    while auto.context.meter.spent.lm_calls < EXPLORE_SHARE * BUDGET:
        arms.append(_step(auto, 0.1))
    assert set(arms) <= {None, "prior"} and arms.count("prior") >= 30
    climbing = [_step(auto, 0.2 + 0.01 * n) for n in range(10)]  # every step a new best
    assert not WRITERS & set(climbing) and {"local", "tpe"} <= set(climbing)
    flat = [_step(auto, 0.0) for _ in range(STALL + 8)]
    assert WRITERS & set(flat)  # the cheap arms stalled: the proposer's arms join


def test_a_separate_proposer_model_joins_the_bandit_from_the_start(upper_task, fake_model):
    auto = _auto(upper_task, separate_proposer=True)
    while auto.context.meter.spent.lm_calls < EXPLORE_SHARE * BUDGET:
        _step(auto, 0.1)
    first = [_step(auto, 0.2 + 0.01 * n) for n in range(8)]
    assert WRITERS <= set(first)  # each arm is tried once, improving or not


def test_prior_draws_take_the_demo_selections_in_turn_and_never_repeat_a_key(
        upper_task, fake_model):
    auto = _auto(upper_task, separate_proposer=False)
    drawn = []
    while auto.context.meter.spent.lm_calls < EXPLORE_SHARE * BUDGET:
        arm, candidate = _scored_step(auto, 0.1)
        if arm == "prior":
            drawn.append(candidate)
    selections = [candidate.point.selection for candidate in drawn]
    counts = [selections.count(name) for name in auto.context.space.selections]
    assert len(drawn) >= 30 and max(counts) - min(counts) <= 1, counts
    keys = [candidate.key.id for candidate in drawn]
    assert len(set(keys)) == len(keys)  # a repeat would cost no calls and teach nothing
