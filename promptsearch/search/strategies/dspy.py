"""DSPy's own optimizers (MIPROv2, COPRO, BootstrapFewShotWithRandomSearch, GEPA) on the same
task, model, train/dev split, metric and budget; their result (instruction + demos) becomes a
PromptKey that is scored, stored and exported like any other.

DSPy talks to the model through litellm (local models through promptsearch's `local` provider)
in its own structured format; every call it makes is taken from the run's budget by a callback.
Small base models often cannot follow that format: DSPy then keeps the program it started from.
"""

from __future__ import annotations

import logging
from typing import Optional

from promptsearch.core.key import Demo, PromptKey
from promptsearch.core.secrets import api_key
from promptsearch.errors import BudgetExhausted
from promptsearch.evaluation.budget import BudgetMeter
from promptsearch.lm import enable_local_models
from promptsearch.search.base import Candidate, Context, Strategy

log = logging.getLogger("promptsearch")
OPTIMIZERS = ("mipro", "copro", "bootstrap", "gepa")
TRAIN_EXAMPLES = 50
DSPY_DEMOS = 4  # demos per DSPy program (its optimizers' own default), at most search.max_demos
TASK_TOKENS, PROPOSER_TOKENS = 96, 256
GEPA_MINIBATCH = 3  # GEPA's reflection minibatch (its default)


