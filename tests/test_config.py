from pathlib import Path

import pytest

from promptsearch.task.config import load_task
from promptsearch.errors import InputError
from conftest import write_task

GOOD = """\
name: demo
data:
  train: train.jsonl
  dev_size: 5
prompt:
  seeds: ["Do it."]
search:
  strategy: random
  budget: {lm_calls: 50}
"""


def test_valid_task_loads_with_defaults_and_resolves_paths(tmp_path):
    task = load_task(write_task(tmp_path, GOOD))
    assert task.name == "demo"
    assert task.config.model == "local/gemma-3-270m"
    assert task.config.search.budget.lm_calls == 50
    assert task.config.search.budget.minutes == 20
    assert task.path("train.jsonl") == (tmp_path / "train.jsonl").resolve()
    assert task.proposer == "local/gemma-3-270m"


def _error(tmp_path: Path, text: str) -> InputError:
    with pytest.raises(InputError) as caught:
        load_task(write_task(tmp_path, text))
    assert caught.value.exit_code == 2
    assert "\n" not in str(caught.value)
    return caught.value


def test_unknown_key_names_line_field_and_allowed_keys(tmp_path):
    error = _error(tmp_path, GOOD.replace("  dev_size: 5", "  dev_size: 5\n  devsize: 3"))
    message = str(error)
    assert "task.yaml:5" in message and "data.devsize" in message and "unknown key" in message
    assert "dev_size" in message  # the fix lists what is allowed


def test_wrong_type_is_reported_with_its_line(tmp_path):
    error = _error(tmp_path, GOOD.replace("lm_calls: 50", "lm_calls: many"))
    assert "task.yaml:9" in str(error) and "search.budget.lm_calls" in str(error)


def test_missing_required_key(tmp_path):
    error = _error(tmp_path, GOOD.replace("name: demo\n", ""))
    assert "name" in str(error) and "add 'name:'" in str(error)


def test_malformed_model_string(tmp_path):
    error = _error(tmp_path, GOOD + "model: 'not a model'\n")
    assert "model" in str(error) and "provider/model" in str(error)


def test_unknown_strategy(tmp_path):
    error = _error(tmp_path, GOOD.replace("strategy: random", "strategy: magic"))
    assert "search.strategy" in str(error) and "tpe" in str(error)


def test_yaml_aliases_are_refused(tmp_path):
    bomb = 'a: &a ["x","x"]\nb: &b [*a,*a]\nc: &c [*b,*b]\nname: demo\n'
    error = _error(tmp_path, bomb)
    assert "aliases" in str(error)


def test_missing_and_empty_and_non_utf8_files(tmp_path):
    with pytest.raises(InputError, match="not found"):
        load_task(tmp_path / "nope.yaml")
    assert "empty" in str(_error(tmp_path, ""))
    bad = tmp_path / "bad.yaml"
    bad.write_bytes(b"name: caf\xe9\n")
    with pytest.raises(InputError, match="UTF-8"):
        load_task(bad)


def test_invalid_yaml_syntax_names_line(tmp_path):
    message = str(_error(tmp_path, "name: x\ndata: [unclosed\n"))
    assert "task.yaml:3" in message and "invalid YAML" in message


def test_yaml_booleans_as_labels_ask_for_quotes(tmp_path):
    error = _error(tmp_path, GOOD.replace('["Do it."]', '["Do it."]\n  labels: [yes, no]'))
    assert "prompt.labels" in str(error) and "quote" in str(error)


def test_max_demos_out_of_range_names_the_field(tmp_path):
    error = _error(tmp_path, GOOD.replace("strategy: random", "strategy: random\n  max_demos: 100"))
    assert "search.max_demos" in str(error) and "64" in str(error)
