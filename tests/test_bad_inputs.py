"""The corpus in tests/bad_inputs: every broken task file, dataset or template is refused by
`promptsearch run` with one line naming the file, the field and a fix, exit code 2, and a store
that already holds results is left exactly as it was. Each case's task.yaml says what the
message must contain (`# expect: ...`). A case with a `command` file gives the command line
instead (command-line options are checked like the task file's fields); its line names the
option or the folder rather than a file."""

import shlex
import shutil
import sqlite3
from pathlib import Path

import pytest

from promptsearch.cli.main import main
from promptsearch.errors import EXIT_BAD_INPUT
from promptsearch.storage.store import Store, default_url

CORPUS = Path(__file__).parent / "bad_inputs"
CASES = sorted(path.name for path in CORPUS.iterdir() if path.is_dir())


def _expected(task: Path) -> str:
    first = task.read_text(encoding="utf-8", errors="replace").splitlines()[:1]
    return first[0].removeprefix("# expect:").strip() if first and "expect:" in first[0] \
        else "empty"


def _dump(results: Path) -> dict:
    """Every row of every table of the SQLite store."""
    with sqlite3.connect(results / "promptsearch.db") as conn:
        tables = [row[0] for row in conn.execute(
            "SELECT name FROM sqlite_master WHERE type='table' ORDER BY name")]
        return {t: sorted(map(repr, conn.execute(f"SELECT * FROM {t}"))) for t in tables}


@pytest.fixture
def recorded(tmp_path) -> Path:
    """A results folder whose store already holds a run and a cached call."""
    results = tmp_path / "results"
    store = Store(default_url(results))
    store.create_run(id="earlier-run-1", task="earlier", model="local/gemma-3-270m",
                     strategy="tpe", seed=0, config={}, dataset_hash="abc")
    store.cache_put(key="k" * 64, model_id="sha256:x", text="positive", prompt_tokens=3,
                    completion_tokens=1)
    return results


def _command(task: Path, results: Path) -> list[str]:
    command = task.parent / "command"
    if not command.exists():
        return ["run", str(task), "--results", str(results), "--quiet"]
    text = command.read_text(encoding="utf-8").strip()
    return shlex.split(text.format(task=task, results=results, folder=task.parent))


def _refused(task: Path, results: Path, capsys) -> str:
    before = _dump(results)
    try:
        code = main(_command(task, results))
    except SystemExit as exit_:  # argparse refuses an option before main's body runs
        code = exit_.code
    err = capsys.readouterr().err
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert code == EXIT_BAD_INPUT, err
    assert len(errors) == 1 and "Traceback" not in err, err  # one line (warnings aside)
    assert _dump(results) == before
    return errors[0]


@pytest.mark.parametrize("case", CASES)
def test_bad_input_is_refused_in_one_line(case, tmp_path, recorded, capsys):
    folder = shutil.copytree(CORPUS / case, tmp_path / case)
    task = folder / "task.yaml"
    line = _refused(task, recorded, capsys)
    if not (folder / "command").exists():
        assert "task.yaml" in line or "train." in line, line  # names the file
    assert _expected(task).lower() in line.lower(), line
    assert "fix" in line.lower() or "use " in line.lower() or "expected" in line.lower(), line


def test_a_ten_megabyte_row_is_refused(tmp_path, recorded, capsys):
    folder = shutil.copytree(CORPUS / "unknown_key", tmp_path / "huge")
    (folder / "task.yaml").write_text(
        "name: huge\ndata: {train: train.jsonl, input: input, target: output}\n")
    with (folder / "train.jsonl").open("a") as handle:
        handle.write('{"input": "' + "x" * 10_000_000 + '", "output": "positive"}\n')
    line = _refused(folder / "task.yaml", recorded, capsys)
    assert "train.jsonl" in line and "100000" in line.replace(",", "")
