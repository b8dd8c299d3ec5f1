"""Property-based tests (hypothesis): config loading never fails with anything but a one-line
InputError; output parsing never raises and only answers with a label; example values are data,
never template code."""

import tempfile
from pathlib import Path

import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from promptsearch.task.config import load_task
from promptsearch.errors import InputError
from promptsearch.core.key import OutputSpec, PromptKey

KNOWN = ["name", "data", "model", "prompt", "metric", "search", "lm", "train", "input",
         "target", "seeds", "labels", "strategy", "budget", "lm_calls", "dev_size", "format",
         "style", "seed", "racing", "api_base", "timeout", "retries", "typo"]
scalars = st.one_of(st.none(), st.booleans(), st.integers(-10, 10 ** 6), st.floats(allow_nan=False),
                    st.text(max_size=20))
values = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.sampled_from(KNOWN), inner, max_size=4)),
    max_leaves=12)
documents = st.dictionaries(st.sampled_from(KNOWN), values, max_size=6)


@settings(max_examples=150, deadline=None)
@given(document=documents)
def test_any_task_file_loads_or_fails_with_one_line_naming_the_file(document):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "task.yaml"
        path.write_text(yaml.safe_dump(document))
        (Path(folder) / "train.jsonl").write_text('{"input": "a", "output": "b"}\n')
        try:
            load_task(path)
        except InputError as exc:
            message = str(exc)
            assert str(path) in message and "\n" not in message


@given(completion=st.text(max_size=60),
       labels=st.lists(st.text("abcdefgh", min_size=1, max_size=6), min_size=2, max_size=4,
                       unique=True))
def test_parsing_any_completion_gives_a_label_or_none(completion, labels):
    answer = OutputSpec(tuple(labels)).parse(completion)
    assert answer is None or answer in labels


@given(completion=st.text(max_size=60))
def test_a_generation_answer_is_the_first_non_empty_line(completion):
    answer = OutputSpec().parse(completion)
    lines = [line.strip() for line in completion.splitlines() if line.strip()]
    assert answer == (lines[0] if lines else None)


@given(value=st.text(max_size=40) | st.sampled_from(
    ["{{ 7*7 }}", "{% for x in range(3) %}x{% endfor %}", "{{ input.__class__ }}", "{#"]))
def test_example_values_are_inserted_verbatim_never_evaluated(value):
    key = PromptKey("Answer.", (), "Q: {{ input }}\nA:", OutputSpec(), "completion")
    assert key.render(input=value).endswith(f"Q: {value}\nA:")
