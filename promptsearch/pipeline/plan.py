"""A search's plan, before it spends anything: the calls of each phase, the candidates the budget
allows, the time and money they take, what the dev and test sets can tell apart, and warnings.

Every number says where it comes from: the task file, the store's earlier runs, a probe of a
few model calls, or a stated assumption."""

from __future__ import annotations

import os
import time
from dataclasses import asdict, dataclass, field
from typing import Optional

from promptsearch.core.key import Demo, PromptKey
from promptsearch.core.stats import detectable_rise
from promptsearch.evaluation.confirm import confirm_size, reserve
from promptsearch.evaluation.evaluate import ask
from promptsearch.evaluation.racing import FRACTIONS
from promptsearch.lm.pricing import count_tokens, dollars
from promptsearch.pipeline.plan_history import Recorded, recorded_history
from promptsearch.pipeline.prepare import Prepared
from promptsearch.search.mutators.paraphrase import VARIANTS

ALPHA, POWER = 0.05, 0.8
FEW_CANDIDATES = 5
PROBE_CALLS = 2  # examples, each asked with the shortest and the longest prompt
# Proposer calls per candidate when no earlier run of the strategy says: one request per new
# instruction (APE, OPRO, EvoPrompt), a critique and a rewrite (ProTeGi); `auto` calls the
# proposer only once its cheap arms stall. DSPy's optimizers count their own calls.
ASSUMED_PROPOSER_CALLS = {"auto": 0.25, "tpe": 0.0, "random": 0.0, "ape": 1.0, "opro": 1.0,
                          "protegi": 2.0, "evolution": 1.0, "evolution-de": 1.0}
PARAPHRASING = ("auto", "tpe", "random")  # strategies that paraphrase the seeds at set-up
# Words in the names of instruction-tuned models; a remote model without one may be a base
# model, which answers a chat turn poorly.
INSTRUCT_MARKERS = ("instruct", "chat", "-it", "gpt", "claude", "gemini", "command", "sonnet",
                    "haiku", "opus", "mistral-large", "llama-3", "qwen2", "qwen3", "deepseek")


@dataclass
class Phase:
    name: str
    calls: int
    in_budget: bool
    note: str = ""


@dataclass
class Detectable:
    split: str
    examples: int
    base: float
    base_source: str
    rise: Optional[float]  # None: no rise up to a perfect score is detected with POWER


@dataclass
class Plan:
    task: str
    model: str
    strategy: str
    style: str
    racing: bool
    phases: list[Phase]
    candidates: int             # the budget's candidates without racing
    candidates_racing: int      # at most, with racing (every candidate stopped at its first slice)
    per_candidate: float        # dev calls + proposer calls of one fully scored candidate
    per_candidate_source: str
    prompt_tokens: tuple[int, int]  # a call's prompt: the seed, and with the most demos
    completion_tokens: int          # at most, per call
    reasoning_tokens: Optional[int] = None  # at most, per call of a key that reasons first
    seconds_per_call: Optional[float] = None
    speed_source: str = ""
    search_seconds: Optional[float] = None
    test_seconds: Optional[float] = None
    dollars: Optional[tuple[float, float]] = None
    detectable: list[Detectable] = field(default_factory=list)
    formula: str = ""
    warnings: list[str] = field(default_factory=list)

    @property
    def search_calls(self) -> int:
        return sum(phase.calls for phase in self.phases if phase.in_budget)

    @property
    def test_calls(self) -> int:
        return sum(phase.calls for phase in self.phases if not phase.in_budget)

    def as_dict(self) -> dict:
        data = asdict(self)
        data.update(search_calls=self.search_calls, test_calls=self.test_calls)
        return data


def make_plan(prepared: Prepared, store=None, *, probe: bool = True) -> Plan:
    """The plan of `prepared`'s search; `store` (read-only) lends earlier runs' speed and seed
    score; `probe` times a few uncached calls when the store has none for this model."""
    history = recorded_history(store, prepared) if store is not None else Recorded()
    speed, speed_source = _speed(prepared, history, probe)
    plan = _budget_plan(prepared, history, *_call_limit(prepared, speed))
    plan.seconds_per_call, plan.speed_source = speed, speed_source
    if speed is not None:
        plan.search_seconds = plan.search_calls * speed
        plan.test_seconds = plan.test_calls * speed
    _add_tokens_and_cost(plan, prepared)
    _add_detectable(plan, prepared, history)
    plan.warnings = static_warnings(prepared, plan) + _time_warnings(prepared, plan) \
        + plan.warnings
    return plan


