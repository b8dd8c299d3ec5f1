"""How the train file is split into the demo pool and the dev set the search scores on.

`random` (the default) draws dev at random from train: right when test inputs are like train's.
`unseen` keeps dev's words out of the pool, for tasks whose real inputs hold items the train file
never shows (new animals, new product names): a random dev set there shares its items with the
demo pool, so dev rewards keys that copy neighbours, above all retrieved demos, and overstates
the score on new items. The idea is a grouped split (scikit-learn's GroupShuffleSplit) with the
input's words as the groups: the words of train inputs are split at random, a share of them
reserved for dev; dev examples use only reserved words, pool examples none, and examples that
mix both are left out of either.
"""

from __future__ import annotations

import random
import re

WORD = re.compile(r"\w+")
RESERVED_SHARES = (0.2, 0.3, 0.4, 0.5)  # tried in turn until enough dev examples qualify


def split_dev(train: list, dev_size: int, seed: int, mode: str, notes: list[str]):
    """(pool, dev) from train; notes gets a line for anything the caller should be told."""
    if mode == "unseen":
        return _unseen_split(train, dev_size, seed, notes)
    return _random_split(train, dev_size, seed, notes)


def _random_split(train: list, dev_size: int, seed: int, notes: list[str]):
    shuffled = list(train)
    random.Random(f"dev-split:{seed}").shuffle(shuffled)
    if dev_size > len(shuffled) // 2:
        dev_size = max(1, len(shuffled) // 2)
        notes.append(f"train is small: dev_size reduced to {dev_size}")
    return shuffled[dev_size:], shuffled[:dev_size]


def input_words(example) -> frozenset[str]:
    return frozenset(word.lower() for value in example.inputs.values()
                     for word in WORD.findall(value))


def _unseen_split(train: list, dev_size: int, seed: int, notes: list[str]):
    rng = random.Random(f"dev-split-unseen:{seed}")
    words = {example.id: input_words(example) for example in train}
    vocabulary = sorted(set().union(*words.values())) if words else []
    rng.shuffle(vocabulary)
    for share in RESERVED_SHARES:
        reserved = set(vocabulary[: max(1, int(len(vocabulary) * share))])
        dev = [e for e in train if words[e.id] and words[e.id] <= reserved]
        pool = [e for e in train if not words[e.id] & reserved]
        if len(dev) >= dev_size and len(pool) >= dev_size:
            break
    if not dev or not pool:
        raise ValueError(f"no split of the train inputs' words leaves both a dev set and a demo "
                         f"pool ({len(dev)} dev, {len(pool)} pool examples): the inputs share "
                         f"too many words")
    rng.shuffle(dev)
    if len(dev) < dev_size:
        notes.append(f"dev_split unseen: only {len(dev)} train examples use no word of the demo "
                     f"pool: dev_size reduced to {len(dev)}")
    if len(pool) < len(train) // 2:
        notes.append(f"dev_split unseen kept only {len(pool)} of {len(train)} train examples "
                     f"in the demo pool: the inputs share many words (data.dev_split: random "
                     f"keeps them all)")
    return pool, dev[:dev_size]
