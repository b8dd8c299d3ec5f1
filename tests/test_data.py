import json

import pandas as pd
import pytest

from promptsearch.task.config import load_task
from promptsearch.task.data import load_dataset
from promptsearch.errors import InputError
from conftest import write_jsonl, write_task


def _task(tmp_path, train="train.jsonl", test="test.jsonl", extra="", inputs="input"):
    return load_task(write_task(tmp_path, f"""\
name: t
data:
  train: {train}
  test: {test}
  input: {inputs}
  dev_size: 4
{extra}"""))


def _rows(count, offset=0, label=None):
    return [{"input": f"item {i}", "output": label or ("yes" if i % 2 else "no")}
            for i in range(offset, offset + count)]


def test_splits_are_disjoint_and_labels_inferred(tmp_path):
    write_jsonl(tmp_path / "train.jsonl", _rows(20))
    write_jsonl(tmp_path / "test.jsonl", _rows(6, offset=100))
    data = load_dataset(_task(tmp_path))
    assert len(data.dev) == 4 and len(data.pool) == 16 and len(data.test) == 6
    ids = [{ex.id for ex in part} for part in (data.pool, data.dev, data.test)]
    assert not (ids[0] & ids[1]) and not (ids[0] & ids[2]) and not (ids[1] & ids[2])
    assert set(data.labels) == {"yes", "no"}
    assert len(data.hash) == 16


def test_duplicates_and_leaks_are_dropped_with_warnings(tmp_path):
    rows = _rows(20)
    write_jsonl(tmp_path / "train.jsonl", rows + rows[:3])
    write_jsonl(tmp_path / "test.jsonl", rows[5:7] + _rows(3, offset=50))
    data = load_dataset(_task(tmp_path))
    assert any("3 duplicate rows" in w for w in data.warnings)
    assert any("2 train rows" in w for w in data.warnings)
    assert len(data.pool) + len(data.dev) == 18


@pytest.mark.parametrize("suffix", ["csv", "tsv", "json", "parquet"])
def test_every_file_type_and_multi_column_input(tmp_path, suffix):
    frame = pd.DataFrame({"a": [f"x{i}" for i in range(12)], "b": [str(i) for i in range(12)],
                          "output": [str(i * 2) for i in range(12)]})
    for split, part in (("train", frame[:9]), ("test", frame[9:])):
        path = tmp_path / f"{split}.{suffix}"
        if suffix == "parquet":
            part.to_parquet(path)
        elif suffix == "json":
            path.write_text(json.dumps(part.to_dict("records")))
        else:
            part.to_csv(path, sep="\t" if suffix == "tsv" else ",", index=False)
    data = load_dataset(_task(tmp_path, f"train.{suffix}", f"test.{suffix}", inputs="[a, b]"))
    assert data.test[0].inputs == {"a": "x9", "b": "9"} and data.test[0].target == "18"


def test_missing_column_names_the_field_and_columns(tmp_path):
    write_jsonl(tmp_path / "train.jsonl", [{"text": "a", "output": "b"}] * 3)
    write_jsonl(tmp_path / "test.jsonl", [{"text": "c", "output": "d"}])
    with pytest.raises(InputError) as caught:
        load_dataset(_task(tmp_path))
    assert "data.input" in str(caught.value) and "text" in str(caught.value)


def test_missing_and_empty_data_files(tmp_path):
    with pytest.raises(InputError, match="not found"):
        load_dataset(_task(tmp_path))
    (tmp_path / "train.jsonl").write_text("")
    write_jsonl(tmp_path / "test.jsonl", _rows(2))
    with pytest.raises(InputError, match="data.train"):
        load_dataset(_task(tmp_path))


def test_target_outside_declared_labels(tmp_path):
    write_jsonl(tmp_path / "train.jsonl", _rows(10))
    write_jsonl(tmp_path / "test.jsonl", _rows(2, offset=30, label="maybe"))
    with pytest.raises(InputError) as caught:
        load_dataset(_task(tmp_path, extra="prompt:\n  labels: ['yes', 'no']\n"))
    assert "prompt.labels" in str(caught.value) and "'maybe'" in str(caught.value)


def test_non_utf8_data_file(tmp_path):
    (tmp_path / "train.csv").write_bytes(b"input,output\ncaf\xe9,x\n")
    write_jsonl(tmp_path / "test.jsonl", _rows(2))
    with pytest.raises(InputError, match="UTF-8"):
        load_dataset(_task(tmp_path, train="train.csv"))


def test_without_test_file_a_test_set_is_held_out(tmp_path):
    write_jsonl(tmp_path / "train.jsonl", _rows(50))
    task = load_task(write_task(tmp_path, "name: t\ndata:\n  train: train.jsonl\n  dev_size: 5\n"))
    data = load_dataset(task)
    assert len(data.test) == 10 and len(data.pool) + len(data.dev) == 40


def _pairs(animals, count, seed):
    import random

    rng = random.Random(seed)
    rows = []
    for _ in range(count):
        a, b = rng.sample(animals, 2)
        rows.append({"input": f"{a}, {b}", "output": max(a, b)})
    return rows


@pytest.mark.parametrize("test_animals,warned", [("new", True), ("same", False)])
def test_a_test_set_unlike_the_train_pool_is_flagged(tmp_path, test_animals, warned):
    known = ["cat", "dog", "horse", "mouse", "snail", "whale", "eagle", "shark", "otter", "tiger"]
    unseen = ["giraffe", "lobster", "bison", "falcon", "koala", "panda", "zebra", "walrus"]
    write_jsonl(tmp_path / "train.jsonl", _pairs(known, 300, 1))
    write_jsonl(tmp_path / "test.jsonl",
                _pairs(unseen if test_animals == "new" else known, 60, 2))
    task = load_task(write_task(tmp_path, "name: t\ndata: {train: train.jsonl, "
                                          "test: test.jsonl, dev_size: 30}\n"))
    notes = [note for note in load_dataset(task).warnings if "less like the train pool" in note]
    assert bool(notes) == warned
    if warned:
        assert "retrieved demos" in notes[0]


def test_the_bundled_tasks_with_a_random_dev_split_are_not_flagged():
    """larger_animal's test set is unlike its train pool; tests/test_splits.py checks that its
    task file's `dev_split: unseen` answers that."""
    from conftest import REPO

    tasks = REPO / "benchmarks" / "tasks"
    flagged = {name: any("less like the train pool" in note for note in
                         load_dataset(load_task(tasks / f"{name}.yaml")).warnings)
               for name in ("sentiment", "singular_to_plural")}
    assert flagged == {"sentiment": False, "singular_to_plural": False}
