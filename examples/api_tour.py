"""The promptsearch API without a notebook: search a bundled task on the embedded model with a
small budget, compare the winner with the seed prompt, and use it.

    python examples/api_tour.py [LM_CALLS]     # default 300 calls: about a minute on 2 cores
"""

import sys
from pathlib import Path

from promptsearch import evaluate, load_best, run
from promptsearch.api import open_store
from promptsearch.task.config import load_task
from promptsearch.core.key import PromptKey

TASK = Path(__file__).resolve().parent.parent / "benchmarks" / "tasks" / "singular_to_plural.yaml"
RESULTS = Path("results") / "api_tour"


def with_budget(lm_calls: int):
    """The task file, with its LM-call budget replaced (tasks are frozen: copy, don't edit)."""
    task = load_task(TASK)
    search = task.config.search
    budget = search.budget.model_copy(update={"lm_calls": lm_calls})
    config = task.config.model_copy(update={"search": search.model_copy(update={"budget": budget})})
    return task.model_copy(update={"config": config})


def main(lm_calls: int) -> None:
    store = open_store(RESULTS)  # SQLite under RESULTS; pass storage="postgresql://..." to share
    task = with_budget(lm_calls)
    result = run(task, store=store, results_dir=RESULTS)
    print(f"run {result.run_id}: stopped by {result.stopped}; "
          f"test {result.lock['scores']['test']:.2f} (seed prompt: "
          f"{result.lock['baseline']['scores']['test']:.2f})")

    best = load_best("singular_to_plural", results_dir=RESULTS)
    print("the prompt for 'mouse':\n" + best.render(input="mouse"))
    print("answer:", best.predict(input="mouse"))

    # Score any key on the task's test set without searching, e.g. an edited winner.
    edited = best.key.with_(instruction="Write the plural form of the noun.")
    seed = PromptKey.from_dict(result.lock["baseline"]["key"])
    for name, score in zip(("winner", "edited", "seed"),
                           evaluate(task, [best.key, edited, seed], store=store,
                                    results_dir=RESULTS)):
        print(f"{name:>7}: test {score.score:.2f} on {score.examples} examples")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 300)
