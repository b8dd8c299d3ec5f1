"""A check for a test set unlike the examples the search scores on.

Dev (and confirmation) examples come from the train file, as the demo pool does. When the test
file was drawn elsewhere and its inputs are much less like the pool's (new entities, another
domain), dev scores overstate test scores, keys with retrieved demos most of all: their
neighbours help on familiar inputs only. Bundled example: larger_animal, whose 24 test animals
appear nowhere in train. The check compares how close dev and test inputs are, on average, to
their nearest pool input (the TF-IDF retrieval uses); it calls no model.
"""

from __future__ import annotations

import random
from typing import Optional

from promptsearch.core.retrieval import input_text, text_vectorizer

SAMPLE = 500  # examples per split at most: the gap is an average, a sample estimates it well
GAP = 0.15    # mean nearest-neighbour similarity dev minus test that is worth a warning


def nearest_similarity(pool, dev, test, seed: int = 0) -> tuple[float, float]:
    """Mean cosine similarity of dev inputs and of test inputs to their nearest pool input."""
    import numpy as np

    rng = random.Random(f"shift:{seed}")
    pool, dev, test = (_sample(split, rng) for split in (pool, dev, test))
    vectorizer = text_vectorizer()
    matrix = vectorizer.fit_transform([input_text(e.inputs) for e in pool])

    def mean_nearest(examples) -> float:
        queries = vectorizer.transform([input_text(e.inputs) for e in examples])
        return float(np.mean((queries @ matrix.T).toarray().max(axis=1)))

    return mean_nearest(dev), mean_nearest(test)


def shift_note(pool, dev, test, seed: int = 0) -> Optional[str]:
    """A warning when test inputs are much less like the pool than dev inputs are, else None."""
    if not pool or not dev or not test:
        return None
    dev_similarity, test_similarity = nearest_similarity(pool, dev, test, seed)
    if dev_similarity - test_similarity < GAP:
        return None
    return (f"test inputs are less like the train pool than dev inputs are (mean similarity "
            f"to the nearest train input {test_similarity:.2f} vs {dev_similarity:.2f}): dev "
            f"scores will overstate test scores, most for keys with retrieved demos; if test "
            f"inputs hold items train never shows, set data.dev_split: unseen")


def _sample(examples, rng: random.Random) -> list:
    examples = list(examples)
    return examples if len(examples) <= SAMPLE else rng.sample(examples, SAMPLE)
