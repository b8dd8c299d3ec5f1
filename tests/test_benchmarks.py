"""The benchmark harnesses keep working: tiny runs of compare and throughput."""

import csv
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
COMPARE_NUMERIC = ("test", "test_lo", "test_hi", "lm_calls", "tokens", "seconds",
                   "parse_failures")


def _bench(*args: str, out: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "LITELLM_LOCAL_MODEL_COST_MAP": "True"}
    return subprocess.run([sys.executable, "-m", *args, "--out", str(out)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=1200)


def _rows(path: Path) -> list[dict]:
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


def test_latency_bound_backend_is_reached_through_litellm_and_measured(tmp_path):
    """The harness's columns, not its speed: timings belong to the benchmark's own run on a
    quiet machine (results/), never to a unit test on a shared one."""
    from benchmarks.throughput import measure_latency, write

    rows = measure_latency(tmp_path, examples=24, latency=0.1, levels=(1, 8))
    write(rows, tmp_path / "out")
    written = _rows(tmp_path / "out" / "throughput.csv")
    assert [r["measurement"] for r in written] == [
        "latency-bound backend, concurrency 1", "latency-bound backend, concurrency 8"]
    assert all(", 0 errors" in r["setting"] for r in written)
    assert all(float(r["seconds"]) > 0 and float(r["ratio"]) > 0 for r in written)
    assert all(float(r["peak_rss_mib"]) > 0 for r in written)
    assert "| measurement |" in (tmp_path / "out" / "throughput.md").read_text()


@pytest.mark.model
def test_compare_harness_writes_its_columns_and_resumes(tmp_path):
    # The harness's columns and resumption, not scores: the smallest sizes that exercise them.
    args = ("benchmarks.compare", "--tasks", "first_word_letter", "--budget", "24",
            "--dev-size", "6", "--test-size", "10", "--contenders", "seed-prompt",
            "promptsearch-tpe", "dspy-bootstrap")
    first = _bench(*args, out=tmp_path)
    assert first.returncode == 0, first.stderr[-2000:]
    rows = _rows(tmp_path / "compare.csv")
    assert [r["contender"] for r in rows] == ["seed-prompt", "promptsearch-tpe",
                                              "dspy-bootstrap"]
    for row in rows:
        assert row["task"] == "first_word_letter" and row["model"] == "gemma-3-270m"
        assert row["dev_split"] == "random"  # the task file's; larger_animal's says unseen
        values = {c: float(row[c]) for c in COMPARE_NUMERIC}
        assert values["test_lo"] <= values["test"] <= values["test_hi"]
        assert values["lm_calls"] <= 24
    assert float(rows[0]["lm_calls"]) == 0 and float(rows[1]["lm_calls"]) > 0
    assert float(rows[2]["lm_calls"]) > 0  # counted at the provider as DSPy made them
    assert "<svg" in (tmp_path / "curves.html").read_text()
    curve = _rows(tmp_path / "curves.csv")
    searched = [r for r in curve if r["contender"] == "promptsearch-tpe"]
    assert all(r["test"] for r in searched)  # each point's best-dev key was scored on test
    assert searched[-1]["test"] == rows[1]["test"]  # and the last is the winner, at its calls
    assert float(searched[-1]["lm_calls"]) == float(rows[1]["lm_calls"])
    assert not any(r["test"] for r in curve if r["contender"] == "dspy-bootstrap")
    assert "promptsearch-tpe" in (tmp_path / "compare.md").read_text()
    scores = _rows(tmp_path / "test_scores.csv")
    assert [r["contender"] for r in scores] == [r["contender"] for r in rows]
    assert len({r["examples"] for r in scores}) == 1  # every contender answered the same test
    for row, scored in zip(rows, scores):  # each row's test score is the mean of its scores
        values = [float(cell) for cell in scored["scores"].split()]
        assert len(values) == 10 and sum(values) / 10 == pytest.approx(float(row["test"]))
    again = _bench(*args, out=tmp_path)
    assert again.returncode == 0 and len(_rows(tmp_path / "compare.csv")) == 3  # resumed: done
    assert len(_rows(tmp_path / "test_scores.csv")) == 3


def _compare_row(contender: str, test: float, calls: int, task="sentiment") -> dict:
    return {"task": task, "model": "m", "contender": contender, "seed": "0", "budget": "300",
            "test": str(test), "lm_calls": str(calls)}


def test_matched_budget_is_the_calls_of_the_best_dspy_contender():
    from benchmarks.compare import matched_budget

    common = {"task": "sentiment", "model": "m", "contender": "promptsearch-auto", "seed": 0,
              "budget": 300}
    rows = [_compare_row("seed-prompt", 0.9, 0), _compare_row("dspy-mipro", 0.85, 194),
            _compare_row("dspy-copro", 0.85, 120), _compare_row("dspy-bootstrap", 0.70, 90),
            _compare_row("dspy-mipro", 0.99, 50, task="antonyms")]
    # mipro and copro tie on test: the stricter (fewer calls) one sets the budget
    assert matched_budget(rows, common) == (120, "dspy-copro")
    assert matched_budget(rows[:1], common) is None  # no DSPy row yet: the cap stays


def test_match_dspy_runs_dspy_contenders_before_promptsearch():
    from benchmarks.compare import CONTENDERS, contender_order

    assert contender_order(CONTENDERS, True) == [
        "seed-prompt", "dspy-mipro", "dspy-copro", "dspy-bootstrap", "dspy-gepa",
        "promptsearch-auto", "promptsearch-tpe"]
    assert contender_order(CONTENDERS, False) == CONTENDERS


def test_verdict_says_where_auto_loses_to_the_best_dspy_optimizer():
    from benchmarks.compare_report import verdict

    rows = [_compare_row("dspy-mipro", 0.85, 194), _compare_row("dspy-bootstrap", 0.85, 118),
            _compare_row("promptsearch-auto", 0.86, 118),
            _compare_row("dspy-mipro", 0.90, 150, task="plurals"),
            _compare_row("promptsearch-auto", 0.88, 150, task="plurals"),
            {**_compare_row("dspy-mipro", 0.80, 160, task="plurals"), "seed": "1"},
            {**_compare_row("promptsearch-auto", 0.84, 160, task="plurals"), "seed": "1"}]
    for row in rows:
        row["note"] = ""
    lines = [line for line in verdict(rows, "m").splitlines() if line.startswith("| ")][1:]
    assert lines[0].startswith("| plurals | 0 | dspy-mipro | 0.90 (150) | 0.88 (150) | **no** | yes")
    assert lines[1].startswith("| plurals | 1 | dspy-mipro | 0.80 (160) | 0.84 (160) | yes | yes")
    assert lines[2].startswith("| plurals | mean of 2 | dspy-mipro | 0.85 (155) | 0.86 (155) | "
                               "yes | yes")
    assert lines[3].startswith(
        "| sentiment | 0 | dspy-bootstrap | 0.85 (118) | 0.86 (118) | yes | yes")


def test_over_seeds_auto_meets_the_dspy_optimizer_with_the_best_mean():
    from benchmarks.compare_report import seed_means

    def row(contender, seed, test, calls):
        return {**_compare_row(contender, test, calls), "seed": seed, "note": ""}

    rows = [row("dspy-mipro", "0", 0.46, 205), row("dspy-mipro", "1", 0.40, 210),
            row("dspy-copro", "0", 0.39, 47), row("dspy-copro", "1", 0.43, 47),
            row("dspy-bootstrap", "0", 0.45, 128),  # one seed only: left out of the means
            row("promptsearch-auto", "0", 0.44, 205), row("promptsearch-auto", "1", 0.50, 47)]
    [line] = seed_means(rows)
    assert line["seed"] == "mean of 2" and line["best DSPy"] == "dspy-mipro"
    assert line["its test (calls)"] == "0.43 (208)" and line["auto test (calls)"] == "0.47 (126)"
    assert (line["auto test ≥"], line["auto calls ≤"]) == ("yes", "yes")


def test_dspy_detail_keeps_rows_whose_store_is_elsewhere():
    from benchmarks.dspy_detail import merged

    def detail(task, optimizer, test):
        return {"task": task, "optimizer": optimizer, "model": "q", "dev_size": 15,
                "dspy key test": test}

    earlier = [{**detail("sentiment", "dspy-mipro", "0.84"), "dev_size": "15"},
               {**detail("larger_animal", "dspy-copro", "0.40"), "dev_size": "15"}]
    rows = merged(earlier, [detail("larger_animal", "dspy-copro", "0.52")])
    assert [(r["task"], r["dspy key test"]) for r in rows] == [
        ("larger_animal", "0.52"), ("sentiment", "0.84")]  # fresh replaces, the rest stays


def test_strategies_table_says_which_dev_split_each_task_ran_with():
    from benchmarks.strategies import _split_note

    rows = [{"task": "sentiment", "dev_split": "random"},
            {"task": "larger_animal", "dev_split": ""},  # a row from before the column
            {"task": "larger_animal", "dev_split": "unseen"}]
    assert _split_note(rows) == ("dev drawn at random from train, except larger_animal: "
                                 "random and unseen")
    assert _split_note(rows[:2]).endswith("in every row")


def test_strategies_table_keeps_each_seed_and_averages_the_seeds(tmp_path):
    from benchmarks.harness import append_row
    from benchmarks.strategies import COLUMNS, write_summary

    def result(task, strategy, seed, test, budget=300):
        return {"task": task, "strategy": strategy, "seed": seed, "racing": "False",
                "budget": budget, "dev_split": "random", "test": test, "proposer_calls": 4,
                "racing_saved": 0, "seconds": 10}

    csv_path = tmp_path / "strategies.csv"
    for row in (result("sentiment", "random", 0, 0.80), result("sum", "random", 0, 0.10),
                result("sentiment", "random", 1, 0.90), result("sentiment", "tpe", 0, 0.70),
                result("sentiment", "random", 0, 0.95, budget=1000)):
        append_row(csv_path, row, COLUMNS)
    write_summary(csv_path, tmp_path / "strategies.md")
    lines = (tmp_path / "strategies.md").read_text().splitlines()
    cells = {line.split(" | ")[0].lstrip("| "): line.split(" | ")[1:3] for line in lines
             if line.startswith("| ") and not line.startswith("| strategy")}
    assert cells == {"random": ["0.80", "0.10"], "random · seed 1": ["0.90", "–"],
                     "random · mean of seeds 0 1": ["0.85", "–"],  # sum ran seed 0 only
                     "tpe": ["0.70", "–"],
                     "random · 1000 calls": ["0.95", "–"],  # its own row, not in the ceiling
                     "best row of each task (any strategy or seed)": ["0.90", "0.10"]}


def test_demos_table_averages_each_k_over_its_tasks(tmp_path):
    header = ("task,k,random,random_lo,random_hi,retrieved,retrieved_lo,retrieved_hi,delta,"
              "p_value,examples")
    (tmp_path / "demos_ab.csv").write_text("\n".join([
        header,
        "b,8,0.4,0,1,0.6,0,1,0.2,0.01,100",
        "a,16,0.1,0,1,0.3,0,1,0.2,0.5,100",
        "a,8,0.2,0,1,0.8,0,1,0.6,0.001,100",
    ]) + "\n")
    done = _bench("benchmarks.demos_ab", "--tasks", out=tmp_path)  # no task to run: table only
    assert done.returncode == 0, done.stderr
    lines = (tmp_path / "demos_ab.md").read_text().splitlines()
    rows = [line for line in lines if line.startswith("| ") and not line.startswith("| task |")]
    assert [row.split(" | ")[:2] for row in rows] == [
        ["| a", "8"], ["| b", "8"], ["| a", "16"], ["| mean of 2 tasks", "8"],
        ["| mean of 1 tasks", "16"]]
    assert rows[3].split(" | ")[2:5] == ["0.30", "0.70", "+0.40"]


def test_selection_picks_by_dev_and_scores_on_the_held_out_rest():
    from benchmarks.selection import held_out_of_choice
    # Noise-free keys (each right on a fixed share of every split): the dev score ranks them
    # truly, so scoring every key finds the best one and scoring one key gets the average.
    matrix = [[1.0] * 40, [0.0] * 40, [1.0, 0.0] * 20]
    assert held_out_of_choice(matrix, dev_size=10, searched=3, splits=50) == 1.0
    assert held_out_of_choice(matrix, dev_size=10, searched=1, splits=600) == pytest.approx(
        0.5, abs=0.05)
    # Two keys that are each right on a different half: the dev winner is right on more of
    # the dev part, so it is wrong on more of the rest (the winner's curse, exactly).
    split = [[1.0] * 20 + [0.0] * 20, [0.0] * 20 + [1.0] * 20]
    assert held_out_of_choice(split, dev_size=10, searched=2, splits=400) < 0.5
    with pytest.raises(ValueError, match="dev_size"):
        held_out_of_choice(matrix, dev_size=40, searched=1, splits=1)


def test_selection_table_gives_each_dev_size_and_the_gain_over_ten_keys(tmp_path):
    import json
    rows = [{"task": task, "draw": draw, "key_id": f"k{draw}", "test": "",
             "scores": json.dumps([float(draw % 3 == i % 3) for i in range(100)])}
            for task in ("a", "b") for draw in range(12)]
    with (tmp_path / "selection_scores.csv").open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    done = _bench("benchmarks.selection", "--tasks", "--splits", "20", out=tmp_path)
    assert done.returncode == 0, done.stderr
    table = _rows(tmp_path / "selection.csv")
    cells = {(r["task"], r["dev_size"], r["keys_scored"]) for r in table}
    assert ("a", "30", "12") in cells and ("mean of 2 tasks", "60", "10") in cells
    ten = [r for r in table if r["keys_scored"] == "10"]
    assert ten and all(float(r["gain_over_random_10"]) == 0 for r in ten)
    lines = (tmp_path / "selection.md").read_text().splitlines()
    assert sum(line.startswith("| a | ") for line in lines) == 3  # dev 15, 30, 60


def test_selection_with_fewer_than_ten_keys_leaves_the_gain_over_ten_blank():
    from benchmarks.selection import pivot, simulate
    matrix = [[float(k == i % 6) for i in range(100)] for k in range(6)]
    rows = simulate("small", matrix, splits=5)
    assert {r["keys_scored"] for r in rows if r["dev_size"] == 30} == {1, 5, 6}
    assert all(r["gain_over_random_10"] == "" for r in rows if r["dev_size"] != "")
    assert "| small | 30 |" in pivot(rows)


class _Writer:
    """A chat writer replying from a script, one reply per call."""

    default_style = "chat"

    def __init__(self, replies):
        self.replies, self.requests = list(replies), []

    def complete(self, *, messages, max_tokens, temperature, seed):
        from promptsearch.lm.client import Completion
        self.requests.append(messages[0]["content"])
        return Completion(self.replies.pop(0), prompt_tokens=5, completion_tokens=5)


def test_writers_keep_only_new_instructions_and_stop_at_the_count():
    from benchmarks.writers import written
    from promptsearch.task.data import Example
    pool = [Example({"input": f"word{i}"}, f"drow{i}") for i in range(8)]
    writer = _Writer(["Reverse the word.", "", "Sure, here is the instruction you asked for",
                      "Spell the given word backwards.", "spell the given word backwards.",
                      "Write every letter of the word in reverse order.", "never asked"])
    texts = written(writer, pool, 2,
                    known=["Reverse the word."], name="t")
    assert texts == ["Spell the given word backwards.",
                     "Write every letter of the word in reverse order."]
    assert len(writer.requests) == 6 and writer.replies == ["never asked"]
    assert all("word" in request and "drow" in request for request in writer.requests)


def test_writers_summary_counts_written_instructions_above_the_spaces_best():
    from benchmarks.writers import summary
    rows = [{"task": "t", "group": "space", "test": "0.2"},
            {"task": "t", "group": "space", "test": "0.3"},
            {"task": "t", "group": "written:w", "test": "0.25"},
            {"task": "t", "group": "written:w", "test": "0.4"},
            {"task": "t", "group": "written:w", "test": "0.5"}]
    line, _, mean = summary(rows + [{"task": "u", "group": "space", "test": "0.6"},
                                    {"task": "u", "group": "written:w", "test": "0.7"}],
                            {"t": 0.3, "u": 0.6})
    assert (line["space_n"], line["space_max"], line["written_n"]) == (2, 0.3, 3)
    assert line["written_mean"] == pytest.approx(0.3833, abs=1e-3)
    assert (line["written_max"], line["written_above_space_max"]) == (0.5, 2)
    assert line["writer"] == "w"
    assert mean["written_max"] == pytest.approx(0.6) and mean["written_above_space_max"] == 3


def _key(task, n_demos, selection, test):
    return {"task": task, "n_demos": n_demos, "selection": selection, "format": 0,
            "instruction_kind": "bank", "test": test}


def test_transfer_prior_learns_only_from_the_other_tasks():
    from benchmarks.transfer import fit_prior, ranked
    keys = {"a": [_key("a", 8, "retrieved", 0.9), _key("a", 0, "random", 0.1)],
            "b": [_key("b", 8, "retrieved", 0.7), _key("b", 0, "random", 0.3)],
            # on the held-out task itself no demos would win: the prior must not see that
            "c": [_key("c", 0, "random", 0.8), _key("c", 8, "retrieved", 0.2)]}
    prior = fit_prior(keys, leave_out="c")
    assert prior[("n_demos", 8)] == pytest.approx(1.0) and prior[("n_demos", 0)] < 0
    assert [key["n_demos"] for key in ranked(keys["c"], prior)] == [8, 0]
    flipped = {**keys, "c": [_key("c", 0, "random", 0.0), _key("c", 8, "retrieved", 1.0)]}
    assert fit_prior(flipped, leave_out="c") == prior


def _faults_rows(commit: str) -> list[dict]:
    return [{"scenario": "transient", "fault": kind, "injected": 3, "retried": 3,
             "recovered": 3, "errors": 0, "lost": 0, "model_id": "text-completion-openai/fake",
             "commit": commit, "command": "python -m benchmarks.faults"}
            for kind in ("rate_limit", "drop")]


def test_check_regenerates_each_table_from_its_csv_and_refuses_rows_without_a_commit(tmp_path):
    from benchmarks import check, faults
    from benchmarks.harness import REPO, write_rows

    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO, capture_output=True,
                          text=True, check=True).stdout.strip()
    columns = faults.COLUMNS + ["model_id", "commit", "command"]
    write_rows(tmp_path / "faults.csv", _faults_rows(head), columns)
    (tmp_path / "faults.md").write_text(faults.render(tmp_path / "faults.csv"))
    (tmp_path / "archive").mkdir()
    (tmp_path / "archive" / "old.md").write_text("| made | by hand |\n")  # archived: not checked
    assert check.problems(tmp_path) == []

    table = (tmp_path / "faults.md").read_text()
    (tmp_path / "faults.md").write_text(table.replace("| 3 |", "| 4 |", 1))  # edited by hand
    (tmp_path / "notes.md").write_text("# made by nothing\n")
    write_rows(tmp_path / "faults.csv", _faults_rows(head) + _faults_rows(head + "+dirty")
               + _faults_rows("0" * 40), columns)
    found = check.problems(tmp_path)
    assert any("faults.md: differs from what its CSV renders" in line for line in found)
    assert any("notes.md: no benchmark regenerates it" in line for line in found)
    assert sorted(line.split(": ")[0].rsplit(":", 1)[1] for line in found
                  if "names no commit" in line) == ["4", "5", "6", "7"]  # dirty and unknown


