"""A winning key as a DSPy program: `KeyProgram` predicts through DSPy's configured LM with an
adapter that sends the key's prompt verbatim (not DSPy's field-marker format), so it answers as
the key did in the search. Its state (the key, the answer budget) saves as JSON with DSPy's own
`save()` and loads back with `load()`; no pickle.

Completion-style keys are sent as plain text completions (DSPy's text mode would append its own
"BEGIN RESPONSE:" line); chat-style keys as the key's chat turns."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import dspy

from promptsearch.core.key import PromptKey
from promptsearch.core.templates import fields_used
from promptsearch.lm import enable_local_models

STATE = "promptsearch"


def effective_max_tokens(key: PromptKey, max_tokens: int) -> int:
    """As the evaluator calls: label answers are a word or two."""
    return key.answer_tokens(max_tokens)


class KeyAdapter(dspy.Adapter):
    def __init__(self, key: PromptKey, max_tokens: int, target: str):
        super().__init__()
        self.key, self.max_tokens, self.target = key, max_tokens, target

    def __call__(self, lm, lm_kwargs, signature, demos, inputs):
        budget = effective_max_tokens(self.key, self.max_tokens)
        if self.key.style == "chat":
            text = lm(messages=self.key.messages(**inputs), max_tokens=budget,
                      temperature=0.0)[0]
        else:
            text = _text_completion(lm, self.key.render(**inputs), budget, self.key.stop)
        return [{self.target: self.key.read(text)}]


def _text_completion(lm, prompt: str, max_tokens: int, stop: list[str]) -> str:
    import litellm

    enable_local_models()
    options = {k: v for k, v in lm.kwargs.items() if k not in ("max_tokens", "temperature",
                                                                "max_completion_tokens")}
    response = litellm.text_completion(model=lm.model, prompt=prompt, max_tokens=max_tokens,
                                       temperature=0.0, stop=stop or None, **options)
    return response.choices[0].text or ""


class KeyProgram(dspy.Module):
    """`KeyProgram()(input=...)` -> a Prediction with the task's target field."""

    def __init__(self, key: Optional[PromptKey] = None, max_tokens: int = 48,
                 target: str = "output"):
        super().__init__()
        self.key = key or PromptKey()
        self.max_tokens, self.target = max_tokens, target
        self.predict = dspy.Predict(self._signature())

    def _signature(self):
        fields = {name: dspy.InputField() for name in self.input_fields()}
        fields[self.target] = dspy.OutputField()
        return dspy.Signature(fields, self.key.instruction or "Give the output.")

    def input_fields(self) -> list[str]:
        return sorted(fields_used(self.key.format) | fields_used(self.key.instruction)) or [
            "input"]

    def forward(self, **inputs):
        adapter = KeyAdapter(self.key, self.max_tokens, self.target)
        with dspy.context(adapter=adapter):
            return self.predict(**inputs)

    def dump_state(self, json_mode=True):
        state = super().dump_state(json_mode=json_mode)
        state[STATE] = {"key": self.key.to_dict(), "max_tokens": self.max_tokens,
                        "target": self.target}
        return state

    def load_state(self, state, **kwargs):
        mine = state[STATE]
        self.key = PromptKey.from_dict(mine["key"])
        self.max_tokens, self.target = int(mine["max_tokens"]), mine["target"]
        self.predict = dspy.Predict(self._signature())
        super().load_state({k: v for k, v in state.items() if k != STATE}, **kwargs)
        return self


def to_dspy(key: PromptKey, max_tokens: int = 48, target: str = "output") -> KeyProgram:
    return KeyProgram(key, max_tokens, target)


def save_dspy(best, path: Path) -> Path:
    """Save a BestPrompt as a KeyProgram's JSON state (dspy's save)."""
    best.to_dspy().save(str(path))
    return path
