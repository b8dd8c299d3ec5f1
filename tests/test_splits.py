"""The dev split: `random` by default, `unseen` when real inputs hold items train never shows."""

import random

import pytest

from promptsearch.task.config import load_task
from promptsearch.task.data import Example, load_dataset
from promptsearch.errors import InputError
from promptsearch.task.splits import input_words, split_dev
from conftest import REPO, write_jsonl, write_task

ANIMALS = ["cat", "dog", "horse", "mouse", "snail", "whale", "eagle", "shark", "otter", "tiger",
           "giraffe", "lobster", "bison", "falcon", "koala", "panda", "zebra", "walrus", "moose",
           "polar bear"]


def _pairs(count: int, seed: int, animals=tuple(ANIMALS)) -> list[Example]:
    rng = random.Random(seed)
    return [Example({"input": ", ".join(rng.sample(animals, 2))}, "x") for _ in range(count)]


def test_unseen_dev_inputs_share_no_word_with_the_pool():
    train = _pairs(3000, 1, animals=ANIMALS + [f"beast{i}" for i in range(80)])
    notes: list[str] = []
    pool, dev = split_dev(train, 30, seed=0, mode="unseen", notes=notes)
    pool_words = set().union(*(input_words(e) for e in pool))
    assert len(dev) == 30 and len(pool) > len(train) // 2
    assert all(not input_words(e) & pool_words for e in dev)
    assert not {e.id for e in dev} & {e.id for e in pool}
    assert not notes  # a large vocabulary: a fifth of its words give dev enough examples


def test_a_small_vocabulary_leaves_a_small_pool_with_a_note():
    notes: list[str] = []
    pool, dev = split_dev(_pairs(600, 1), 30, seed=0, mode="unseen", notes=notes)
    assert len(dev) == 30 and 0 < len(pool) < 300
    assert any(f"kept only {len(pool)} of 600" in note for note in notes)


def test_random_dev_shares_words_with_the_pool():
    """The failure `unseen` exists for: a random dev set's animals all sit in the pool too."""
    pool, dev = split_dev(_pairs(600, 1), 30, seed=0, mode="random", notes=[])
    pool_words = set().union(*(input_words(e) for e in pool))
    assert all(input_words(e) <= pool_words for e in dev)


def test_unseen_split_follows_the_seed():
    train = _pairs(600, 1)
    first = split_dev(train, 30, seed=3, mode="unseen", notes=[])
    again = split_dev(train, 30, seed=3, mode="unseen", notes=[])
    other = split_dev(train, 30, seed=4, mode="unseen", notes=[])
    assert first == again
    assert [e.id for e in first[1]] != [e.id for e in other[1]]


def test_too_few_unseen_examples_shrink_dev_with_a_note():
    notes: list[str] = []
    _, dev = split_dev(_pairs(120, 2), 100, seed=0, mode="unseen", notes=notes)
    assert 0 < len(dev) < 100
    assert any(f"dev_size reduced to {len(dev)}" in note for note in notes)


def _sentence_task(tmp_path, rows):
    write_jsonl(tmp_path / "train.jsonl", rows)
    write_jsonl(tmp_path / "test.jsonl", rows[:5])
    return load_task(write_task(tmp_path, "name: t\ndata: {train: train.jsonl, test: test.jsonl, "
                                          "dev_size: 10, dev_split: unseen}\n"))


def test_inputs_that_share_a_word_cannot_be_split_unseen(tmp_path):
    rows = [{"input": f"the film {i}", "output": "x"} for i in range(40)]
    task = _sentence_task(tmp_path, rows)
    with pytest.raises(InputError) as raised:
        load_dataset(task)
    message = str(raised.value)
    assert "data.dev_split" in message and "task.yaml" in message and "random" in message


def test_an_unknown_dev_split_is_a_config_error(tmp_path):
    path = write_task(tmp_path, "name: t\ndata: {train: a.jsonl, dev_split: grouped}\n")
    with pytest.raises(InputError) as raised:
        load_task(path)
    assert "dev_split" in str(raised.value)


def test_the_bundled_larger_animal_task_scores_on_unseen_animals():
    """Its test animals appear nowhere in train; with `unseen` dev is as far from the pool as
    test is, so the shift warning a random dev set raises is gone."""
    task = load_task(REPO / "benchmarks" / "tasks" / "larger_animal.yaml")
    assert task.config.data.dev_split == "unseen"
    data = task.config.data.model_copy(update={"dev_split": "random"})
    as_random = task.model_copy(update={"config": task.config.model_copy(update={"data": data})})

    def flagged(t) -> bool:
        return any("less like the train pool" in note for note in load_dataset(t).warnings)

    assert flagged(as_random) and not flagged(task)
    dataset = load_dataset(task)
    pool_words = set().union(*(input_words(e) for e in dataset.pool))
    assert len(dataset.dev) == 30 and all(not input_words(e) & pool_words for e in dataset.dev)
