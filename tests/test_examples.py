"""The examples/ apps work as their docstrings say."""

import io
import runpy
import sys
from pathlib import Path

from promptsearch import run
from promptsearch.api import open_store

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def test_classify_stdin_labels_each_line_with_the_best_key(upper_task, fake_model, tmp_path,
                                                           monkeypatch, capsys):
    results = tmp_path / "results"
    run(upper_task, store=open_store(results), results_dir=results)
    monkeypatch.setattr(sys, "argv", ["classify_stdin.py", "--prompt", "upper",
                                      "--results", str(results)])
    monkeypatch.setattr(sys, "stdin", io.StringIO("word3\n\nword42\n"))
    try:
        runpy.run_path(str(EXAMPLES / "classify_stdin.py"), run_name="__main__")
    except SystemExit as exit_:
        assert exit_.code == 0
    assert capsys.readouterr().out.splitlines() == ["WORD3\tword3", "WORD42\tword42"]
