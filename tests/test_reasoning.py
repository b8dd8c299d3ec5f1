"""Reasoning as a searched component: a key may ask for reasoning before an `Answer:` line; the
answer is read after the marker by the search, load_best(...).predict and the exported module
alike, and reasoning keys call with their own token budget."""

import json
import re

import pytest
from conftest import PROPOSER_MARKERS, REPO, write_jsonl, write_task

from promptsearch.api import load_best, open_store
from promptsearch.cli.main import main
from promptsearch.core.key import Demo, OutputSpec, PromptKey
from promptsearch.core.reasoning import CUES, Reasoning, extract_answer
from promptsearch.export.python import python_module
from promptsearch.pipeline.prepare import prepare, run_id_prefix
from promptsearch.search.strategies.tpe import TPEStrategy
from promptsearch.task.config import load_task

THINK = Reasoning(CUES[0], max_tokens=200)
SENTIMENT_RUN_ID = "sentiment-eee17a55b7"


@pytest.mark.parametrize("completion, answer", [
    (" 3 + 4 = 7, and 7 - 2 = 5.\nAnswer: 5\nInput: 1 2 3\nOutput: Answer: 0", "5"),
    ("Step one.\n**Answer:** positive", "positive"),
    ("answer: 12", "12"),
    ("We add them.\nSo the sum is\n9", "9"),  # no marker: the last line
    ("   \n", ""),
])
def test_the_answer_is_read_after_the_first_marker_line(completion, answer):
    assert extract_answer(completion) == answer


def test_a_reasoning_key_asks_for_it_and_shows_demos_answering_after_the_marker():
    demo = Demo({"input": "great"}, "positive")
    key = PromptKey("Classify.", (demo,), "Input: {{ input }}\nSentiment:",
                    OutputSpec(("positive", "negative")), reasoning=THINK)
    assert key.render(input="dull") == (f"Classify.\n\n{CUES[0]}\n\nInput: great\n"
                                        "Sentiment: Answer: positive\n\nInput: dull\nSentiment:")
    assert key.stop == ["\nInput:"]  # not at a blank line: reasoning comes in paragraphs
    assert key.answer_tokens(8) == 200  # label keys are otherwise clamped to a word or two
    assert key.read("It is dull, so\nAnswer: Negative.") == "negative"
    assert key.read("negative") == "negative"
    chat = key.with_(style="chat").messages(input="dull")
    assert chat[0] == {"role": "system", "content": f"Classify.\n\n{CUES[0]}"}
    assert chat[2]["content"] == "Answer: positive"


def test_keys_without_reasoning_keep_their_ids_and_reasoning_keys_round_trip():
    plain = PromptKey("Say it.", format="Q: {{ input }}\nA:")
    assert "reasoning" not in plain.to_dict() and plain.stop == ["\n"]
    thinking = plain.with_(reasoning=THINK)
    assert thinking.id != plain.id
    assert PromptKey.from_dict(json.loads(thinking.to_json())) == thinking
    assert thinking.with_(format="{{ input }} ->").stop == ["\n\n\n"]  # no label to stop at
    assert "+reasoning" in thinking.preview()


def test_a_structured_answer_may_follow_its_reasoning_over_several_lines():
    fields = (("score", "number"), ("verdict", "string"))
    key = PromptKey(output=OutputSpec(fields=fields), reasoning=THINK)
    assert key.read('Close in meaning.\nAnswer: {"score": 4, "verdict": "similar"}') == \
        '{"score": 4, "verdict": "similar"}'
    assert key.read('Answer:\n{"score": 4,\n "verdict": "similar"}') == \
        '{"score": 4, "verdict": "similar"}'


def _arithmetic_task(folder, reasoning: str = "true"):
    rows = [{"input": f"{a} + {b} - {c}", "output": str(a + b - c)}
            for a, b, c in ((n % 9 + 1, n % 7 + 2, n % 5) for n in range(60))]
    write_jsonl(folder / "data" / "train.jsonl", rows[:48])
    write_jsonl(folder / "data" / "test.jsonl", rows[48:])
    return write_task(folder, f"""\
name: steps
data: {{train: data/train.jsonl, test: data/test.jsonl, dev_size: 10}}
model: fake/scripted
prompt:
  seeds: ["Compute the result."]
  style: completion
search:
  strategy: tpe
  budget: {{lm_calls: 200}}
  seed: 1
  finalists: 2
  reasoning: {reasoning}
""")


def _solves_only_when_asked_to_think(prompt: str, proposer) -> str:
    """A model that gets multi-step sums right only when it works them out first (and then
    runs on into an example of its own, as completion models do), else adds the first two."""
    if any(marker in prompt for marker in PROPOSER_MARKERS):
        return proposer(prompt)
    a, b, c = map(int, re.findall(r"(\d+) \+ (\d+) - (\d+)", prompt)[-1])
    if not any(cue in prompt for cue in CUES):
        return f" {a + b}"
    return f" {a} + {b} = {a + b}; minus {c} is {a + b - c}.\nAnswer: {a + b - c}\nInput: 1 + 1 - 1"


def test_the_search_finds_that_reasoning_pays_and_apps_read_the_answer_alike(
        tmp_path, fake_model, monkeypatch):
    monkeypatch.setattr(fake_model, "reply",
                        lambda prompt: _solves_only_when_asked_to_think(prompt, fake_model.propose))
    task = _arithmetic_task(tmp_path)
    results = tmp_path / "results"
    assert main(["run", str(task), "--results", str(results), "--quiet"]) == 0
    best = load_best("steps", results)
    assert best.key.reasoning is not None and best.lock["scores"]["test"] == 1.0
    assert best.predict(input="5 + 4 - 3") == "6"
    namespace: dict = {}
    exec(python_module(best.lock), namespace)  # the exported module reads it the same way
    assert namespace["render"](input="5 + 4 - 3") == best.render(input="5 + 4 - 3")
    assert namespace["parse"](" 9 - 3 is 6.\nAnswer: 6\nInput: 2") == "6"
    assert namespace["MAX_TOKENS"] == best.key.answer_tokens(8) == 256
    store = open_store(results, read_only=True)
    run = store.list_runs("steps")[-1]
    seed = store.list_candidates(run["id"])[0]
    assert seed["dev_score"] < 0.5 and "reasoning" not in store.get_key(seed["key_id"])
    assert run["spent"]["errors"] == {}  # the scripted model answered every call


def test_reasoning_is_a_dimension_only_where_the_task_turns_it_on(tmp_path):
    on = load_task(_arithmetic_task(tmp_path))
    off = load_task(_arithmetic_task(tmp_path / "off", reasoning="false"))
    assert prepare(on, None).space.reasonings == (None, *(Reasoning(c) for c in CUES))
    assert prepare(off, None).space.reasonings == (None,)
    assert "reasoning" not in TPEStrategy.distributions(_strategy_stub(prepare(off, None)))
    assert "reasoning" in TPEStrategy.distributions(_strategy_stub(prepare(on, None)))


def test_tasks_that_leave_reasoning_off_keep_their_run_ids():
    """A stored run resumes only under its id: the option must not change other tasks' ids
    (this is the bundled sentiment task's id from before the option existed)."""
    prepared = prepare(load_task(REPO / "benchmarks" / "tasks" / "sentiment.yaml"), None)
    assert run_id_prefix(prepared.task, prepared.dataset.hash) == SENTIMENT_RUN_ID


def _strategy_stub(prepared):
    class Stub:
        instruction_count = len(prepared.space.instructions)
        context = type("Context", (), {"space": prepared.space})
    return Stub()
