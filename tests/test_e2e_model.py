"""End to end on the real embedded model (gemma-3-270m on llama.cpp), tiny budgets."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from promptsearch import load_best, run
from promptsearch.api import open_store
from promptsearch.lm.client import LM, LOCAL_MODELS
from conftest import DATA, write_task

pytestmark = pytest.mark.model

TASK = """\
name: letters
data:
  train: {data}/train.jsonl
  test: {data}/test.jsonl
  dev_size: 6
  test_size: 12
prompt:
  seeds: ["Write the first letter of the word."]
search:
  strategy: tpe
  budget: {{lm_calls: 40}}
  seed: 0
"""


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "COLUMNS": "160"}
    return subprocess.run([sys.executable, "-m", "promptsearch.cli", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=900)


@pytest.fixture(scope="module")
def searched(tmp_path_factory):
    """One real search, shared by the tests below: (work dir, first run's lock, its output)."""
    work = tmp_path_factory.mktemp("e2e")
    write_task(work, TASK.format(data=DATA / "first_word_letter"))
    done = _cli("run", "task.yaml", cwd=work)
    assert done.returncode == 0, done.stderr[-2000:]
    lock = json.loads((work / "results" / "letters" / "best.json").read_text())
    return work, lock, done.stdout


def test_cli_run_prints_the_leaderboard_and_writes_the_lock(searched):
    work, lock, stdout = searched
    assert "letters" in stdout and "test [95% CI]" in stdout and lock["key_id"] in stdout
    assert lock["model"] == "local/gemma-3-270m"
    assert lock["spent"]["lm_calls"] <= 40 and lock["spent"]["model_calls"] > 0
    assert lock["scores"]["test_examples"] == 12
    assert (work / "results" / "promptsearch.db").exists()
    assert (work / "results" / "leaderboard.md").read_text().count("letters") == 1


def test_load_best_predicts_with_the_real_model(searched):
    work, lock, _ = searched
    best = load_best(work / "results" / "letters" / "best.json")
    prompt = best.render(input="banana")
    assert prompt.endswith(best.key.format.replace("{{ input }}", "banana"))
    answer = best.predict(input="banana")
    assert answer is None or (isinstance(answer, str) and answer.strip() != "")


def test_second_run_is_served_from_the_cache(searched):
    work, lock, _ = searched
    again = _cli("run", "task.yaml", "--quiet", cwd=work)
    assert again.returncode == 0, again.stderr[-2000:]
    said = " ".join(again.stdout.split())
    assert "is not a new version; version 1" in said  # the same winner: no new version
    assert "Δ +0.000 over version 1" in said and "not significant" in said
    runs = open_store(work / "results").list_runs("letters")
    second = runs[-1]
    assert second["id"] != lock["run_id"] and second["result"]["winner"] == lock["key_id"]
    assert second["spent"]["model_calls"] == 0
    assert second["spent"]["lm_calls"] == lock["spent"]["lm_calls"]
    assert json.loads((work / "results" / "letters" / "best.json").read_text()) == lock


def test_bad_input_gives_one_line_and_exit_code_2(searched, tmp_path):
    work, _, _ = searched
    broken = write_task(tmp_path, TASK.format(data=DATA / "first_word_letter")
                        .replace("dev_size: 6", "dev_size: 6\n  devsize: 2"))
    done = _cli("run", str(broken), cwd=tmp_path)
    assert done.returncode == 2
    assert "data.devsize" in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "results").exists()


def test_a_gguf_path_names_the_same_model():
    path, digest = LOCAL_MODELS.resolve("gemma-3-270m")
    assert LM(f"local/{path}").identity() == f"sha256:{digest}"
    reply = LM(f"local/{path}").complete(prompt="Input: cat\nOutput: c\n\nInput: dog\nOutput:",
                                         max_tokens=4, stop=["\n"])
    assert reply.error is None and reply.completion_tokens >= 1


def test_ctrl_c_stops_cleanly_and_keeps_what_was_found(tmp_path):
    import signal
    import sqlite3
    import time

    write_task(tmp_path, TASK.format(data=DATA / "first_word_letter")
               .replace("lm_calls: 40", "lm_calls: 2000").replace("seed: 0", "seed: 5"))
    env = {**os.environ, "COLUMNS": "160"}
    # The child gets the default SIGINT disposition whatever the test runner's is (an ignored
    # SIGINT would be inherited, and Python would then never raise KeyboardInterrupt).
    process = subprocess.Popen([sys.executable, "-m", "promptsearch.cli", "run", "task.yaml"],
                               cwd=tmp_path, env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True,
                               preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    database = tmp_path / "results" / "promptsearch.db"
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline and _candidates(database) < 4 and process.poll() is None:
        time.sleep(0.5)
    assert process.poll() is None, f"the run ended before Ctrl-C; saw {_candidates(database)} " \
                                   f"candidates in {database}"
    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=600)
    assert process.returncode == 0, stderr[-2000:]
    assert "interrupted" in stdout
    lock = json.loads((tmp_path / "results" / "letters" / "best.json").read_text())
    assert lock["spent"]["lm_calls"] < 2000
    with sqlite3.connect(database) as db:
        status = db.execute("select status from ps_runs").fetchone()[0]
        kept = db.execute("select count(*) from ps_candidates").fetchone()[0]
    assert status == "interrupted" and kept >= 4


