"""Make the generated multi-step arithmetic task: "a + b - c" -> its value, with a and b of two
digits and c below their sum (so the answer is never negative). Two steps, each easy, together
hard for a small model that answers at once: the task the reasoning benchmark needs.

    python -m benchmarks.make_multistep

Writes benchmarks/data/multistep/{train,test}.jsonl (500 and 100 examples, drawn with a fixed
seed, no expression in both), so the committed files can be made again byte for byte.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

OUT = Path(__file__).parent / "data" / "multistep"
SEED = 20261204
TRAIN, TEST = 500, 100


def examples(count: int, rng: random.Random) -> list[dict]:
    seen: set[str] = set()
    rows = []
    while len(rows) < count:
        a, b = rng.randint(10, 99), rng.randint(10, 99)
        c = rng.randint(1, a + b - 1)
        text = f"{a} + {b} - {c}"
        if text not in seen:
            seen.add(text)
            rows.append({"input": text, "output": str(a + b - c)})
    return rows


def main() -> None:
    rows = examples(TRAIN + TEST, random.Random(SEED))
    OUT.mkdir(parents=True, exist_ok=True)
    for name, part in (("train", rows[:TRAIN]), ("test", rows[TRAIN:])):
        lines = "".join(json.dumps(row) + "\n" for row in part)
        (OUT / f"{name}.jsonl").write_text(lines, encoding="utf-8")
    print(f"wrote {TRAIN} + {TEST} examples to {OUT}")


if __name__ == "__main__":
    main()
