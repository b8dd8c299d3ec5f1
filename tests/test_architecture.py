"""The package's layers hold: import-linter's contracts pass, no module imports itself back
through others (imports inside functions counted), and the tree stays small enough to read."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import grimp
import numpy as np
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import connected_components

from conftest import REPO

PACKAGE = REPO / "promptsearch"


def test_import_contracts_hold():
    lint = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run([str(lint), "--no-cache"], cwd=REPO, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "broken" not in result.stdout.lower().replace("0 broken", "")


def import_cycles(graph) -> list[set[str]]:
    """Groups of modules that import each other, directly or through others (strongly
    connected components of the import graph with more than one module, or a self-import)."""
    modules = sorted(graph.modules)
    index = {name: i for i, name in enumerate(modules)}
    edges = [(index[a], index[b]) for a in modules
             for b in graph.find_modules_directly_imported_by(a) if b in index]
    rows, cols = zip(*edges)
    matrix = csr_matrix((np.ones(len(edges)), (rows, cols)), shape=(len(modules),) * 2)
    count, labels = connected_components(matrix, directed=True, connection="strong")
    groups: dict[int, set[str]] = {}
    for name, label in zip(modules, labels):
        groups.setdefault(label, set()).add(name)
    return [group for group in groups.values() if len(group) > 1]


def test_no_import_cycles_among_modules():
    # grimp reads every import statement, inside functions and `if TYPE_CHECKING:` too.
    graph = grimp.build_graph("promptsearch")
    # The package root re-exports the public API, so it imports nearly everything; a module
    # importing the root back would show up here as a cycle.
    assert import_cycles(graph) == []


def test_cycle_check_finds_a_cycle(tmp_path, monkeypatch):
    modules = {"a": "from cyclic.b import x\n",
               "b": "def x():\n    from cyclic.a import y\n",  # a lazy import counts too
               "c": ""}
    for name, body in modules.items():
        (tmp_path / "cyclic").mkdir(exist_ok=True)
        (tmp_path / "cyclic" / f"{name}.py").write_text(body)
    (tmp_path / "cyclic" / "__init__.py").write_text("")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert import_cycles(grimp.build_graph("cyclic")) == [{"cyclic.a", "cyclic.b"}]


def test_the_tree_stays_readable():
    top_level = sorted(p.name for p in PACKAGE.glob("*.py"))
    assert len(top_level) <= 8, top_level
    long = {str(p.relative_to(REPO)): n for p in PACKAGE.rglob("*.py")
            if (n := len(p.read_text(encoding="utf-8").splitlines())) >= 400}
    assert long == {}
