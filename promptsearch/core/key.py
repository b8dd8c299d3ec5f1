"""PromptKey: the searched object. Plain data, JSON round trip, stable content id."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import asdict, dataclass, field, replace
from functools import cached_property
from typing import Literal, Optional

from promptsearch.core import likelihood, structured, templates
from promptsearch.core.reasoning import Reasoning, extract_answer, stop_for
from promptsearch.core.retrieval import Retrieval

Style = Literal["completion", "chat"]
# A label answer is a word or two: generating past it is most of a wrong completion's cost.
LABEL_MAX_TOKENS = 8
_PUNCT = re.compile(r"^[\s\"'`*.:,;!?()\[\]-]+|[\s\"'`*.:,;!?()\[\]-]+$")


@dataclass(frozen=True)
class Demo:
    inputs: dict[str, str]
    output: str  # the target label or text, before verbalisation


@dataclass(frozen=True)
class OutputSpec:
    """How the completion is read back: a label via its verbaliser word, a JSON object with
    `fields` (core.structured), or the first line."""

    labels: Optional[tuple[str, ...]] = None
    verbalizer: Optional[tuple[str, ...]] = None  # words, aligned with labels
    fields: Optional[tuple[tuple[str, str], ...]] = None  # (name, type) of a JSON answer
    likelihood: bool = False  # the most likely label word, scored, instead of a generated one

    def to_dict(self) -> dict:
        data = {"labels": list(self.labels) if self.labels else None,
                "verbalizer": list(self.verbalizer) if self.verbalizer else None}
        if self.fields:  # only when used: ids of other keys stay as they were
            data["fields"] = [list(pair) for pair in self.fields]
        if self.likelihood:
            data["likelihood"] = True
        return data

    @classmethod
    def from_dict(cls, data: dict) -> "OutputSpec":
        fields = data.get("fields")
        return cls(*(tuple(data[k]) if data.get(k) else None for k in ("labels", "verbalizer")),
                   fields=tuple((name, kind) for name, kind in fields) if fields else None,
                   likelihood=bool(data.get("likelihood")))

    @property
    def words(self) -> tuple[str, ...]:
        """The label words as the model writes them, aligned with the labels."""
        return self.verbalizer or self.labels or ()

    def word(self, target: str) -> str:
        if not self.labels or not self.verbalizer:
            return target
        return self.verbalizer[self.labels.index(target)] if target in self.labels else target

    def answer_tokens(self, max_tokens: int) -> int:
        """The completion budget for one answer: `max_tokens`, clamped for label answers (the
        search, the exports and apps all call with this budget)."""
        return min(max_tokens, LABEL_MAX_TOKENS) if self.labels else max_tokens

    def parse(self, completion: str) -> Optional[str]:
        """The answer in the target's terms, or None when the completion holds no answer."""
        if self.fields:
            return structured.parse_answer(completion, self.fields)
        line = next((part.strip() for part in completion.splitlines() if part.strip()), "")
        if not self.labels:
            return line or None
        return self._match_label(_PUNCT.sub("", line).lower())

    def _match_label(self, text: str) -> Optional[str]:
        words = self.verbalizer or self.labels
        by_word = {word.lower(): label for word, label in zip(words, self.labels)}
        if text in by_word:
            return by_word[text]
        for word in sorted(by_word, key=len, reverse=True):
            if text.startswith(word) and not text[len(word):len(word) + 1].isalnum():
                return by_word[word]
        return None


