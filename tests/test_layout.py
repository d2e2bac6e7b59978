"""The package layout: one-way imports between sub-packages, no import cycles, a small top level,
and no file citing a document outside the repository (bench/ARCHITECTURE.md, "Import rules").

Every ``import`` and ``from ... import`` in bench/ counts, including those inside functions.
``from bench.x import y`` is an import of the module ``bench.x.y`` when that module exists,
otherwise of ``bench.x``. Importing a sub-module is not counted as importing its parent
package's ``__init__`` (Python runs it, but the dependency is on the sub-module).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("datasets", "models", "stats", "runner", "tables", "report", "tracking", "penalty_path", "curves")
# package -> what it never imports (the table; "stats" is a leaf: nothing of bench's at all)
NEVER = {
    "stats": {"*"},
    "datasets": {"models", "runner", "tables", "report", "tracking"},
    "models": {"runner", "tables", "report", "tracking", "cli", "api"},
    "tables": {"models", "runner", "report", "tracking"},
    "report": {"models", "runner", "datasets", "tracking"},
    "tracking": {"models", "runner", "datasets"},
    "runner": {"report", "tracking"},
}
# the design notes that lived outside the repository before bench/ARCHITECTURE.md, and their folder
OUTSIDE = ("DESIGN" + ".md", "shared/")  # spelled apart: this file names no outside document
MAX_TOP_LEVEL = 8  # __init__, __main__, cli, api, config, errors and two shared basics


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules(root: Path, package: str = "bench") -> dict[str, Path]:
    return {module_name(p, root): p for p in sorted((root / package).rglob("*.py"))}


def imports(path: Path, name: str, known: set[str]) -> set[str]:
    """The bench modules that the file at ``path`` (module ``name``) imports, anywhere in it."""
    found = set()
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: from . import x / from ..y import z
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            for alias in node.names:
                found.add(f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base)
    root = next(iter(known)).split(".")[0]
    return {m for m in found if m == root or m.startswith(root + ".")}


def graph(root: Path, package: str = "bench") -> dict[str, set[str]]:
    found = modules(root, package)
    known = set(found)
    return {name: imports(path, name, known) - {name} for name, path in found.items()}


def area(module: str) -> str:
    """bench.tables.frames -> "tables"; bench.cli -> "cli"; bench -> "bench"."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else parts[0]


def violations(edges: dict[str, set[str]], never: dict[str, set[str]] = NEVER) -> list[str]:
    out = []
    for source, targets in sorted(edges.items()):
        forbidden = never.get(area(source), set())
        for target in sorted(targets):
            if area(target) == area(source):
                continue
            if "*" in forbidden or area(target) in forbidden:
                out.append(f"{source} imports {target}: {area(source)} never imports {area(target)}")
    return out


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan), each sorted."""
    index, low, stack, on_stack, out = {}, {}, [], set(), []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in edges.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return out


@pytest.fixture(scope="module")
def edges():
    return graph(ROOT)


def test_import_rules_hold(edges):
    assert set(PACKAGES) <= {area(m) for m in edges}, "a sub-package is missing"
    assert violations(edges) == []


def test_no_import_cycles(edges):
    assert cycles(edges) == []


def test_top_level_is_small():
    top = sorted(p.stem for p in (ROOT / "bench").glob("*.py"))
    assert len(top) <= MAX_TOP_LEVEL, top


def test_no_file_cites_a_document_outside_the_repository():
    cited = []
    for path in [
        *ROOT.glob("*.md"),
        *ROOT.glob("*.toml"),
        *ROOT.glob("*.ini"),
        *(ROOT / ".ci").glob("*"),
        *(ROOT / "bench").rglob("*"),
        *(ROOT / "tests").rglob("*.py"),
        *(ROOT / "datasets").glob("*.toml"),
    ]:
        if path.is_file() and path.suffix in {".py", ".md", ".toml", ".ini", ""} and path != Path(__file__):
            text = path.read_text(encoding="utf-8", errors="replace")
            if any(name in text for name in OUTSIDE):
                cited.append(str(path.relative_to(ROOT)))
    assert cited == []


# --- the checker itself finds what it should ------------------------------------------------


def _write(root: Path, name: str, text: str) -> None:
    path = root / (name.replace(".", "/") + ".py")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def test_checker_finds_a_forbidden_import_inside_a_function_and_a_cycle(tmp_path):
    _write(tmp_path, "bench.__init__", "")
    for package in ("stats", "tables", "report", "runner"):
        _write(tmp_path, f"bench.{package}.__init__", "")
    _write(tmp_path, "bench.stats.links", "def f():\n    from bench.tables import frames\n")
    _write(tmp_path, "bench.tables.frames", "from bench.stats import links\n")
    _write(tmp_path, "bench.report.page", "from .. import errors\nfrom bench.runner.cell import run\n")
    _write(tmp_path, "bench.runner.cell", "import numpy\n")
    _write(tmp_path, "bench.errors", "")
    found = graph(tmp_path)
    assert found["bench.stats.links"] == {"bench.tables.frames"}
    assert found["bench.report.page"] == {"bench.errors", "bench.runner.cell"}
    assert violations(found) == [
        "bench.report.page imports bench.runner.cell: report never imports runner",
        "bench.stats.links imports bench.tables.frames: stats never imports tables",
    ]
    assert cycles(found) == [["bench.stats.links", "bench.tables.frames"]]
