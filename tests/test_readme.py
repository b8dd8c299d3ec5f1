"""README.md is a user guide whose commands work: every fenced block marked `<!-- runnable -->`
runs here in order, in a fresh folder holding the quickstart's reviews.csv, with the scripted
fake model standing in for the embedded one (the test edits `model:` in the task file that
`init` wrote, as a user choosing a model would). Its numbers and links are checked too."""

import csv
import json
import re
import shlex
from pathlib import Path

import pytest
from conftest import DATA, REPO

from promptsearch.cli.main import main
from promptsearch.core.stats import detectable_rise

README = REPO / "README.md"
MARKER = "<!-- runnable -->"


def runnable_blocks(text: str) -> list[tuple[str, str]]:
    """(language, code) of each fenced block that follows the marker line."""
    pattern = re.compile(re.escape(MARKER) + r"\n```(\w+)\n(.*?)\n```", re.DOTALL)
    return pattern.findall(text)


def _reviews_csv(folder: Path) -> None:
    rows = [json.loads(line) for line in
            (DATA / "sentiment" / "train.jsonl").read_text().splitlines()[:100]]
    with (folder / "reviews.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["text", "label"])
        writer.writerows([row["input"], row["output"]] for row in rows)


def _run_shell_block(code: str, folder: Path) -> list[str]:
    ran = []
    for line in code.splitlines():
        words = shlex.split(line, comments=True)
        if not words:
            continue
        assert words[0] == "promptsearch", f"not a promptsearch command: {line}"
        assert main(words[1:]) == 0, line
        ran.append(words[1])
        if words[1] == "init":  # the user picks the model: here the scripted fake one
            task = folder / "task.yaml"
            task.write_text(re.sub(r"(?m)^model: .*$", "model: fake/scripted", task.read_text()))
    return ran


def test_every_runnable_block_runs(tmp_path, monkeypatch, fake_model, capsys):
    blocks = runnable_blocks(README.read_text(encoding="utf-8"))
    assert [language for language, _ in blocks] == ["bash", "python"]
    monkeypatch.chdir(tmp_path)
    _reviews_csv(tmp_path)
    ran = []
    for language, code in blocks:
        if language == "bash":
            ran += _run_shell_block(code, tmp_path)
        else:
            scope: dict = {}
            exec(compile(code, "README.md", "exec"), scope)  # noqa: S102 (our own README)
            assert scope["label"] in ("positive", "negative", None)
            assert "A tender, funny film." in scope["prompt"]
    assert ran == ["init", "validate", "plan", "run", "leaderboard", "report", "show", "export"]
    assert (tmp_path / "results" / "reviews" / "best.json").is_file()
    assert (tmp_path / "results" / "report.html").is_file()
    assert (tmp_path / "reviews_prompt.py").is_file()
    capsys.readouterr()


def test_readme_is_a_guide_of_under_300_lines_with_working_links():
    text = README.read_text(encoding="utf-8")
    assert len(text.splitlines()) < 300
    for link in re.findall(r"\]\(([^)#]+)\)", text):
        if not link.startswith("http"):
            assert (REPO / link).exists(), link
    headings = re.findall(r"(?m)^## (.+)$", text)
    for needed in ("Two commands", "Quickstart: your own CSV in five minutes", "Concepts",
                   "Recipes", "Exit codes"):
        assert needed in headings


@pytest.mark.parametrize(("examples", "stated"), [(30, "0.33"), (100, "0.18")])
def test_readme_detectable_differences_are_computed(examples, stated):
    assert f"{detectable_rise(examples, 0.5):.2f}" == stated
    assert f"with {examples} " in README.read_text() and stated in README.read_text()


@pytest.mark.parametrize("page", ["reference.md", "benchmarks.md"])
def test_docs_links_resolve(page):
    path = REPO / "docs" / page
    for link in re.findall(r"\]\(([^)#]+)\)", path.read_text(encoding="utf-8")):
        if not link.startswith("http"):
            assert (path.parent / link).exists(), link
