"""The HTML report: self-contained, and rendered by headless Chromium with its plots drawn and
no console errors."""

import re
import shutil
import subprocess

import pytest

from promptsearch import run
from promptsearch.api import open_store
from promptsearch.cli.main import main
from conftest import SCRIPTED, _register, write_jsonl, write_task, write_upper_task

pytestmark = pytest.mark.browser

LABEL_TASK = """\
name: parity
data:
  train: parity/train.jsonl
  test: parity/test.jsonl
  dev_size: 10
model: fake/scripted
prompt:
  seeds: ["Is the number even or odd?"]
  labels: [even, odd]
  style: completion
search:
  strategy: {strategy}
  budget: {{lm_calls: 100}}
  seed: 1
"""
SERIES_COLOURS = {"first series": (0x1F, 0x77, 0xB4), "second series": (0xD6, 0x27, 0x28)}
HEATMAP_DARK = (55, 60, 255)


def _parity(word: str) -> str:
    return "odd" if int(word.removeprefix("word")) % 2 else "even"


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    """Two strategies on a generation task and on a label task, then `promptsearch report`
    (once for the module: both tests only read the page)."""
    _register(SCRIPTED)
    SCRIPTED.fail_on = None
    tmp_path = tmp_path_factory.mktemp("report")
    upper_task = write_upper_task(tmp_path / "upper")
    words = [f"word{i}" for i in range(120)]
    write_jsonl(tmp_path / "parity" / "train.jsonl",
                [{"input": w, "output": _parity(w)} for w in words[:100]])
    write_jsonl(tmp_path / "parity" / "test.jsonl",
                [{"input": w, "output": _parity(w)} for w in words[100:]])
    results = tmp_path / "results"
    store = open_store(results)
    for strategy in ("tpe", "random"):
        SCRIPTED.rule = str.upper
        run(write_task(upper_task.parent, upper_task.read_text().replace(
            "strategy: tpe", f"strategy: {strategy}")), store=store, results_dir=results)
        SCRIPTED.rule = _parity
        run(write_task(tmp_path, LABEL_TASK.format(strategy=strategy), "parity.yaml"),
            store=store, results_dir=results)
    SCRIPTED.rule = str.upper
    path = tmp_path / "report.html"
    assert main(["report", "--results", str(results), "--html", str(path)]) == 0
    return path


def test_the_report_is_one_offline_file(report):
    html = report.read_text()
    assert "<script" not in html and "<link" not in html
    assert not re.search(r"(src|href)=", html)
    assert html.count("<svg") == 5  # 2 tasks x (curve, length) + 1 confusion matrix
    assert "upper: best dev score so far" in html and "parity: best dev score so far" in html
    assert "confusion matrix" in html and "Pareto front" in html


def _chromium(*args: str, profile) -> subprocess.CompletedProcess:
    binary = shutil.which("chromium") or shutil.which("chromium-browser")
    assert binary, "Chromium is needed: `apt-get install chromium` (make test does it)"
    return subprocess.run([binary, "--headless", "--no-sandbox", "--disable-gpu",
                           "--disable-background-networking", f"--user-data-dir={profile}",
                           "--enable-logging=stderr", "--v=0", "--hide-scrollbars", *args],
                          capture_output=True, text=True, timeout=120)


def _console_messages(stderr: str) -> list[str]:
    """What the page wrote to its console (Chromium logs console.error at INFO level too). The
    report has no script, so any message at all is a failure (e.g. a resource it could not
    load)."""
    return [line for line in stderr.splitlines() if ":CONSOLE" in line]


def test_chromium_renders_the_plots_without_console_errors(report, tmp_path):
    from PIL import Image

    shot = tmp_path / "report.png"
    done = _chromium("--window-size=1280,2600", f"--screenshot={shot}", report.as_uri(),
                     profile=tmp_path / "profile")
    assert shot.is_file(), done.stderr[-2000:]
    assert _console_messages(done.stderr) == []
    colours = Image.open(shot).convert("RGB").getcolors(maxcolors=1 << 24)
    wanted = {*SERIES_COLOURS.values(), HEATMAP_DARK}
    counts = {colour: count for count, colour in colours if colour in wanted}
    counts = {colour: counts.get(colour, 0) for colour in wanted}
    for name, colour in SERIES_COLOURS.items():
        assert counts[colour] > 300, f"{name} of the charts was not drawn: {counts}"
    assert counts[HEATMAP_DARK] > 1000, "the confusion matrix was not drawn"


def test_the_console_check_does_catch_errors(tmp_path):
    """The control for the test above: a page that logs an error is caught."""
    page = tmp_path / "broken.html"
    page.write_text("<html><body><script>console.error('broken chart')</script></body></html>")
    done = _chromium("--dump-dom", page.as_uri(), profile=tmp_path / "profile")
    assert any("broken chart" in line for line in _console_messages(done.stderr)), done.stderr
