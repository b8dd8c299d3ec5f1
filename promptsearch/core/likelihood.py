"""Label answers read from likelihoods: each label word is scored as a continuation of the
prompt (every token counted), and the answer is the most likely label. The log-probabilities
come back as a JSON list aligned with the labels; normalised over the label set, they give each
label's probability, so an answer is never unparseable and the correct label's probability is a
graded score."""

from __future__ import annotations

import json
from typing import Optional, Sequence

from scipy.special import softmax


def probabilities(completion: str, labels: Sequence[str]) -> Optional[dict[str, float]]:
    """{label: probability over the label set}, or None if the text holds no such scores."""
    try:
        logprobs = json.loads(completion)
    except ValueError:
        return None
    if not isinstance(logprobs, list) or len(logprobs) != len(labels):
        return None
    return dict(zip(labels, (float(p) for p in softmax(logprobs))))


def most_likely(completion: str, labels: Sequence[str]) -> Optional[str]:
    found = probabilities(completion, labels)
    return None if found is None else max(found, key=found.get)
