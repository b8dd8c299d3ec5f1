"""`export`: the python module renders exactly as promptsearch; the json and dspy states load."""

import importlib.util
import json

import pytest

from promptsearch import load_best, run
from promptsearch.api import open_store
from promptsearch.cli.main import main
from promptsearch.export.python import python_module
from promptsearch.core.key import Demo, OutputSpec, PromptKey
from promptsearch.core.retrieval import Retrieval


def _module(source: str, tmp_path, name="exported_prompt"):
    path = tmp_path / f"{name}.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _lock(key: PromptKey) -> dict:
    return {"task": "t", "key_id": key.id, "model": "m", "key": key.to_dict(), "max_tokens": 20,
            "scores": {"test": 0.5, "test_ci": [0.4, 0.6], "test_examples": 20}}


WORDS = [f"word{i} and more" for i in range(20)]
DEMOS = tuple(Demo({"input": f"w{i}"}, "positive" if i % 2 else "negative") for i in range(4))
KEYS = {
    "plain": PromptKey("Classify {{ input }}.", DEMOS, "Review: {{ input }}\nSentiment:",
                       OutputSpec(("positive", "negative"), ("good", "bad"))),
    "chat": PromptKey("Be brief.", DEMOS, "Q: {{ input }}", style="chat"),
    "jinja": PromptKey("", DEMOS, "Text: {{ input | upper }}\n", OutputSpec()),
    "retrieved": PromptKey("Answer.", (), "Input: {{ input }}\nOutput:",
                           retrieval=Retrieval(tuple(Demo({"input": f"word{i} x"}, f"W{i}")
                                                     for i in range(30)), 3)),
}


@pytest.mark.parametrize("kind", sorted(KEYS))
def test_python_export_renders_character_for_character(kind, tmp_path):
    key = KEYS[kind]
    module = _module(python_module(_lock(key)), tmp_path, f"exported_{kind}")
    for word in WORDS:
        assert module.render(input=word) == key.render(input=word)
        assert module.messages(input=word) == key.messages(input=word)
    for completion in (" good\n", " Bad.", "maybe", " WORD3", ""):
        assert module.parse(completion) == key.output.parse(completion)
    assert module.STOP == key.stop


def test_python_export_needs_no_promptsearch(tmp_path):
    source = python_module(_lock(KEYS["plain"]))
    assert "promptsearch" not in source.replace("exported by promptsearch", "").replace(
        "needs no promptsearch", "").replace("re-export it after a new search", "") \
        .replace("as promptsearch retrieved", "")
    assert "import jinja2" not in source and "from jinja2" not in source  # simple placeholders


def test_export_cli_writes_json_python_and_dspy(upper_task, fake_model, tmp_path):
    results = tmp_path / "results"
    run(upper_task, store=open_store(results), results_dir=results)
    best = load_best("upper", results)
    for fmt, name in (("json", "a.json"), ("python", "a_prompt.py"), ("dspy", "a_dspy.json")):
        assert main(["export", "upper", "--format", fmt, "--out", str(tmp_path / name),
                     "--results", str(results)]) == 0
    assert json.loads((tmp_path / "a.json").read_text())["key_id"] == best.key.id
    module = _module((tmp_path / "a_prompt.py").read_text(), tmp_path, "a_prompt")
    assert all(module.render(input=w) == best.render(input=w) for w in WORDS)
    from promptsearch.export.dspy import KeyProgram

    program = KeyProgram()
    program.load(str(tmp_path / "a_dspy.json"))
    assert program.key == best.key and program.target == "output"
