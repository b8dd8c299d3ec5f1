"""The compare benchmark's per-example test scores and its paired verdict column."""

import csv

import pytest

from benchmarks.compare_paired import append_scores, fingerprint, paired, read_scores
from benchmarks.compare_report import PAIRED, verdict_lines
from promptsearch.core.metrics import get_metric

IDS = [f"ex{i}" for i in range(40)]


def _common(contender: str, seed: str = "0") -> dict:
    return {"task": "plurals", "model": "m", "contender": contender, "seed": seed,
            "budget": "300"}


def _written(tmp_path, rows: dict) -> dict:
    """{contender, seed: {example id: score}} written to test_scores.csv and read back."""
    path = tmp_path / "test_scores.csv"
    for (contender, seed), by_example in rows.items():
        append_scores(path, _common(contender, seed), get_metric("exact_match"), IDS,
                      by_example)
    with path.open(newline="") as handle:
        return read_scores(list(csv.DictReader(handle)))


def test_scores_are_written_in_test_order_and_an_lm_error_is_a_dash(tmp_path):
    by_example = {i: 1.0 for i in IDS[1:]}
    by_example[IDS[0]] = None  # the model never answered it
    scores = _written(tmp_path, {("dspy-mipro", "0"): dict(reversed(by_example.items()))})
    examples, values = scores[("plurals", "m", "dspy-mipro", "0", "300")]
    assert examples == fingerprint(IDS) and values == [None] + [1.0] * 39
    row = next(csv.DictReader((tmp_path / "test_scores.csv").open()))
    assert row["metric"] == "exact_match" and row["scores"].startswith("- 1 1")
    assert row["commit"]  # provenance, like every benchmark row


def test_a_corpus_metric_writes_no_scores(tmp_path):
    path = tmp_path / "test_scores.csv"
    assert not append_scores(path, _common("dspy-mipro"), get_metric("f1_macro"), IDS, {})
    assert not path.exists()


def test_paired_difference_pools_the_seeds_and_skips_unanswered_examples(tmp_path):
    auto = {i: float(n % 4 != 0) for n, i in enumerate(IDS)}       # 30 of 40 right
    mipro = {i: float(n % 4 == 2) for n, i in enumerate(IDS)}      # 10 of those 30 right
    unanswered = {**auto, IDS[1]: None}
    scores = _written(tmp_path, {("promptsearch-auto", "0"): auto, ("dspy-mipro", "0"): mipro,
                                 ("promptsearch-auto", "1"): unanswered,
                                 ("dspy-mipro", "1"): mipro})
    one = paired(scores, [(tuple(_common("promptsearch-auto").values()),
                           tuple(_common("dspy-mipro").values()))])
    assert one.startswith("+0.50 [") and one.endswith("(n=40)")
    assert float(one.split("p=")[1].split()[0]) < 0.01  # 20 examples one way, none the other
    both = paired(scores, [tuple(tuple(_common(c, s).values()) for c in (
        "promptsearch-auto", "dspy-mipro")) for s in ("0", "1")])
    assert both.endswith("(n=79)")  # seed 1's unanswered example pairs with nothing


def test_rows_of_different_test_examples_do_not_pair(tmp_path):
    path = tmp_path / "test_scores.csv"
    metric = get_metric("exact_match")
    append_scores(path, _common("promptsearch-auto"), metric, IDS, {i: 1.0 for i in IDS})
    append_scores(path, _common("dspy-mipro"), metric, IDS[:-1], {i: 0.0 for i in IDS})
    with path.open(newline="") as handle:
        scores = read_scores(list(csv.DictReader(handle)))
    keys = [tuple(_common(c).values()) for c in ("promptsearch-auto", "dspy-mipro")]
    assert paired(scores, [tuple(keys)]) is None
    assert paired(scores, [(keys[0], ("plurals", "m", "dspy-gepa", "0", "300"))]) is None