def _candidates(database: Path) -> int:
    import sqlite3

    if not database.exists():
        return 0
    try:
        with sqlite3.connect(database) as db:
            return db.execute("select count(*) from ps_candidates").fetchone()[0]
    except sqlite3.OperationalError:  # tables not created yet
        return 0


def test_dspy_reaches_the_embedded_model_through_litellm():
    import dspy

    from promptsearch.lm import enable_local_models

    enable_local_models()
    lm = dspy.LM("local/gemma-3-270m", max_tokens=4, temperature=0.0, cache=False)
    outputs = lm("Input: cat\nOutput: c\n\nInput: dog\nOutput:")
    assert isinstance(outputs, list) and len(outputs) == 1 and isinstance(outputs[0], str)


# One real-model smoke run per strategy family (the fake-model contract tests in
# test_strategies.py check every strategy's budget, keys and reproducibility): optuna's TPE,
# random draws, the LLM-driven proposers, DSPy's optimizers, and the auto portfolio.
STRATEGY_FAMILIES = ("tpe", "random", "opro", "dspy-mipro", "auto")


@pytest.mark.parametrize("strategy", STRATEGY_FAMILIES)
def test_each_strategy_family_runs_on_the_real_model(strategy, tmp_path):
    """A smoke run per strategy family on gemma-3-270m (task model and proposer), tiny budget."""
    write_task(tmp_path, TASK.format(data=DATA / "first_word_letter")
               .replace("strategy: tpe", f"strategy: {strategy}")
               .replace("lm_calls: 40", "lm_calls: 30").replace("dev_size: 6", "dev_size: 4")
               .replace("test_size: 12", "test_size: 6"))
    store = open_store(storage=f"sqlite:///{tmp_path / 'store.db'}")
    result = run(tmp_path / "task.yaml", store=store, results_dir=tmp_path / "results")
    spent = result.lock["spent"]
    assert 0 < spent["lm_calls"] <= 30
    assert store.list_candidates(result.run_id), "no candidate was scored"
    assert 0.0 <= result.lock["scores"]["test"] <= 1.0
    if strategy == "opro":
        assert spent["proposer_calls"] > 0
    if strategy.startswith("dspy"):
        assert spent["framework_calls"] > 0


def test_python_and_dspy_exports_predict_as_the_winner(searched, tmp_path):
    """On 20 test inputs, the exported module's prompt through the model and the DSPy program
    give the winner's own predictions."""
    import importlib.util

    import dspy

    from promptsearch.export.python import python_module
    from promptsearch.export.dspy import KeyProgram

    work, lock, _ = searched
    best = load_best(work / "results" / "letters" / "best.json")
    path = tmp_path / "letters_prompt.py"
    path.write_text(python_module(best.lock))
    spec = importlib.util.spec_from_file_location("letters_prompt", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    best.to_dspy().save(str(tmp_path / "letters_dspy.json"))
    program = KeyProgram()
    program.load(str(tmp_path / "letters_dspy.json"))
    lm = LM(best.model)
    rows = [json.loads(line) for line in
            (DATA / "first_word_letter" / "test.jsonl").read_text().splitlines()[:20]]
    inputs = [row["input"] for row in rows]
    # One pass per path, each over the 20 inputs in a row as the evaluator calls the model: the
    # same prompt twice in a row can come back different from llama.cpp's prefix cache.
    expected = [best.predict(lm=lm, input=text) for text in inputs]
    assert [module.render(input=text) for text in inputs] == [best.render(input=text)
                                                              for text in inputs]
    exported = [module.parse(lm.complete(prompt=module.render(input=text),
                                         max_tokens=module.MAX_TOKENS, stop=module.STOP).text)
                for text in inputs]
    with dspy.context(lm=dspy.LM(best.model, cache=False)):
        from_dspy = [program(input=text).output for text in inputs]
    assert exported == expected and from_dspy == expected


def test_the_api_tour_example_runs_on_the_real_model(tmp_path):
    done = subprocess.run([sys.executable, str(Path(__file__).parent.parent / "examples" /
                                               "api_tour.py"), "40"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "the prompt for 'mouse'" in done.stdout and "winner: test" in done.stdout
