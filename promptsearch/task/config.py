"""task.yaml -> a validated, frozen Task. Errors name the file, line, field and fix."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal, Optional, Union

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_serializer,
    field_validator,
    model_validator,
)

from promptsearch.core.reasoning import CUES, MARKER
from promptsearch.core.reasoning import DEFAULT_MAX_TOKENS as DEFAULT_REASONING_TOKENS
from promptsearch.core.secrets import redact_url
from promptsearch.errors import InputError
from promptsearch.task.task_file import explain, line_index, parse_yaml, read_text

MAX_TASK_FILE_BYTES = 1_000_000
DEFAULT_MODEL = "local/gemma-3-270m"
# 16 demos scored no better than 8 on gemma-3-270m's bundled tasks (results/demos_ab.md), and
# cost twice the prompt.
MAX_DEMOS = 8
# The values search.strategy accepts: part of the task file's contract, so a typo fails at load
# time. promptsearch.search.registry maps each name to its Strategy class.
STRATEGY_NAMES = ("auto", "tpe", "random", "ape", "opro", "protegi", "evolution", "evolution-de",
                  "dspy-mipro", "dspy-copro", "dspy-bootstrap", "dspy-gepa")
_MODEL_RE = re.compile(r"^[A-Za-z0-9_.\-]+/\S+$|^[A-Za-z0-9_.\-:]+$")
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")


def model_string(value: str) -> str:
    """A model as task.yaml and the command line name it: provider/model or a bare name."""
    if not _MODEL_RE.match(value):
        raise ValueError(f"malformed model string {value!r}; write provider/model, "
                         "e.g. local/gemma-3-270m or openai/gpt-4o-mini")
    return value


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DataSpec(_Strict):
    train: str
    test: Optional[str] = None
    input: Union[str, list[str]] = "input"
    # One column (text, a label, or JSON objects), or several columns answered together as one
    # JSON object with those fields.
    target: Union[str, list[str]] = "output"
    dev_size: int = Field(50, ge=1, le=100_000)
    dev_split: Literal["random", "unseen"] = "random"
    test_size: Optional[int] = Field(None, ge=1)

    @property
    def input_fields(self) -> tuple[str, ...]:
        return (self.input,) if isinstance(self.input, str) else tuple(self.input)

    @property
    def target_columns(self) -> tuple[str, ...]:
        return (self.target,) if isinstance(self.target, str) else tuple(self.target)

    @property
    def target_name(self) -> str:
        """What the answer is called in prompts and programs: the column, or `answer`."""
        return self.target if isinstance(self.target, str) else "answer"

    @field_validator("target")
    @classmethod
    def _some_target(cls, value):
        if isinstance(value, list) and (not value or len(set(value)) < len(value)):
            raise ValueError("list the target columns, each once")
        return value


class PromptSpec(_Strict):
    seeds: list[str] = Field(default_factory=lambda: [""], min_length=1)
    labels: Optional[list[str]] = None
    format: Optional[str] = None
    style: Literal["auto", "completion", "chat"] = "auto"
    # likelihood: a label task's answer is its most likely label word (local models).
    answer: Literal["generate", "likelihood"] = "generate"


    @field_validator("labels", mode="before")
    @classmethod
    def _labels_as_text(cls, value):
        if not isinstance(value, list):
            return value
        if any(isinstance(item, bool) for item in value):
            raise ValueError("YAML reads yes/no/true/false/on/off as booleans; quote each label, "
                             "e.g. ['yes', 'no']")
        return [str(item) if isinstance(item, (int, float)) else item for item in value]


class Budget(_Strict):
    lm_calls: Optional[int] = Field(2000, ge=1)
    minutes: Optional[float] = Field(20, gt=0)
    trials: Optional[int] = Field(None, ge=1)
    tokens: Optional[int] = Field(None, ge=1)


class ReasoningSpec(_Strict):
    """search.reasoning: keys that ask for reasoning before the answer join the search."""

    max_tokens: int = Field(DEFAULT_REASONING_TOKENS, ge=16, le=4096)  # reasoning + answer
    cues: Optional[list[str]] = Field(None, min_length=1)  # default: core.reasoning.CUES

    @field_validator("cues")
    @classmethod
    def _names_the_marker(cls, value: Optional[list[str]]) -> Optional[list[str]]:
        for cue in value or []:
            if MARKER.lower() not in cue.lower():
                raise ValueError(f"each cue must ask for the answer after {MARKER!r} (the answer "
                                 f"is read from that line); e.g. {CUES[0]!r}")
        return value


class SearchSpec(_Strict):
    strategy: str = "auto"
    budget: Budget = Field(default_factory=Budget)
    racing: Optional[bool] = None  # None: on for `auto`, off for the single strategies
    # Train-pool examples on which the top dev keys are scored again before the winner is
    # chosen (promptsearch.evaluation.confirm); 0: off.
    confirm: int = Field(0, ge=0, le=100_000)
    # Dev leaders scored on test after the search (the seed baseline is too). Test calls are
    # outside the budget but not free: 1 scores the winner alone, for paid or slow models.
    finalists: int = Field(3, ge=1, le=20)
    seed: int = 0
    # The most demos a key may carry; the search tries 0, 1, 2, 4, ... up to it. Lower it when
    # prompts are paid per token or the examples are long for the model's context.
    max_demos: int = Field(MAX_DEMOS, ge=0, le=64)
    # Stop the run (exit 4, no lock file, every result kept for --resume) once this share of
    # dev calls has failed after retries: an API that is down should not burn the budget on
    # errors. Half by default: a short outage passes (its calls are asked again after the
    # search), a long one stops the run. 1: never stop.
    max_error_rate: float = Field(0.5, gt=0, le=1)
    # Stop once a key answers every dev example right: ties go to the earliest trial, so the
    # budget left could buy only ties. false: spend it all (to confirm several perfect keys on
    # fresh examples with `confirm`, say); a larger dev_size is the better cure.
    stop_at_perfect_dev: bool = True
    # Off by default: reasoning costs many tokens a call and helps multi-step tasks only.
    # true: the built-in cues; or {max_tokens: N, cues: [...]}.
    reasoning: Union[bool, ReasoningSpec] = False
    # probability: dev ranks keys by the correct label's probability (prompt.answer:
    # likelihood), a graded score with less noise than right/wrong; test stays the metric.
    dev_score: Literal["metric", "probability"] = "metric"
    # With several models: a key's score is the metric over all their answers (mean), or its
    # score on the model it does worst on (worst).
    objective: Literal["mean", "worst"] = "mean"

    def reasoning_spec(self) -> Optional[ReasoningSpec]:
        if self.reasoning is True:
            return ReasoningSpec()
        return self.reasoning or None

    def racing_on(self) -> bool:
        return self.strategy == "auto" if self.racing is None else self.racing

    @field_validator("strategy")
    @classmethod
    def _known_strategy(cls, value: str) -> str:
        if value not in STRATEGY_NAMES:
            raise ValueError(f"unknown strategy {value!r}; choose one of "
                             f"{', '.join(STRATEGY_NAMES)}")
        return value


class LMSpec(_Strict):
    api_base: Optional[str] = None
    # The NAME of the environment variable that holds the API key: keys never sit in task
    # files, and so never reach the store, lock files or reports (which copy the config).
    api_key_env: Optional[str] = Field(None, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    timeout: float = Field(60, gt=0)
    retries: int = Field(3, ge=0, le=20)
    backoff: float = Field(1.0, ge=0, le=60)  # seconds before the first retry, then doubling
    concurrency: Optional[int] = Field(None, ge=1, le=256)
    threads: int = Field(2, ge=1, le=256)
    max_tokens: Optional[int] = Field(None, ge=1, le=4096)  # default: from the longest target


    @model_validator(mode="before")
    @classmethod
    def _no_keys_in_files(cls, values):
        if isinstance(values, dict) and "api_key" in values:
            raise ValueError("API keys do not belong in task files (fix: export the key as an "
                             "environment variable and set lm.api_key_env to its name)")
        return values

    @field_serializer("api_base")
    def _without_credentials(self, url: Optional[str]) -> Optional[str]:
        return redact_url(url)


class JudgeSpec(_Strict):
    """metric.judge: a model grades each answer by a rubric (promptsearch.evaluation.judge)."""

    model: str
    # A Jinja2 template over the input fields, `answer` and (with reference) `reference`.
    rubric: Optional[str] = None
    scale: Literal["pass_fail", "1-5"] = "pass_fail"
    reference: bool = True  # show the judge the labeled answer
    max_tokens: int = Field(64, ge=8, le=1024)  # the verdict and its one-sentence reason

    @field_validator("model")
    @classmethod
    def _model_string(cls, value: str) -> str:
        return model_string(value)


class FieldMetrics(_Strict):
    """The metric as a mapping: a structured answer's metric per field (a plain name applies
    to all) and how much each field weighs (equal by default); or an LLM judge."""

    fields: dict[str, str] = Field(default_factory=dict)
    weights: dict[str, float] = Field(default_factory=dict)
    judge: Optional[JudgeSpec] = None

    @model_validator(mode="after")
    def _judge_alone(self):
        if self.judge is not None and (self.fields or self.weights):
            raise ValueError("a judge grades the whole answer: give metric.judge alone, "
                             "without fields or weights")
        return self

    @field_validator("weights")
    @classmethod
    def _positive(cls, value: dict[str, float]) -> dict[str, float]:
        if any(weight < 0 for weight in value.values()) or (value and not sum(value.values())):
            raise ValueError("weights must be >= 0 and not all 0")
        return value


class TaskConfig(_Strict):
    name: str
    description: str = ""
    data: DataSpec
    model: str = DEFAULT_MODEL
    proposer: Optional[str] = None
    prompt: PromptSpec = Field(default_factory=PromptSpec)
    # One key for several models (an app that switches between them): each candidate is
    # scored on every one, and search.objective combines the scores. `model` is the first.
    models: Optional[list[str]] = Field(None, min_length=2)
    metric: Union[str, FieldMetrics] = "exact_match"
    search: SearchSpec = Field(default_factory=SearchSpec)
    lm: LMSpec = Field(default_factory=LMSpec)

    @model_validator(mode="before")
    @classmethod
    def _model_from_models(cls, values):
        models = values.get("models") if isinstance(values, dict) else None
        if isinstance(models, list) and models and "model" not in values:
            values = {**values, "model": models[0]}
        return values

    @model_validator(mode="after")
    def _model_among_models(self):
        if self.models and self.model != self.models[0]:
            raise ValueError("with models:, leave model out (the first of models is the main "
                             "one: it proposes instructions and names the lock file's model)")
        if self.models and len(set(self.models)) < len(self.models):
            raise ValueError("list each of models once")
        return self

    def model_label(self) -> str:
        """What runs, leaderboards and lock files call the model: several joined, with the
        objective that combines them."""
        if not self.models:
            return self.model
        return " + ".join(self.models) + f" ({self.search.objective})"

    @field_validator("name")
    @classmethod
    def _slug(cls, value: str) -> str:
        if not _NAME_RE.match(value):
            raise ValueError("use letters, digits, '_', '-' or '.' (it names a results folder)")
        return value

    @field_validator("model", "proposer")
    @classmethod
    def _model_string(cls, value: Optional[str]) -> Optional[str]:
        return value if value is None else model_string(value)

    @field_validator("models")
    @classmethod
    def _model_strings(cls, value: Optional[list[str]]) -> Optional[list[str]]:
        return value if value is None else [model_string(item) for item in value]


class Task(BaseModel):
    """A validated task with its file paths resolved against the task file's folder."""

    model_config = ConfigDict(frozen=True)
    config: TaskConfig
    source: str
    base_dir: Path

    @property
    def name(self) -> str:
        return self.config.name

    def path(self, relative: str) -> Path:
        return (self.base_dir / relative).resolve()

    @property
    def proposer(self) -> str:
        return self.config.proposer or self.config.model


def load_task(path: str | Path) -> Task:
    """Read and validate a task file; raise InputError (exit code 2) naming file:line and field."""
    path = Path(path)
    text = read_text(path, MAX_TASK_FILE_BYTES)
    tree = parse_yaml(text, path)
    if not isinstance(tree, dict):
        raise InputError("the file must hold a mapping (name:, data:, ...)", source=str(path),
                         fix="start from `promptsearch init DATAFILE` or docs/reference.md")
    lines = line_index(text)
    try:
        config = TaskConfig.model_validate(tree)
    except ValidationError as exc:
        raise explain(exc, path, lines, TaskConfig) from None
    return Task(config=config, source=str(path), base_dir=path.resolve().parent)