class DSPyStrategy(Strategy):
    optimizer = "mipro"
    name = "dspy-mipro"

    def __init__(self, context):
        super().__init__(context)
        self.queue: list[Candidate] = []
        self.trial = 0  # its candidates are numbered from the run's start, also when resumed
        self.failure: Optional[str] = None
        # (LM calls spent so far, score) of each example DSPy scored while evaluating a
        # program (not while bootstrapping demos): the raw material of a budget curve.
        self.evaluations: list[tuple[int, float]] = []
        self.lms: tuple = ()
        self.stopped_at_cap = False  # GEPA ended by the cap, with its best program so far

    def tokens(self) -> int:
        """Tokens DSPy's calls used, as the provider reported them."""
        return sum(int((entry.get("usage") or {}).get("total_tokens") or 0)
                   for lm in self.lms for entry in lm.history)

    def setup(self) -> None:
        space = self.context.space
        points = space.baselines()
        reserve = (len(points) + 1) * len(self.context.dev)  # baselines and the result, on dev
        program = self.optimize(reserve)
        self.queue = [self._candidate(space.key(p), space.origin(p), p) for p in points]
        if program is not None:  # DSPy's result, or its starting program if it was stopped
            origin = self.name if self.failure is None else f"{self.name}:unfinished"
            self.queue.append(self._candidate(self._to_key(program), origin, None))
        self.queue = self.unreached(self.queue)

    def ask(self) -> Optional[Candidate]:
        return self.queue.pop(0) if self.queue else None

    def tell(self, candidate, result) -> None:
        """DSPy ran to completion in setup; nothing to learn from the scores here."""

    def _candidate(self, key: PromptKey, origin: str, point) -> Candidate:
        candidate = Candidate(self.trial, key, origin, point)
        self.trial += 1
        return candidate

    # running DSPy ---------------------------------------------------------------------------
    def optimize(self, reserve: int):
        """Run DSPy's optimizer leaving `reserve` calls of the budget; its program, or the
        starting program when DSPy failed or was stopped (self.failure says why)."""
        import dspy

        enable_local_models()
        meter = self.context.meter
        limit = None if meter is None or meter.lm_calls is None else meter.lm_calls - reserve
        task_lm = _budgeted_lm(dspy, self.context.task_model, meter, limit, proposer=False)
        prompt_lm = _budgeted_lm(dspy, self.context.proposer, meter, limit, proposer=True)
        self.lms = (task_lm, prompt_lm)
        program = dspy.Predict(self._signature(dspy))
        try:
            with dspy.context(lm=task_lm, adapter=_counting_adapter(dspy, meter)):
                return self._compile(dspy, program, prompt_lm, limit)
        except (BudgetExhausted, _StopDSPy):
            self.failure = "budget spent before DSPy finished"
        except Exception as exc:  # DSPy's own failures (e.g. unparseable replies) end the arm
            self.failure = f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}"
        log.warning("%s: %s; its starting program is scored instead", self.name, self.failure)
        return program

    def _compile(self, dspy, program, prompt_lm, limit: Optional[int]):
        train, dev, metric = self._examples(dspy), self._dev(dspy), self._metric()
        seed = self.context.seed
        demos = min(DSPY_DEMOS, self.context.space.demo_counts[-1])  # search.max_demos holds
        if self.optimizer == "mipro":
            optimizer = dspy.MIPROv2(metric=metric, prompt_model=prompt_lm, auto="light",
                                     num_threads=1, seed=seed, verbose=False,
                                     max_bootstrapped_demos=demos, max_labeled_demos=demos)
            return optimizer.compile(program, trainset=train, valset=dev)
        if self.optimizer == "copro":
            optimizer = dspy.COPRO(prompt_model=prompt_lm, metric=metric, breadth=4, depth=2)
            return optimizer.compile(program, trainset=dev,
                                     eval_kwargs={"num_threads": 1, "display_progress": False})
        if self.optimizer == "bootstrap":
            optimizer = dspy.BootstrapFewShotWithRandomSearch(
                metric=metric, max_bootstrapped_demos=demos, max_labeled_demos=demos,
                num_candidate_programs=4, num_threads=1)
            return optimizer.compile(program, trainset=train, valset=dev)
        optimizer = dspy.GEPA(metric=_feedback(metric), reflection_lm=prompt_lm, auto="light",
                              num_threads=1, seed=seed, reflection_minibatch_size=GEPA_MINIBATCH,
                              gepa_kwargs={"stop_callbacks": self._gepa_stopper(len(dev), limit)})
        return optimizer.compile(program, trainset=train, valset=dev)

    def _gepa_stopper(self, dev_size: int, limit: Optional[int]):
        """GEPA's light preset plans more metric calls than a small cap holds, and a run cut
        off mid-iteration returns nothing. GEPA asks its stoppers before each iteration, so
        this one ends it while one more iteration (two minibatches, a full dev evaluation and
        a reflection) still fits: GEPA then returns the best program it has, as it would at
        its own budget's end."""
        meter, room = self.context.meter, dev_size + 2 * GEPA_MINIBATCH + 1

        def at_cap(state) -> bool:
            if meter is None or limit is None or meter.spent.lm_calls + room <= limit:
                return False
            self.stopped_at_cap = True
            return True

        return at_cap

    def _signature(self, dspy):
        space = self.context.space
        fields = {name: dspy.InputField() for name in space.fields}
        fields[space.target] = dspy.OutputField()
        return dspy.Signature(fields, space.instructions[0].value or "Give the output.")

    def _examples(self, dspy):
        pool = self.context.space.dataset.pool[:TRAIN_EXAMPLES]
        return [self._example(dspy, example) for example in pool]

    def _dev(self, dspy):
        return [self._example(dspy, example) for example in self.context.dev]

    def _example(self, dspy, example):
        space = self.context.space
        values = {**example.inputs, space.target: example.target}
        return dspy.Example(**values).with_inputs(*space.fields)

    def _metric(self):
        score, target = self.context.metric, self.context.space.target
        meter = self.context.meter

        def metric(example, prediction, trace=None, *args) -> float:
            answer = getattr(prediction, target, None)
            value = score.score(None if answer is None else str(answer), example[target])
            if trace is None and meter is not None:  # DSPy passes a trace when bootstrapping
                self.evaluations.append((meter.spent.lm_calls, value))
            return value

        return metric

    def _to_key(self, program) -> PromptKey:
        """DSPy's instruction and demos, laid out in the task's default completion format."""
        space = self.context.space
        predictor = program.predictors()[0]
        demos = tuple(Demo({f: str(d[f]) for f in space.fields}, str(d[space.target]))
                      for d in predictor.demos
                      if all(f in d for f in space.fields) and space.target in d)
        base = space.key(space.baselines()[0])
        return base.with_(instruction=predictor.signature.instructions, demos=demos)