@pytest.mark.parametrize("with_scores", [True, False])
def test_verdict_pairs_auto_with_the_best_peer_per_seed_and_over_the_seeds(tmp_path,
                                                                           with_scores):
    right = {i: 1.0 for i in IDS}
    scores = _written(tmp_path, {("promptsearch-auto", s): right for s in "01"} | {
        ("dspy-mipro", s): {i: float(n < 30) for n, i in enumerate(IDS)} for s in "01"})
    rows = [{**_common(c, s), "test": str(t), "lm_calls": "200", "note": ""}
            for c, t in (("promptsearch-auto", 1.0), ("dspy-mipro", 0.75)) for s in "01"]
    rows.append({**_common("dspy-copro", "0"), "test": "0.5", "lm_calls": "47", "note": ""})
    lines = verdict_lines(rows, "m", {}, scores if with_scores else None)
    assert [line["seed"] for line in lines] == ["0", "1", "mean of 2"]
    if not with_scores:
        assert all(PAIRED not in line for line in lines)
        return
    assert lines[0][PAIRED].startswith("+0.25 [") and lines[0][PAIRED].endswith("(n=40)")
    assert lines[2][PAIRED].startswith("+0.25 [") and lines[2][PAIRED].endswith("(n=80)")
    del scores[("plurals", "m", "dspy-mipro", "1", "300")]  # a row from before the scores
    lines = verdict_lines(rows, "m", {}, scores)
    assert [line[PAIRED] for line in lines][1:] == ["–", "–"]


def test_a_rerun_forgets_the_curve_of_a_contender_killed_before_its_compare_row(tmp_path):
    from benchmarks.compare import CURVE_COLUMNS, drop_unfinished
    from benchmarks.harness import append_row, read_rows

    path = tmp_path / "curves.csv"
    for contender in ("dspy-mipro", "promptsearch-auto"):
        for calls in (30, 60):
            append_row(path, {**_common(contender), "lm_calls": calls, "best_dev": 0.5,
                              "test": "", "commit": "a" * 40, "command": "earlier"},
                       CURVE_COLUMNS)
    drop_unfinished(path, {**_common("promptsearch-auto"), "seed": 0, "budget": 300},
                    CURVE_COLUMNS)
    rows = read_rows(path)
    assert [(r["contender"], r["lm_calls"]) for r in rows] == [("dspy-mipro", "30"),
                                                               ("dspy-mipro", "60")]
    assert {(r["commit"], r["command"]) for r in rows} == {("a" * 40, "earlier")}


def test_archiving_a_contender_moves_its_rows_with_their_commits_and_renders_again(tmp_path):
    """A contender rerun with changed code: its old rows leave the tables for the archive (on a
    copy of the committed tables, with a contender every one of them holds)."""
    import shutil

    from benchmarks.archive_rows import TABLES, archive
    from benchmarks.harness import REPO, read_rows

    results = tmp_path / "results"
    (results / "archive").mkdir(parents=True)
    shutil.copy(REPO / "results" / "archive" / "README.md", results / "archive" / "README.md")
    shutil.copytree(REPO / "results" / "benchmarks", results / "benchmarks",
                    ignore=shutil.ignore_patterns("store", "runs"))
    before = {table: read_rows(results / "benchmarks" / table) for table in TABLES}
    moved = archive(results, "dspy-copro", "old", model="qwen2.5-coder-1.5b")
    assert moved["compare.csv"] > 0 and moved["curves.csv"] > moved["compare.csv"]
    for table in TABLES:
        left = read_rows(results / "benchmarks" / table)
        gone = [row for row in before[table] if row not in left]
        assert all(row["contender"] == "dspy-copro" for row in gone)
        assert len(gone) == moved[table] and len(left) + len(gone) == len(before[table])
        assert read_rows(results / "archive" / "benchmarks" / f"old-{table}") == gone
    compare_md = (results / "benchmarks" / "compare.md").read_text()
    assert "| dspy-copro |" not in compare_md and "| dspy-mipro |" in compare_md
    assert "benchmarks/old-*.csv | dspy-copro on qwen2.5-coder-1.5b" in (
        results / "archive" / "README.md").read_text()
    with pytest.raises(SystemExit, match="choose another --label"):
        archive(results, "dspy-mipro", "old")