@dataclass(frozen=True)
class PromptKey:
    instruction: str = ""
    demos: tuple[Demo, ...] = ()
    format: str = "Input: {{ input }}\nOutput:"
    output: OutputSpec = field(default_factory=OutputSpec)
    style: Style = "completion"
    retrieval: Optional[Retrieval] = None  # demos chosen per input from a pool, instead of demos
    reasoning: Optional[Reasoning] = None  # work it out first, answer after a marker

    @cached_property
    def id(self) -> str:
        return hashlib.sha256(self.to_json().encode()).hexdigest()[:12]

    def to_dict(self) -> dict:
        data = {"instruction": self.instruction, "demos": [asdict(demo) for demo in self.demos],
                "format": self.format, "style": self.style, "output": self.output.to_dict()}
        if self.retrieval is not None:  # only when used: ids of plain keys stay as they were
            data["retrieval"] = self.retrieval.to_dict()
        if self.reasoning is not None:
            data["reasoning"] = self.reasoning.to_dict()
        return data

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True, ensure_ascii=False, separators=(",", ":"))

    @classmethod
    def from_dict(cls, data: dict) -> "PromptKey":
        return cls(
            instruction=data.get("instruction", ""),
            demos=tuple(Demo(dict(d["inputs"]), str(d["output"])) for d in data.get("demos", [])),
            format=data.get("format", cls.format),
            output=OutputSpec.from_dict(data.get("output") or {}),
            style=data.get("style", "completion"),
            retrieval=_retrieval(data.get("retrieval")),
            reasoning=Reasoning.from_dict(data.get("reasoning")),
        )

    def with_(self, **changes) -> "PromptKey":
        return replace(self, **changes)

    @property
    def answer_separator(self) -> str:
        return "" if self.format[-1:].isspace() else " "

    @property
    def stop(self) -> list[str]:
        """Stop where the next example would begin, so generation stays short."""
        if self.style == "chat":
            return []
        if self.reasoning is not None:
            return stop_for(self.format)
        return ["\n\n"] if self.format.endswith("\n") else ["\n"]

    def answer_tokens(self, max_tokens: int) -> int:
        """The completion budget of one call: the reasoning budget for a reasoning key, else the
        answer's (the search, the exports and apps all call with this budget)."""
        if self.reasoning is not None:
            return self.reasoning.max_tokens
        return self.output.answer_tokens(max_tokens)

    def read(self, completion: str) -> Optional[str]:
        """The answer in the target's terms, or None: after the reasoning, if the key asks
        for it."""
        if self.output.likelihood:
            return likelihood.most_likely(completion, self.output.labels)
        if self.reasoning is None:
            return self.output.parse(completion)
        answer = self.output.parse(extract_answer(completion))
        if answer is None and self.output.fields:  # a JSON object need not sit on one line
            answer = self.output.parse(completion)
        return answer

    def render(self, **inputs: str) -> str:
        """The exact text sent to a completion model (chat keys: the turns joined)."""
        if self.style == "chat":
            return "\n\n".join(message["content"] for message in self.messages(**inputs))
        parts = [text for text in self._preamble(inputs) if text]
        parts += [self._demo_text(demo) for demo in self.demos_for(inputs)]
        parts.append(templates.render(self.format, inputs))
        return "\n\n".join(parts)

    def messages(self, **inputs: str) -> list[dict[str, str]]:
        """Chat turns: instruction as system, each demo as a user/assistant pair."""
        system = "\n\n".join(text for text in self._preamble(inputs) if text)
        turns = [{"role": "system", "content": system}] if system else []
        for demo in self.demos_for(inputs):
            turns.append({"role": "user", "content": templates.render(self.format, demo.inputs)})
            turns.append({"role": "assistant", "content": self.demo_answer(demo)})
        turns.append({"role": "user", "content": templates.render(self.format, inputs)})
        return turns

    def demos_for(self, inputs: dict[str, str]) -> tuple[Demo, ...]:
        return self.demos if self.retrieval is None else self.retrieval.select(inputs)

    def _preamble(self, inputs: dict[str, str]) -> tuple[str, str]:
        """The instruction, then the reasoning cue (each '' when absent)."""
        instruction = templates.render(self.instruction, inputs) if self.instruction else ""
        return instruction, self.reasoning.cue if self.reasoning else ""

    def demo_answer(self, demo: Demo) -> str:
        """A demo's answer as the model should write its own: the verbaliser's word, after the
        marker for a reasoning key."""
        word = self.output.word(demo.output)
        return self.reasoning.demo_answer(word) if self.reasoning else word

    def _demo_text(self, demo: Demo) -> str:
        query = templates.render(self.format, demo.inputs)
        return f"{query}{self.answer_separator}{self.demo_answer(demo)}"

    def preview(self, width: int = 60) -> str:
        text = self.instruction or "(no instruction)"
        extras = f" +{len(self.demos)} demos" if self.demos else ""
        if self.retrieval is not None:
            extras = f" +{self.retrieval.k} retrieved demos"
        if self.reasoning is not None:
            extras += " +reasoning"
        text = " ".join(text.split())
        limit = width - len(extras)
        return (text if len(text) <= limit else text[: limit - 1] + "…") + extras


def _retrieval(data: Optional[dict]) -> Optional[Retrieval]:
    if not data:
        return None
    pool = tuple(Demo(dict(d["inputs"]), str(d["output"])) for d in data["pool"])
    return Retrieval(pool, int(data["k"]))
