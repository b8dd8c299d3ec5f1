"""`export`: a winning key as a lock file (json) or as a small Python module with no promptsearch
dependency (python), whose render() equals load_best(...).render() character for character.

The module holds the key's parts as constants. Demos are fixed text, so they are rendered once
here; the instruction and format are filled per call. Templates that use only `{{ field }}`
placeholders are filled with plain string replacement; anything richer (filters, conditions)
makes the module use Jinja2's sandbox, as promptsearch does. Keys with retrieved demos carry
their pool and pick demos with the same TF-IDF index (scikit-learn)."""

from __future__ import annotations

import json
import re

from promptsearch.core import reasoning, templates
from promptsearch.core.key import PromptKey

SIMPLE_FIELD = re.compile(r"\{\{\s*(\w+)\s*\}\}")

HEADER = '''"""Prompt for task {task!r}, exported by promptsearch (key {key_id}, version {version}).

Model: {model}. Test score {test:.3f} [{low:.2f}, {high:.2f}] on {examples} examples.
Use: render(**inputs) gives the prompt text; parse(completion) reads the answer back.
This file needs no promptsearch; re-export it after a new search instead of editing it.
"""

import json
import re

MODEL = {model!r}
STYLE = {style!r}
INSTRUCTION = {instruction!r}
FORMAT = {format!r}
LABELS = {labels!r}
VERBALIZER = {verbalizer!r}
FIELDS = {fields!r}
REASONING = {reasoning!r}  # the cue asking for reasoning before an "Answer:" line, or None
# True: the answer is the most likely label word. Score each word of VERBALIZER (or LABELS),
# after a space, as a continuation of render(); parse() takes the list of log-probabilities.
LIKELIHOOD = {likelihood!r}
MARKER, MARKER_PATTERN = {marker!r}, {marker_pattern!r}
STOP = {stop!r}
MAX_TOKENS = {max_tokens!r}
'''

FILL_SIMPLE = '''

def _fill(template, values):
    if "{" not in template:
        return template
    return re.sub(r"\\{\\{\\s*(\\w+)\\s*\\}\\}", lambda m: str(values[m.group(1)]), template)
'''

FILL_JINJA = '''

def _fill(template, values):
    if "{" not in template:
        return template
    from jinja2 import StrictUndefined
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    env = ImmutableSandboxedEnvironment(undefined=StrictUndefined, autoescape=False,
                                        keep_trailing_newline=True)
    return env.from_string(template).render(**values)
'''

FIXED_DEMOS = '''
DEMOS = json.loads({demos!r})  # [[query, answer], ...] rendered at export time


def _demos(inputs):
    return DEMOS
'''

RETRIEVED_DEMOS = '''
POOL = json.loads({pool!r})  # [{{"inputs": {{...}}, "output": ...}}, ...]
K = {k!r}
_INDEX = []


def _text(inputs):
    return " \\n ".join(str(value) for value in inputs.values())


def _demos(inputs):
    """The K pool examples most similar to the input (TF-IDF over character n-grams), nearest
    last, as promptsearch retrieved them during the search."""
    if not _INDEX:
        from sklearn.feature_extraction.text import TfidfVectorizer

        vectorizer = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 4), sublinear_tf=True)
        _INDEX.extend([vectorizer, vectorizer.fit_transform([_text(d["inputs"]) for d in POOL])])
    vectorizer, matrix = _INDEX
    query = _text(inputs)
    similarity = (matrix @ vectorizer.transform([query]).T).toarray().ravel()
    ranked = sorted(range(len(POOL)), key=lambda i: (-similarity[i], i))
    chosen = [i for i in ranked if _text(POOL[i]["inputs"]) != query][:K]
    return [(_fill(FORMAT, POOL[i]["inputs"]), _answer(_word(POOL[i]["output"])))
            for i in reversed(chosen)]
'''