def test_the_committed_results_regenerate_and_name_their_commits():
    from benchmarks import check
    from benchmarks.harness import REPO

    assert check.problems(REPO / "results") == []


def test_benchmark_rows_record_the_commit_and_command_that_made_them(tmp_path):
    from benchmarks.harness import append_row, current_commit, provenance

    append_row(tmp_path / "t.csv", {"task": "x"}, ["task"])
    with (tmp_path / "t.csv").open() as handle:
        row = next(csv.DictReader(handle))
    # (read once per process: the code cannot change under a running benchmark)
    assert row["commit"] == provenance()["commit"] and len(row["commit"].split("+")[0]) == 40
    assert len(current_commit().split("+")[0]) == 40
    assert row["command"].startswith("python -m ")
    with pytest.raises(SystemExit, match="its columns are not this benchmark's"):
        append_row(tmp_path / "t.csv", {"task": "y"}, ["task", "other"])


def test_the_report_renders_the_same_from_the_exported_csvs_as_from_the_store(
        upper_task, fake_model, tmp_path):
    from benchmarks import report_data
    from promptsearch import run
    from promptsearch.api import open_store
    from promptsearch.report.html import write_report

    store = open_store(tmp_path / "bench")
    run(upper_task, store=store, results_dir=tmp_path / "bench")
    direct = write_report(store, tmp_path / "direct.html").read_text()
    report_data.export(store, tmp_path)
    rebuilt = report_data.render(tmp_path).read_text()

    def without_date(html: str) -> list[str]:  # the page says when it was made
        return [line for line in html.splitlines() if "generated" not in line.lower()]

    assert without_date(rebuilt) == without_date(direct)
    assert "confusion" in rebuilt or "best dev score" in rebuilt
    assert (tmp_path / "report_data" / "evaluations.csv").exists()


