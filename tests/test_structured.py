"""Structured targets: several target columns (or one of JSON objects) answered as one JSON
object, read back tolerantly, scored field by field, searched end to end, and the same in an
exported module."""

import json

import pytest
from conftest import write_jsonl, write_task

from promptsearch.api import load_best
from promptsearch.cli.main import main
from promptsearch.core.key import OutputSpec
from promptsearch.core.metrics import structured_metric
from promptsearch.errors import EXIT_BAD_INPUT, InputError
from promptsearch.export.python import python_module
from promptsearch.pipeline.prepare import prepare
from promptsearch.task.config import FieldMetrics, load_task

FIELDS = (("upper", "string"), ("length", "number"))
TASK = """\
name: shapes
data: {{train: data/train.jsonl, test: data/test.jsonl, target: {target}, dev_size: 10}}
model: fake/scripted
prompt: {{seeds: ["Describe the word."], style: completion}}
metric: {metric}
search: {{strategy: tpe, budget: {{lm_calls: 120}}, seed: 1}}
"""


def _words(folder, as_object: bool):
    words = [f"word{i}" for i in range(120)]
    rows = [{"input": w, **({"output": {"upper": w.upper(), "length": len(w)}} if as_object
                            else {"upper": w.upper(), "length": str(len(w))})} for w in words]
    write_jsonl(folder / "data" / "train.jsonl", rows[:100])
    write_jsonl(folder / "data" / "test.jsonl", rows[100:])


@pytest.fixture
def json_answers(fake_model, monkeypatch):
    """The scripted model, answering with the right JSON object once it has demos."""
    monkeypatch.setattr(fake_model, "rule", lambda text: json.dumps(
        {"upper": text.upper(), "length": len(text)}))
    return fake_model


@pytest.mark.parametrize("as_object", [False, True])
def test_target_columns_or_a_json_column_give_typed_fields(tmp_path, as_object):
    _words(tmp_path, as_object)
    target = "output" if as_object else "[upper, length]"
    task = load_task(write_task(tmp_path, TASK.format(target=target, metric="exact_match")))
    dataset = prepare(task, None).dataset
    assert dataset.fields == FIELDS and dataset.labels is None
    assert dataset.test[0].target == '{"upper": "WORD100", "length": 7}'


def test_replies_are_read_tolerantly_and_validated():
    spec = OutputSpec(fields=FIELDS + (("tags", "list"),))
    assert spec.parse('Here: ```json\n{"upper": "A", "length": "3", "tags": "x, y"}\n```') == \
        '{"upper": "A", "length": 3, "tags": ["x", "y"]}'
    assert spec.parse('{"upper": "A", "length": "three", "tags": []}') is None  # wrong type
    assert spec.parse('{"upper": "A"}') is None and spec.parse("no object at all") is None


def test_field_metrics_weights_and_what_is_refused():
    both = '{"upper": "WORD1", "length": 5}'
    truth = '{"upper": "WORD1", "length": 6}'
    plain = structured_metric("exact_match", FIELDS)
    assert plain.score(both, truth) == 0.5
    assert plain.field_scores(both, truth) == {"upper": 1.0, "length": 0.0}
    tolerant = structured_metric(FieldMetrics(fields={"length": "numeric:1"},
                                              weights={"upper": 3, "length": 1}), FIELDS)
    assert tolerant.score(both, truth) == 1.0 and "length: numeric:1" in tolerant.name
    weighted = structured_metric(FieldMetrics(weights={"upper": 3, "length": 1}), FIELDS)
    assert weighted.score(both, truth) == 0.75
    with pytest.raises(InputError, match="no target field"):
        structured_metric(FieldMetrics(fields={"colour": "exact_match"}), FIELDS)
    with pytest.raises(InputError, match="corpus metric"):
        structured_metric(FieldMetrics(fields={"upper": "chrf"}), FIELDS)


def test_a_structured_task_searched_end_to_end(tmp_path, json_answers, capsys):
    _words(tmp_path, as_object=False)
    task = write_task(tmp_path, TASK.format(
        target="[upper, length]", metric="{fields: {length: 'numeric:0'}}"))
    results = tmp_path / "results"
    assert main(["run", str(task), "--results", str(results)]) == 0
    out = capsys.readouterr().out
    header = next(line for line in out.splitlines() if "test [95% CI]" in line)
    assert "upper" in header and "length" in header  # a column per field, named by the field
    best = load_best("shapes", results)
    assert best.lock["scores"]["test"] == 1.0
    assert dict(best.key.output.fields) == dict(FIELDS)
    reply = json.dumps({"upper": "WORD7", "length": "5"})
    module: dict = {}
    exec(compile(python_module(best.lock), "shapes_prompt.py", "exec"), module)
    assert module["parse"](reply) == best.key.output.parse(reply) == \
        '{"upper": "WORD7", "length": 5}'
    assert best.predict(input="word7") == '{"upper": "WORD7", "length": 5}'
    assert main(["leaderboard", "--format", "csv", "--results", str(results)]) == 0
    assert "upper,length" in capsys.readouterr().out.splitlines()[0]


def test_field_metrics_without_a_structured_target_are_refused(upper_task, fake_model, capsys):
    text = upper_task.read_text().replace("search:\n", "metric: {fields: {a: exact_match}}\n"
                                                      "search:\n", 1)
    write_task(upper_task.parent, text)
    code = main(["validate", str(upper_task)])
    assert code == EXIT_BAD_INPUT
    assert "metrics by field need a structured target" in capsys.readouterr().err