FUNCTIONS = '''

def _word(label):
    if not LABELS or not VERBALIZER or label not in LABELS:
        return label
    return VERBALIZER[LABELS.index(label)]


def _answer(word):
    return MARKER + " " + word if REASONING else word


def _preamble(inputs):
    parts = [_fill(INSTRUCTION, inputs) if INSTRUCTION else "", REASONING or ""]
    return [part for part in parts if part]


def messages(**inputs):
    """Chat turns: the instruction as system, each demo as a user/assistant pair."""
    system = "\\n\\n".join(_preamble(inputs))
    turns = [{"role": "system", "content": system}] if system else []
    for query, answer in _demos(inputs):
        turns += [{"role": "user", "content": query}, {"role": "assistant", "content": answer}]
    return turns + [{"role": "user", "content": _fill(FORMAT, inputs)}]


def render(**inputs):
    """The exact prompt text (for a chat key: its turns joined by blank lines)."""
    if STYLE == "chat":
        return "\\n\\n".join(turn["content"] for turn in messages(**inputs))
    separator = "" if FORMAT[-1:].isspace() else " "
    parts = _preamble(inputs)
    parts += [query + separator + answer for query, answer in _demos(inputs)]
    return "\\n\\n".join(parts + [_fill(FORMAT, inputs)])


_PUNCT = re.compile(r"^[\\s\\"'`*.:,;!?()\\[\\]-]+|[\\s\\"'`*.:,;!?()\\[\\]-]+$")
_MARKER_LINE = re.compile(MARKER_PATTERN, re.IGNORECASE | re.MULTILINE)


def parse(completion):
    """The answer in the task's terms (a label for label tasks, a JSON object's text for
    structured ones), or None if there is none; after the reasoning, for a reasoning key."""
    if LIKELIHOOD:
        logprobs = json.loads(completion) if isinstance(completion, str) else completion
        return LABELS[max(range(len(LABELS)), key=lambda i: logprobs[i])]
    if REASONING:
        answer = _parse(_after_reasoning(completion))
        return _parse_object(completion) if answer is None and FIELDS else answer
    return _parse(completion)


def _after_reasoning(completion):
    """The text after the first "Answer:" line, else the last non-empty line."""
    found = _MARKER_LINE.search(completion)
    if found and found.group(1).strip():
        return found.group(1).strip()
    lines = [line.strip() for line in completion.splitlines() if line.strip()]
    return lines[-1] if lines else ""


def _parse(completion):
    if FIELDS:
        return _parse_object(completion)
    line = next((part.strip() for part in completion.splitlines() if part.strip()), "")
    if not LABELS:
        return line or None
    text = _PUNCT.sub("", line).lower()
    by_word = {{word.lower(): label for word, label in zip(VERBALIZER or LABELS, LABELS)}}
    if text in by_word:
        return by_word[text]
    for word in sorted(by_word, key=len, reverse=True):
        if text.startswith(word) and not text[len(word):len(word) + 1].isalnum():
            return by_word[word]
    return None


_NUMBER = re.compile(r"^\\s*-?\\d+(?:\\.\\d+)?\\s*$")


def _parse_object(completion):
    """The first JSON object in the reply with every field of its type, as compact JSON."""
    decoder = json.JSONDecoder()
    for match in re.finditer(r"\\{{", completion):
        try:
            found, _ = decoder.raw_decode(completion, match.start())
        except ValueError:
            continue
        if isinstance(found, dict):
            return _canonical(found)
    return None


def _canonical(found):
    values = {{}}
    for name, kind in FIELDS:
        if name not in found:
            return None
        value = _coerce(found[name], kind)
        if value is None:
            return None
        values[name] = value
    return json.dumps(values, ensure_ascii=False)


def _coerce(value, kind):
    if kind == "number":
        if isinstance(value, bool):
            return None
        if isinstance(value, (int, float)) or isinstance(value, str) and _NUMBER.match(value):
            number = float(value)
            return int(number) if number.is_integer() else number
        return None
    if kind == "list":
        if isinstance(value, list):
            return [str(item) for item in value]
        return [part.strip() for part in str(value).split(",") if part.strip()]
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
'''


def _simple(key: PromptKey) -> bool:
    return all("{%" not in t and "{#" not in t and "{{" not in SIMPLE_FIELD.sub("", t)
               for t in (key.instruction, key.format))


def python_module(lock: dict) -> str:
    key = PromptKey.from_dict(lock["key"])
    low, high = lock["scores"]["test_ci"]
    source = HEADER.format(
        task=lock["task"], key_id=lock["key_id"], version=lock.get("version"),
        model=lock["model"], test=lock["scores"]["test"], low=low, high=high,
        examples=lock["scores"].get("test_examples"), style=key.style,
        instruction=key.instruction, format=key.format,
        labels=list(key.output.labels) if key.output.labels else None,
        verbalizer=list(key.output.verbalizer) if key.output.verbalizer else None,
        fields=[list(pair) for pair in key.output.fields] if key.output.fields else None,
        reasoning=key.reasoning.cue if key.reasoning else None,
        likelihood=key.output.likelihood,
        marker=reasoning.MARKER, marker_pattern=reasoning.MARKER_LINE.pattern, stop=key.stop,
        max_tokens=_max_tokens(key, lock))
    source += FILL_SIMPLE if _simple(key) else FILL_JINJA
    if key.retrieval is None:
        demos = [[templates.render(key.format, demo.inputs), key.demo_answer(demo)]
                 for demo in key.demos]
        source += FIXED_DEMOS.format(demos=json.dumps(demos, ensure_ascii=False))
    else:
        pool = [{"inputs": d.inputs, "output": d.output} for d in key.retrieval.pool]
        source += RETRIEVED_DEMOS.format(pool=json.dumps(pool, ensure_ascii=False),
                                         k=key.retrieval.k)
    return source + FUNCTIONS.replace("{{", "{").replace("}}", "}")


def _max_tokens(key: PromptKey, lock: dict) -> int:
    return key.answer_tokens(int(lock.get("max_tokens") or 48))


def json_lock(lock: dict) -> str:
    return json.dumps(lock, indent=2, ensure_ascii=False) + "\n"