def test_exporting_some_tasks_keeps_the_report_rows_of_the_others(upper_task, fake_model,
                                                                    tmp_path):
    from conftest import write_task

    from benchmarks import report_data
    from benchmarks.harness import read_rows
    from promptsearch import run
    from promptsearch.api import open_store

    first = open_store(tmp_path / "first")
    run(upper_task, store=first, results_dir=tmp_path / "first")
    report_data.export(first, tmp_path)
    before = read_rows(tmp_path / "report_data" / "runs.csv")
    other = write_task(upper_task.parent, upper_task.read_text().replace("name: upper",
                                                                         "name: other"), "o.yaml")
    second = open_store(tmp_path / "second")
    run(other, store=second, results_dir=tmp_path / "second")
    report_data.export(second, tmp_path)
    after = read_rows(tmp_path / "report_data" / "runs.csv")
    assert [row["task"] for row in after] == ["upper", "other"]
    assert after[0] == before[0]  # kept as exported, commit and command included
    page = report_data.render(tmp_path).read_text()
    assert 'id="task-upper"' in page and 'id="task-other"' in page


def test_metric_change_scores_winner_and_seed_under_every_metric(tmp_path, fake_model):
    from conftest import write_upper_task

    from benchmarks.harness import append_row
    from benchmarks.metric_change import COLUMNS, render, rows_of
    from promptsearch.api import open_store, run
    from promptsearch.pipeline.prepare import prepare
    from promptsearch.task.config import load_task

    task = load_task(write_upper_task(tmp_path))
    store = open_store(tmp_path / "bench")
    result = run(task, store=store, results_dir=tmp_path / "bench", promote="always")
    calls = fake_model.calls
    rows = rows_of(prepare(task, store), store, result)
    assert fake_model.calls == calls  # every answer came from the search's recorded test calls
    winner, seed = rows
    assert (winner["key"], seed["key"]) == ("winner", "seed")
    assert winner["exact_match"] == result.lock["scores"]["test"]
    assert winner["exact_match_delta"] == pytest.approx(result.lock["baseline"]["delta_test"])
    assert 0.0 <= seed["chrf"] <= winner["chrf"] <= 1.0 and seed["chrf_delta"] == ""
    csv_path = tmp_path / "metric_change.csv"
    for row in rows:
        append_row(csv_path, {**row, "task": "upper", "config": "c", "lm_calls": 120,
                              "seconds": 1.0, "model_id": "fake"}, COLUMNS)
    table = render(csv_path)
    assert "| exact_match | winner |" in table and "| exact_match | seed |" in table


