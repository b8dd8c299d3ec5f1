"""The whole run through litellm with the scripted fake provider: search, lock file, rerun."""

import json

import pytest

from promptsearch import load_best, run
from promptsearch.api import open_store
from promptsearch.cli.main import main
from promptsearch.task.config import load_task
from conftest import write_jsonl, write_task


def test_run_writes_a_lock_file_whose_winner_beats_the_seed(upper_task, fake_model, tmp_path):
    results = tmp_path / "results"
    result = run(upper_task, results_dir=results)
    lock = json.loads((results / "upper" / "best.json").read_text())
    assert lock == result.lock
    assert lock["task"] == "upper" and lock["model"] == "fake/scripted"
    assert lock["scores"]["test"] == 1.0 and lock["baseline"]["scores"]["test"] == 0.0
    assert lock["scores"]["test_ci"][0] <= 1.0 <= lock["scores"]["test_ci"][1]
    assert lock["key"]["demos"] or lock["key"]["retrieval"]  # the scripted task needs demos
    spent = lock["spent"]
    assert 0 < spent["lm_calls"] <= 120 and spent["test_calls"] > 0
    assert spent["model_calls"] == fake_model.calls
    assert set(lock) >= {"task", "model", "key", "scores", "baseline", "spent", "strategy", "seed",
                         "dataset_hash", "created_at", "version"}
    assert "run" not in json.dumps(lock["key"])  # the key holds content only


def test_a_search_stops_at_the_first_key_perfect_on_dev(upper_task, fake_model, tmp_path):
    """Ties go to the earliest trial, so once a key answers all of dev right the budget left
    could buy only ties: the run stops there, says why, and that key wins."""
    upper_task.write_text(upper_task.read_text().replace("  stop_at_perfect_dev: false\n", ""))
    store = open_store(storage=f"sqlite:///{tmp_path / 'saturated.db'}")
    result = run(upper_task, store=store, results_dir=tmp_path / "results")
    assert result.stopped.startswith("dev saturated (trial ")
    assert "all 10 dev examples right; a larger data.dev_size" in result.stopped
    rows = store.list_candidates(result.run_id)
    perfect = [row["trial"] for row in rows if row["dev_score"] == 1.0]
    assert perfect == [max(row["trial"] for row in rows)]  # nothing was scored after it
    assert f"trial {perfect[0]} " in result.stopped
    assert result.lock["spent"]["lm_calls"] < 120 and result.lock["scores"]["dev"] == 1.0


def test_rerun_makes_no_model_call_and_finds_the_same_winner(upper_task, fake_model, tmp_path):
    results = tmp_path / "results"
    first = run(upper_task, results_dir=results)
    calls = fake_model.calls
    second = run(upper_task, results_dir=results)
    assert fake_model.calls == calls and second.lock["spent"]["model_calls"] == 0
    assert second.run_id != first.run_id
    assert second.lock["key"] == first.lock["key"]
    assert second.lock["spent"]["lm_calls"] == first.lock["spent"]["lm_calls"]


def test_finalists_sets_how_many_dev_leaders_are_scored_on_test(upper_task, fake_model,
                                                                 tmp_path):
    tested = {}
    for finalists in (3, 1):
        text = upper_task.read_text().replace("seed: 3", f"seed: 3\n  finalists: {finalists}")
        task = tmp_path / f"upper{finalists}.yaml"
        task.write_text(text)
        store = open_store(storage=f"sqlite:///{tmp_path / f'f{finalists}.db'}")
        tested[finalists] = run(task, store=store, results_dir=tmp_path / f"r{finalists}")
    full, lean = tested[3], tested[1]
    assert [row["baseline"] for row in full.finalists] == [False, False, False, True]
    assert [(row["winner"], row["baseline"]) for row in lean.finalists] == [(True, False),
                                                                           (False, True)]
    assert lean.lock["key"] == full.lock["key"] and lean.lock["scores"]["test"] == 1.0
    test_size = 20  # the seed and each leader answer every test example once
    assert full.lock["spent"]["test_calls"] == 4 * test_size
    assert lean.lock["spent"]["test_calls"] == 2 * test_size


def test_seed_baseline_is_scored_first(upper_task, fake_model, tmp_path):
    store = open_store(tmp_path / "results")
    result = run(upper_task, store=store, results_dir=tmp_path / "results")
    first = store.list_candidates(result.run_id)[0]
    assert first["origin"] == "seed" and first["trial"] == 0
    body = store.get_key(first["key_id"])
    assert body["instruction"] == "Write the word in capitals." and body["demos"] == []


def test_load_best_renders_and_predicts(upper_task, fake_model, tmp_path):
    run(upper_task, results_dir=tmp_path / "results")
    best = load_best("upper", results_dir=tmp_path / "results")
    assert best.render(input="cat").endswith("cat\n" + best.render(input="cat").rsplit("\n", 1)[1])
    assert "cat" in best.render(input="cat")
    assert best.predict(input="cat") == "CAT"
    assert load_best(tmp_path / "results" / "upper" / "best.json").key == best.key