def _call_limit(prepared: Prepared, speed: Optional[float]) -> tuple[Optional[int], str]:
    """The search's calls: search.budget.lm_calls, else what search.budget.minutes allows at
    the measured speed, else unknown (None)."""
    budget = prepared.task.config.search.budget
    if budget.lm_calls is not None:
        return budget.lm_calls, "the rest of search.budget.lm_calls"
    if budget.minutes is not None and speed:
        return (int(budget.minutes * 60 / speed),
                "what search.budget.minutes allows at the measured speed (no call limit)")
    return None, "no call limit, and no measured speed to turn minutes into calls"


def _per_answer_note(judge_calls: int, models: int) -> str:
    parts = ([f"on each of {models} models"] if models > 1 else []) + \
        (["each answer and the judge's verdict"] if judge_calls else [])
    return f" ({', '.join(parts)})" if parts else ""


def _budget_plan(prepared: Prepared, history: Recorded, calls: Optional[int],
                 calls_note: str) -> Plan:
    config = prepared.task.config
    search, data = config.search, prepared.dataset
    models = 1 + len(prepared.others)
    seeds, per_answer = prepared.space.n_seeds, (1 + prepared.metric.calls_per_answer) * models
    dev = len(data.dev) * per_answer  # calls to score a key on dev: a judge, models multiply
    judged = _per_answer_note(prepared.metric.calls_per_answer, models)
    proposer, source = _proposer_calls(search.strategy, history)
    limit = calls if calls is not None else 0
    baseline = min(seeds * dev, limit)
    paraphrase = min(limit - baseline, VARIANTS * sum(1 for s in config.prompt.seeds if s.strip())
                     if search.strategy in PARAPHRASING else 0)
    held = min(limit - baseline - paraphrase, reserve(confirm_size(search, len(data.pool))))
    left = limit - baseline - paraphrase - held
    first_slice = max(1, round(len(data.dev) * FRACTIONS[0])) * per_answer
    plain, raced = (seeds + int(left // (size + proposer)) for size in (dev, first_slice))
    if search.budget.trials is not None:
        plain, raced = min(plain, search.budget.trials), min(raced, search.budget.trials)
    phases = [Phase("seed baseline on dev", baseline, True,
                    f"{seeds} seed prompt(s) x {len(data.dev)} dev examples{judged}"),
              Phase("proposer set-up", paraphrase, True,
                    f"{VARIANTS} paraphrases per seed instruction" if paraphrase else "none"),
              Phase("search: dev scoring + proposer", left, True, calls_note),
              Phase("confirmation", held, True, "search.confirm" if held else "off"),
              Phase("finalists on test", (search.finalists + 1) * len(data.test) * per_answer,
                    False, f"{search.finalists} finalists + the seed x {len(data.test)} test "
                    f"examples{judged}, outside the budget")]
    return Plan(prepared.task.name, config.model_label(), search.strategy, prepared.style,
                search.racing_on(), phases, plain, raced, dev + proposer, source,
                (0, 0), prepared.max_tokens)


def _proposer_calls(strategy: str, history: Recorded) -> tuple[float, str]:
    if history.proposer_per_candidate is not None:
        return history.proposer_per_candidate, f"measured over {history.runs} earlier run(s)"
    if strategy.startswith("dspy-"):
        return 0.0, "DSPy's optimizer decides its own calls"
    return ASSUMED_PROPOSER_CALLS[strategy], "assumed for the strategy (no earlier run)"


def _add_tokens_and_cost(plan: Plan, prepared: Prepared) -> None:
    seed = prepared.seed_key()
    most = _most_demos(prepared, seed)
    examples = prepared.dataset.dev[:5]
    plan.prompt_tokens = tuple(round(sum(_tokens(prepared.lm.model, key, example.inputs)
                                         for example in examples) / len(examples))
                               for key in (seed, most))
    plan.completion_tokens = seed.answer_tokens(prepared.max_tokens)
    longest = plan.completion_tokens
    if prepared.space.searches_reasoning():
        plan.reasoning_tokens = longest = max(r.max_tokens for r in prepared.space.reasonings
                                              if r is not None)
        plan.warnings.append(f"keys that reason first write up to {longest} tokens a call; "
                             "the time above is measured on answers without reasoning")
    prices = [dollars(prepared.lm.model, tokens, completion)
              for tokens, completion in zip(plan.prompt_tokens,
                                            (plan.completion_tokens, longest))]
    if None not in prices:
        calls = plan.search_calls + plan.test_calls
        plan.dollars = (prices[0] * calls, prices[1] * calls)


def _tokens(model: str, key: PromptKey, inputs: dict) -> int:
    if key.style == "chat":
        return count_tokens(model, messages=key.messages(**inputs))
    return count_tokens(model, prompt=key.render(**inputs))


def _speed(prepared: Prepared, history: Recorded, probe: bool) -> tuple[Optional[float], str]:
    if history.seconds_per_call is not None:
        return history.seconds_per_call, f"recorded: {history.timed_calls} calls of earlier runs"
    if probe:
        return (probe_speed(prepared),
                f"probe: {2 * PROBE_CALLS} uncached calls now, half with the most demos")
    return None, "unknown (no earlier run of this model, no probe)"


def probe_speed(prepared: Prepared) -> float:
    """Seconds per call, in wall time as the run will see it: the seed key and the key with the
    most demos (the shortest and longest prompts the search sends) on a few examples each, one
    call at a time, divided by the calls the run keeps in flight at once."""
    lm, seed = prepared.lm, prepared.seed_key()
    lm.warm()  # loading weights or litellm is not a call's cost
    examples = prepared.dataset.dev[:PROBE_CALLS]
    keys = (seed, _most_demos(prepared, seed))
    started = time.monotonic()
    for key in keys:
        for example in examples:
            ask(lm, key, example.inputs, prepared.max_tokens)
    concurrency = prepared.task.config.lm.concurrency or lm.default_concurrency
    return (time.monotonic() - started) / (len(keys) * len(examples)) / concurrency


def _most_demos(prepared: Prepared, seed: PromptKey) -> PromptKey:
    demos = prepared.dataset.pool[:prepared.task.config.search.max_demos]
    return seed.with_(demos=tuple(Demo(example.inputs, example.target) for example in demos))


def _add_detectable(plan: Plan, prepared: Prepared, history: Recorded) -> None:
    base, source = (history.seed_dev_score, "the seed's recorded dev score") \
        if history.seed_dev_score is not None else (0.5, "worst case: no recorded seed score")
    base = min(base, 0.99)
    for split, examples in (("dev", prepared.dataset.dev), ("test", prepared.dataset.test)):
        plan.detectable.append(Detectable(split, len(examples), base, source,
                                          detectable_rise(len(examples), base, ALPHA, POWER)))
    plan.formula = (f"one-sided exact sign test on paired 0/1 answers (the run's paired test) at "
                    f"alpha {ALPHA}, power {POWER}, the two keys' errors assumed independent; "
                    "for graded metrics, an approximation")


def static_warnings(prepared: Prepared, plan: Optional[Plan] = None) -> list[str]:
    """The warnings that need no model call (validate prints them too)."""
    plan = plan or _budget_plan(prepared, Recorded(),
                                *_call_limit(prepared, None))
    config, warnings = prepared.task.config, []
    dev, budget = len(prepared.dataset.dev), config.search.budget.lm_calls
    if budget is not None and budget < dev:
        warnings.append(f"search.budget.lm_calls ({budget}) is below the dev size ({dev}): not "
                        "even the seed prompt can be scored on all of dev; raise lm_calls or "
                        "lower data.dev_size")
    elif budget is not None and plan.candidates < FEW_CANDIDATES:
        warnings.append(f"the budget scores only about {plan.candidates} candidates "
                        f"({plan.per_candidate:.0f} calls each): fewer than {FEW_CANDIDATES} "
                        "is barely a search; raise search.budget.lm_calls or lower "
                        "data.dev_size")
    env = config.lm.api_key_env
    if env and not os.environ.get(env):
        warnings.append(f"lm.api_key_env names {env}, which is not set: export {env}=... "
                        "before the run")
    hint = style_hint(prepared)
    if hint:
        warnings.append(hint)
    return warnings


def style_hint(prepared: Prepared) -> Optional[str]:
    """Remote models get chat turns unless prompt.style says otherwise; a base model behind an
    OpenAI-compatible server then rarely answers in a form that parses."""
    lm, name = prepared.lm, prepared.lm.model.lower()
    if lm.is_local or prepared.style != "chat" or prepared.task.config.prompt.style == "chat":
        return None
    if any(marker in name for marker in INSTRUCT_MARKERS):
        return None
    return (f"{prepared.lm.model} gets chat-style prompts (the default for remote models); if "
            "it is a base model, not instruction-tuned, set prompt.style: completion")


def _time_warnings(prepared: Prepared, plan: Plan) -> list[str]:
    minutes = prepared.task.config.search.budget.minutes
    if minutes is None or plan.search_seconds is None or plan.seconds_per_call is None:
        return []
    if plan.search_seconds <= minutes * 60:
        return []
    reached = int(minutes * 60 / plan.seconds_per_call)
    return [f"search.budget.minutes ({minutes:g}) ends the search after about {reached} of its "
            f"{plan.search_calls} calls ({plan.seconds_per_call:.2f} s a call): raise minutes "
            "or lower lm_calls"]
