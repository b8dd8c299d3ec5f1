"""Shared fixtures: a scripted fake model reached through litellm, and task files in tmp dirs."""

from __future__ import annotations

import json
import os
import re
import sys
import threading
import time
from pathlib import Path

import pytest

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / "benchmarks" / "data"


class ScriptedModel:
    """Answers like a small model that follows demos: with at least one demo it applies `rule`
    to the query (the text after the last 'Input:'-like line), without demos it rambles."""

    def __init__(self):
        self.calls = 0
        self.lock = threading.Lock()
        self.rule = lambda text: text.upper()
        self.fail_on = None  # substring of the prompt that triggers a transport error
        self.prompts: list[str] = []  # every prompt received, in order
        self.asked = threading.local()  # .model: the model name of the call being answered

    def reply(self, prompt: str) -> str:
        with self.lock:
            self.calls += 1
            self.prompts.append(prompt)
        if self.fail_on and self.fail_on in prompt:
            raise ConnectionError("scripted outage")
        if "[[ ## completed ## ]]" in prompt:
            return self.dspy_reply(prompt)
        if any(marker in prompt for marker in PROPOSER_MARKERS):
            return self.propose(prompt)
        blocks = [block for block in prompt.split("\n\n") if block.strip()]
        query = blocks[-1].splitlines()[0].split(":", 1)[-1].strip().strip('"')
        has_demo = sum(1 for block in blocks[:-1] if "\n" in block or "->" in block) > 0
        return " " + self.rule(query) if has_demo else " I think that the answer is unclear"


    def dspy_reply(self, prompt: str) -> str:
        """Answer in DSPy's chat-adapter format: each requested output field in its marker; the
        task's `output` field follows `rule`, any other field gets an instruction-like text."""
        request = prompt[prompt.rfind("Respond with"):]
        fields = [f for f in re.findall(r"\[\[ ## (\w+) ## \]\]", request) if f != "completed"]
        before = prompt[:prompt.rfind("Respond with")]
        value = re.findall(r"\[\[ ## input ## \]\]\n(.*?)\n", before)
        parts = []
        for name in dict.fromkeys(fields):
            shown_demo = before.count("[[ ## output ## ]]") > 1  # one is the format description
            if name == "output":
                text = self.rule(value[-1].strip()) if value and shown_demo else "unclear"
            else:
                text = self.propose(prompt).strip()
            parts.append(f"[[ ## {name} ## ]]\n{text}")
        return "\n\n".join(parts + ["[[ ## completed ## ]]"])

    def propose(self, prompt: str) -> str:
        """A proposer's reply: a reason for critiques, else an instruction that depends on the
        request (so different requests give different, reproducible instructions)."""
        if "main reason" in prompt or "why does" in prompt:
            return " the instruction does not say to use capital letters"
        variant = sum(prompt.encode()) % 97
        return f" Write the word in capitals, rule {variant}."


PROPOSER_MARKERS = ("Rewritten:", "The instruction was:", "scores higher", "main reason",
                    "why does", "improved instruction", "Combined and varied:",
                    "Rewrite the task instruction", "Write the instruction that",
                    "Combine these two", "New instruction, the best one varied",
                    "Write a new task instruction in four steps")


def _register(model: ScriptedModel) -> None:
    import litellm
    from litellm import CustomLLM

    class FakeProvider(CustomLLM):
        def completion(self, model_name=None, messages=None, *args, **kwargs):
            response = kwargs["model_response"]
            msgs = messages if messages is not None else kwargs["messages"]
            prompt = "\n\n".join(str(m["content"]) for m in msgs)
            SCRIPTED.asked.model = kwargs.get("model", model_name)
            try:
                text = SCRIPTED.reply(prompt)
            except ConnectionError as exc:
                raise litellm.APIConnectionError(message=str(exc), llm_provider="fake",
                                                 model="fake/scripted")
            response.choices[0].message.content = text
            response.usage = litellm.Usage(prompt_tokens=len(prompt.split()),
                                           completion_tokens=len(text.split()),
                                           total_tokens=len(prompt.split()) + len(text.split()))
            return response

    if not any(p["provider"] == "fake" for p in litellm.custom_provider_map):
        litellm.custom_provider_map = litellm.custom_provider_map + [
            {"provider": "fake", "custom_handler": FakeProvider()}]


SCRIPTED = ScriptedModel()


@pytest.fixture
def fake_model():
    """The scripted model behind `fake/scripted`, reset for each test."""
    _register(SCRIPTED)
    SCRIPTED.calls = 0
    SCRIPTED.prompts = []
    SCRIPTED.rule = lambda text: text.upper()
    SCRIPTED.fail_on = None
    return SCRIPTED


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


def write_task(folder: Path, text: str, name: str = "task.yaml") -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def write_upper_task(folder: Path) -> Path:
    """A generation task the scripted model solves once a key has demos. Its search spends the
    whole budget (stop_at_perfect_dev: false), or it would end at the first key with demos."""
    words = [f"word{i}" for i in range(120)]
    write_jsonl(folder / "data" / "train.jsonl",
                [{"input": w, "output": w.upper()} for w in words[:100]])
    write_jsonl(folder / "data" / "test.jsonl",
                [{"input": w, "output": w.upper()} for w in words[100:]])
    return write_task(folder, """\
name: upper
data:
  train: data/train.jsonl
  test: data/test.jsonl
  dev_size: 10
model: fake/scripted
prompt:
  seeds: ["Write the word in capitals."]
  style: completion
search:
  strategy: tpe
  budget: {lm_calls: 120}
  stop_at_perfect_dev: false
  seed: 3
""")


@pytest.fixture
def upper_task(tmp_path: Path) -> Path:
    return write_upper_task(tmp_path)


def remote_sentiment_task(folder: Path, *, name: str, api_base: str, dev_size: int,
                          test_size: int, budget: int, lm: str,
                          model: str = "text-completion-openai/fake", search: str = "") -> Path:
    """The bundled sentiment data as a completion task served over HTTP at `api_base` (the fake
    API, or llama_cpp.server); `lm` holds the task's lm: settings, `search` extra ones."""
    path = folder / "task.yaml"
    path.write_text(f"""\
name: {name}
data: {{train: {DATA}/sentiment/train.jsonl, test: {DATA}/sentiment/test.jsonl,
       dev_size: {dev_size}, test_size: {test_size}}}
model: {model}
prompt: {{seeds: ["Is the review positive or negative?"], labels: [positive, negative],
         style: completion}}
search: {{strategy: random, seed: 0, budget: {{lm_calls: {budget}}}{search}}}
lm: {{api_base: "{api_base}", {lm}}}
""")
    return path


POSTGRES = os.environ.get("PS_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432")


@pytest.fixture(scope="module")
def database():
    """A fresh PostgreSQL database for one test module, dropped afterwards."""
    import psycopg

    name = f"promptsearch_test_{os.getpid()}_{time.time_ns()}"
    with psycopg.connect(f"{POSTGRES}/postgres", autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield f"{POSTGRES}/{name}"
    with psycopg.connect(f"{POSTGRES}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')


def cli(*args: str) -> list[str]:
    """A `promptsearch` command line for a child process (quiet: no progress display)."""
    return [sys.executable, "-m", "promptsearch.cli", *args, "--quiet"]


def child_env() -> dict:
    """The environment of a `promptsearch` child process that reaches the fake API."""
    return {**os.environ, "PYTHONPATH": str(REPO), "FAKE_API_KEY": "sk-fake",
            "LITELLM_LOCAL_MODEL_COST_MAP": "True"}
