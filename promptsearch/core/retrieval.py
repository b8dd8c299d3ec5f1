"""Retrieved demos: per input, the k most similar examples of a stored pool (TF-IDF cosine).

A key with retrieval carries its pool inline, so an app that loads the key retrieves exactly as
the search did, with no dataset at hand.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property


@dataclass(frozen=True)
class Retrieval:
    pool: tuple  # of key.Demo
    k: int

    @cached_property
    def _index(self):
        vectorizer = text_vectorizer()
        matrix = vectorizer.fit_transform([input_text(demo.inputs) for demo in self.pool])
        return vectorizer, matrix

    def select(self, inputs: dict[str, str]) -> tuple:
        """The k nearest demos, the nearest last (closest to the query in the prompt)."""
        if self.k <= 0 or not self.pool:
            return ()
        vectorizer, matrix = self._index
        similarity = (matrix @ vectorizer.transform([input_text(inputs)]).T).toarray().ravel()
        query = input_text(inputs)
        ranked = sorted(range(len(self.pool)), key=lambda i: (-similarity[i], i))
        chosen = [i for i in ranked if input_text(self.pool[i].inputs) != query][: self.k]
        return tuple(self.pool[i] for i in reversed(chosen))

    def to_dict(self) -> dict:
        return {"k": self.k, "pool": [{"inputs": d.inputs, "output": d.output} for d in self.pool]}


def text_vectorizer():
    """TF-IDF over character n-grams: they work for single words (plurals, letters) as well
    as for sentences."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    return TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 4), sublinear_tf=True)


def input_text(inputs: dict[str, str]) -> str:
    return " \n ".join(str(value) for value in inputs.values())
