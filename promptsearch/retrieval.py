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
        from sklearn.feature_extraction.text import TfidfVectorizer

        # Character n-grams work for single words (plurals, letters) as well as sentences.
        vectorizer = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 4), sublinear_tf=True)
        matrix = vectorizer.fit_transform([_text(demo.inputs) for demo in self.pool])
        return vectorizer, matrix

    def select(self, inputs: dict[str, str]) -> tuple:
        """The k nearest demos, the nearest last (closest to the query in the prompt)."""
        if self.k <= 0 or not self.pool:
            return ()
        vectorizer, matrix = self._index
        similarity = (matrix @ vectorizer.transform([_text(inputs)]).T).toarray().ravel()
        query = _text(inputs)
        ranked = sorted(range(len(self.pool)), key=lambda i: (-similarity[i], i))
        chosen = [i for i in ranked if _text(self.pool[i].inputs) != query][: self.k]
        return tuple(self.pool[i] for i in reversed(chosen))

    def to_dict(self) -> dict:
        return {"k": self.k, "pool": [{"inputs": d.inputs, "output": d.output} for d in self.pool]}


def _text(inputs: dict[str, str]) -> str:
    return " \n ".join(str(value) for value in inputs.values())