def test_label_task_in_chat_style(tmp_path, fake_model):
    fake_model.rule = lambda text: "positive" if "good" in text else "negative"
    rows = [{"input": f"{'good' if i % 2 else 'bad'} film {i}",
             "output": "positive" if i % 2 else "negative"} for i in range(80)]
    write_jsonl(tmp_path / "train.jsonl", rows[:60])
    write_jsonl(tmp_path / "test.jsonl", rows[60:])
    task = write_task(tmp_path, "name: senti\ndata: {train: train.jsonl, test: test.jsonl, "
                                "dev_size: 8}\nmodel: fake/scripted\nprompt:\n  seeds: ['Rate it.']"
                                "\nsearch: {budget: {lm_calls: 100}}\n")
    result = run(task, results_dir=tmp_path / "results")
    assert result.lock["key"]["style"] == "chat"
    assert result.lock["key"]["output"]["labels"] in (["negative", "positive"],
                                                      ["positive", "negative"])
    assert result.lock["scores"]["test"] == 1.0


def test_resume_continues_the_same_run(upper_task, fake_model, tmp_path):
    results = tmp_path / "results"
    store = open_store(results)
    task = load_task(upper_task)
    small = task.model_copy(update={"config": task.config.model_copy(update={
        "search": task.config.search.model_copy(update={
            "budget": task.config.search.budget.model_copy(update={"trials": 3})})})})
    first = run(small, store=store, results_dir=results)
    resumed = run(task, store=store, results_dir=results, resume=True)
    assert resumed.run_id != first.run_id  # a changed budget is a different config
    again = run(task, store=store, results_dir=results, resume=True)
    assert again.run_id == resumed.run_id
    assert again.lock["spent"]["model_calls"] == 0


def test_cli_run_prints_leaderboard_and_writes_markdown(upper_task, fake_model, tmp_path, capsys,
                                                        monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")
    results = tmp_path / "results"
    assert main(["run", str(upper_task), "--results", str(results), "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "upper" in out and "test [95% CI]" in out and "winner" in out
    board = (results / "leaderboard.md").read_text()
    assert "| upper | fake/scripted | tpe |" in board
    assert main(["leaderboard", "--results", str(results), "--format", "csv"]) == 0
    assert "upper,fake/scripted,tpe" in capsys.readouterr().out
    assert main(["show", "upper", "--results", str(results)]) == 0
    assert "seed prompt" in capsys.readouterr().out


def test_a_run_that_writes_no_lock_still_writes_its_markdown(upper_task, fake_model, tmp_path):
    storage = f"sqlite:///{tmp_path / 'shared.db'}"
    first, second = tmp_path / "first", tmp_path / "second"
    assert main(["run", str(upper_task), "--results", str(first), "--storage", storage,
                 "--quiet"]) == 0
    # The same search again only ties the recorded version: no lock, so no folder made for it.
    assert main(["run", str(upper_task), "--results", str(second), "--storage", storage,
                 "--quiet"]) == 0
    assert not (second / "upper").exists()
    assert "| upper | fake/scripted | tpe |" in (second / "leaderboard.md").read_text()


@pytest.mark.parametrize("edit, needle", [
    (("dev_size: 10", "dev_size: 10\n  colour: red"), "data.colour"),
    (("data/train.jsonl", "data/missing.jsonl"), "data.train"),
    (("model: fake/scripted", "model: 'bad model'"), "model"),
    (('seeds: ["Write the word in capitals."]', 'seeds: ["{{ word }}"]'), "prompt.seeds[0]"),
    (("seed: 3", "seed: 3\nmetric: meteor"), "metric"),
    (("  style: completion", "  style: completion\n  format: '{{ x.__class__ }}'"),
     "prompt.format"),
])
def test_bad_input_exits_2_with_one_line_and_no_store(upper_task, tmp_path, capsys, edit, needle):
    upper_task.write_text(upper_task.read_text().replace(*edit))
    results = tmp_path / "results"
    assert main(["run", str(upper_task), "--results", str(results)]) == 2
    err = capsys.readouterr().err.strip()
    assert needle in err and "Traceback" not in err
    assert len(err.replace("\n", " ").split("error:")) == 2
    assert not (results / "promptsearch.db").exists()


def test_validate_checks_without_calling_a_model(upper_task, fake_model, capsys):
    assert main(["validate", str(upper_task)]) == 0
    assert "ok" in capsys.readouterr().out and fake_model.calls == 0


@pytest.mark.parametrize("strategy", ["random", "opro", "tpe", "auto"])
def test_an_interrupted_run_resumes_after_its_recorded_trials(upper_task, fake_model, tmp_path,
                                                              strategy):
    results = tmp_path / "results"
    store = open_store(results)
    upper_task.write_text(upper_task.read_text().replace("strategy: tpe", f"strategy: {strategy}"))

    def interrupt_after_40_calls(text):
        if fake_model.calls > 40:
            raise KeyboardInterrupt
        return text.upper()

    fake_model.rule = interrupt_after_40_calls
    try:
        first = run(upper_task, store=store, results_dir=results)
    except KeyboardInterrupt:  # the Ctrl-C may also land in the final test scoring
        first = None
    run_id = store.list_runs()[0]["id"]
    before = store.list_candidates(run_id)
    assert first is None or first.stopped == "interrupted"
    fake_model.rule = lambda text: text.upper()
    resumed = run(upper_task, store=store, results_dir=results, resume=True)
    after = store.list_candidates(run_id)
    assert resumed.run_id == run_id and len(after) > len(before)
    assert after[: len(before)] == before  # nothing recorded is lost or overwritten
    seed_key = before[0]["key_id"]  # trial 0 scores the seed prompt; resuming does not again
    assert [c["trial"] for c in after if c["key_id"] == seed_key] == [0]
    assert resumed.lock["spent"]["lm_calls"] <= 120
