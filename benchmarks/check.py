"""Result tables anyone can regenerate: check the committed files under results/, no model.

    python -m benchmarks.check [--results results]

- Every Markdown table under results/ (results/archive/ aside) is regenerated from its CSV by
  the render() of the benchmark that wrote it, and must equal the committed file: a table
  edited by hand, or one no command makes any more, fails.
- Every row of every CSV under results/ (archive aside) names the git commit that made it (a
  commit this repository holds, with no uncommitted changes to the code) and the command.
- Tables made by older code live in results/archive/, each listed in its README with the
  commit that made it; they are kept as they were and not checked.

Exits 1 with one line per problem, else prints what it checked.
"""

from __future__ import annotations

import argparse
import functools
import re
import subprocess
import sys
from pathlib import Path
from typing import Callable

from . import (
    compare_report,
    faults,
    judge,
    likelihood,
    metric_change,
    models,
    reasoning,
    tasks_table,
)
from .harness import REPO, read_rows

# Markdown table -> (its CSV, the function that renders it from that CSV alone, the benchmark
# module whose command makes the CSV)
TABLES: dict[str, tuple[str, Callable[[Path], str], str]] = {
    "tasks.md": ("tasks.csv", tasks_table.render, "tasks_table"),
    "faults.md": ("faults.csv", faults.render, "faults"),
    "metric_change.md": ("metric_change.csv", metric_change.render, "metric_change"),
    "reasoning.md": ("reasoning.csv", reasoning.render, "reasoning"),
    "judge.md": ("judge.csv", judge.render, "judge"),
    "likelihood.md": ("likelihood.csv", likelihood.render, "likelihood"),
    "models.md": ("models.csv", models.render, "models"),
    "benchmarks/compare.md": ("benchmarks/compare.csv", compare_report.render, "compare"),
}
ARCHIVE = "archive"
COMMIT = re.compile(r"^[0-9a-f]{40}$")


def problems(results: Path) -> list[str]:
    """Everything that keeps results/ from being regenerable, one line each."""
    found = []
    for md in _files(results, "*.md"):
        name = md.relative_to(results).as_posix()
        if name not in TABLES:
            found.append(f"{md}: no benchmark regenerates it (fix: register its render() in "
                         "benchmarks/check.py, or move it to results/archive/)")
            continue
        csv_name, render, benchmark = TABLES[name]
        if render(results / csv_name) != md.read_text(encoding="utf-8"):
            found.append(f"{md}: differs from what its CSV renders (fix: rerun "
                         f"`python -m benchmarks.{benchmark}`; never edit a table by hand)")
    for csv_file in _files(results, "*.csv"):
        found += _unrecorded_rows(csv_file)
    return found


def _files(results: Path, pattern: str) -> list[Path]:
    """The tables under `results` (archive aside), less what git ignores: a local run's own
    output (results/leaderboard.md after `make demo`) is nobody's committed table."""
    found = sorted(path for path in results.rglob(pattern)
                   if ARCHIVE not in path.relative_to(results).parts)
    ignored = _git_ignored(found)
    return [path for path in found if path not in ignored]


def _git_ignored(paths: list[Path]) -> set[Path]:
    """The paths git ignores (none, outside this repository or without git)."""
    inside = [path for path in paths if path.resolve().is_relative_to(REPO)]
    if not inside:
        return set()
    try:
        done = subprocess.run(["git", "check-ignore", "--stdin"], cwd=REPO, text=True,
                              input="\n".join(str(p.resolve()) for p in inside),
                              capture_output=True)
    except OSError:
        return set()
    listed = {Path(line).resolve() for line in done.stdout.splitlines() if line}
    return {path for path in inside if path.resolve() in listed}


def _unrecorded_rows(csv_file: Path) -> list[str]:
    rows = read_rows(csv_file)
    if rows and "commit" not in rows[0]:
        return [f"{csv_file}: no commit column (fix: rerun its benchmark at a commit, or move "
                "it to results/archive/)"]
    bad = [n for n, row in enumerate(rows, 2) if not _known_commit(row["commit"])
           or not row.get("command")]
    return [f"{csv_file}:{n}: the row names no commit of this repository, or was made with "
            "uncommitted code (fix: commit, then rerun its benchmark)" for n in bad]


def _known_commit(commit: str) -> bool:
    if not COMMIT.match(commit or ""):
        return False
    return _git_has(commit)


@functools.lru_cache(maxsize=None)
def _git_has(commit: str) -> bool:
    return subprocess.run(["git", "cat-file", "-e", f"{commit}^{{commit}}"], cwd=REPO,
                          capture_output=True).returncode == 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", type=Path, default=REPO / "results")
    args = parser.parse_args(argv)
    found = problems(args.results)
    for line in found:
        print(line)
    if found:
        return 1
    rows = sum(len(read_rows(path)) for path in _files(args.results, "*.csv"))
    tables = len(_files(args.results, "*.md"))
    print(f"benchmarks.check: {tables} tables regenerate from their CSVs; {rows} CSV rows "
          "name their commit and command")
    return 0


if __name__ == "__main__":
    sys.exit(main())