def test_check_leaves_out_what_git_ignores_such_as_a_local_runs_leaderboard():
    # `make demo` then `make test`: the demo's results/leaderboard.md is run-time output
    # (.gitignore), not a committed table, and must not fail the check.
    from benchmarks import check
    from benchmarks.harness import REPO

    local = REPO / "results" / "leaderboard.md"
    existed = local.exists()
    if not existed:
        local.write_text("# promptsearch leaderboard\n\n| task |\n|---|\n| sentiment |\n")
    try:
        assert local not in check._files(REPO / "results", "*.md")
        assert check.problems(REPO / "results") == []
    finally:
        if not existed:
            local.unlink()


def test_a_search_curve_follows_the_best_dev_key_and_counts_proposer_calls_first():
    from benchmarks.compare_curve import incumbents

    def candidate(key, dev, calls, status="complete"):
        return {"key_id": key, "dev_score": dev, "lm_calls": calls, "status": status}

    candidates = [candidate("a", 0.4, 15), candidate("b", 0.3, 15),
                  candidate("c", None, 5, status="pruned"), candidate("d", 0.6, 15),
                  candidate("e", 0.6, 15)]  # a tie keeps the earlier key, as the ranking does
    assert incumbents(candidates, proposer_calls=8) == [
        (23, 0.4, "a"), (38, 0.4, "a"), (58, 0.6, "d"), (73, 0.6, "d")]