def score_program(program, context: Context, examples) -> tuple[list[float], int]:
    """Per-example scores of a DSPy program answering in DSPy's own format, as a DSPy user
    evaluates it (an answer neither of DSPy's adapters can parse scores 0), and how many such
    parse failures there were. Calls are outside the search budget, like any test scoring."""
    import dspy

    failures = BudgetMeter()
    lm = _budgeted_lm(dspy, context.task_model, None, None, proposer=False)
    target = context.space.target
    scores = []
    with dspy.context(lm=lm, adapter=_counting_adapter(dspy, failures)):
        for example in examples:
            try:
                answer = getattr(program(**example.inputs), target, None)
            except Exception:  # noqa: BLE001 — DSPy raises its parse errors among others
                answer = None
            scores.append(context.metric.score(None if answer is None else str(answer),
                                               example.target))
    return scores, failures.spent.parse_failures


def _feedback(metric):
    def with_feedback(gold, prediction, trace=None, pred_name=None, pred_trace=None):
        return metric(gold, prediction)

    return with_feedback


def _counting_adapter(dspy, meter):
    """DSPy's chat adapter (with its JSON fallback), counting the replies neither format could
    parse: on small models this is why DSPy's optimizers find nothing."""

    from dspy.utils.exceptions import AdapterParseError

    class CountingAdapter(dspy.ChatAdapter):
        def __call__(self, *args, **kwargs):
            try:
                return super().__call__(*args, **kwargs)
            except AdapterParseError:
                if meter is not None:
                    meter.note_parse_failure()
                raise

    return CountingAdapter()


class _StopDSPy(BaseException):
    """Ends DSPy's optimizer, as Ctrl-C would. Past the budget, calls are first refused with
    BudgetExhausted, an Exception: DSPy scores such a call 0 and carries on, so an optimizer
    near its end still returns the best program it found. But some (GEPA) go on asking for
    ever; after REFUSALS refused calls this BaseException, which DSPy does not catch, stops
    them."""


REFUSALS = 100


def _budgeted_lm(dspy, lm, meter, limit: Optional[int], proposer: bool):
    """A dspy.LM whose every call is taken from the run's budget first; past `limit` it raises
    BudgetExhausted before reaching the model. (Not a DSPy callback: DSPy swallows callback
    errors, so a callback could count calls but not stop them.)"""

    refused = [0]  # calls refused past the budget, for this LM

    class BudgetedLM(dspy.LM):
        def _take(self) -> None:
            if meter is None:
                return
            try:
                if limit is not None and meter.spent.lm_calls >= limit:
                    raise BudgetExhausted("lm_calls")
                meter.take(proposer=proposer, framework=True)
            except BudgetExhausted as exc:
                refused[0] += 1
                if refused[0] > REFUSALS:
                    raise _StopDSPy(str(exc)) from None
                raise

        def __call__(self, *args, **kwargs):
            self._take()
            return super().__call__(*args, **kwargs)

        async def acall(self, *args, **kwargs):
            self._take()
            return await super().acall(*args, **kwargs)

    extra = {"api_base": lm.api_base} if lm.api_base else {}
    if lm.api_key_env:
        extra["api_key"] = api_key(lm.api_key_env)
    if lm.model.startswith("local/"):
        extra["n_threads"] = lm.threads
    # A task answer in DSPy's format is the answer plus a few field markers; a proposer writes
    # instructions. Small models that miss the format ramble to the cap, so keep it tight.
    max_tokens = PROPOSER_TOKENS if proposer else TASK_TOKENS
    return BudgetedLM(lm.model, model_type="chat", temperature=0.0, max_tokens=max_tokens,
                      cache=False, num_retries=lm.retries, **extra)


def dspy_strategy(optimizer: str) -> type[DSPyStrategy]:
    return type(f"DSPy{optimizer.capitalize()}Strategy", (DSPyStrategy,),
                {"optimizer": optimizer, "name": f"dspy-{optimizer}"})
