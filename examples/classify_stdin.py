"""Classify lines from stdin with the best prompt promptsearch found for a task.

    make demo                                    # searches the bundled sentiment task first
    printf 'a gripping, funny film\nthe plot drags\n' | python examples/classify_stdin.py

The app only imports the winner: `load_best` reads results/<task>/best.json (or `task@alias`
from the store, or a lock file path) and `predict` renders the key and asks its model.
"""

import argparse
import sys

from promptsearch import load_best


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prompt", default="sentiment",
                        help="task, task@alias, task@version or a best.json path")
    parser.add_argument("--results", default="results", help="folder of the lock files")
    args = parser.parse_args()
    best = load_best(args.prompt, results_dir=args.results)
    field = best.input_fields[0]  # the task's (first) input column
    for line in sys.stdin:
        text = line.strip()
        if text:
            answer = best.predict(**{field: text})
            print(f"{answer if answer is not None else '?'}\t{text}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