def test_calls_to_match_reads_the_test_curve_as_steps_and_averages_seeds_where_all_ran():
    from benchmarks.compare_curve import calls_to_match, mean_curve, test_at

    first = [(20, 0.5), (60, 0.7), (120, 0.6)]
    second = [(30, 0.6), (90, 0.8)]
    assert test_at(first, 10) is None and test_at(first, 59) == 0.5 and test_at(first, 200) == 0.6
    assert calls_to_match(first, 0.7) == 60 and calls_to_match(first, 0.75) is None
    mean = mean_curve([first, second])
    assert [calls for calls, _ in mean] == [30, 60, 90, 120]  # none before both have a key
    assert mean[0][1] == pytest.approx(0.55) and mean[2][1] == pytest.approx(0.75)
    assert calls_to_match(mean, 0.7) == 90


def test_verdict_says_after_how_many_calls_auto_first_matched_the_best_peer():
    from benchmarks.compare_report import goal, verdict_lines

    rows = [_compare_row("dspy-gepa", 0.70, 300), _compare_row("dspy-mipro", 0.60, 200),
            _compare_row("promptsearch-auto", 0.72, 300)]
    for row in rows:
        row["note"] = ""
    curves = {("sentiment", "0"): [(40, 0.5), (90, 0.71), (300, 0.72)]}
    [line] = verdict_lines(rows, "m", curves)
    assert line["best DSPy"] == "dspy-gepa" and line["auto test at its calls"] == "0.72"
    assert line["auto first ≥ its test at"] == "90 calls (0.30×)"
    assert line["≤ ⅓ its calls"] == "yes"
    assert "≥ the best DSPy optimizer's on 1; " in goal([line])
    assert "on 1 of those, its test curve had reached" in goal([line])
    fell = {**line, "auto test ≥": "**no**"}  # passed the peer early, ended below it
    assert "≥ the best DSPy optimizer's on 0; on 0 of those" in goal([fell])
    [slow] = verdict_lines(rows, "m", {("sentiment", "0"): [(150, 0.70)]})
    assert slow["≤ ⅓ its calls"] == "**no**"
