"""The import graph of the ``textssl`` package has no cycles.

The graph is read from the source with ``ast`` (nothing is imported). A node is a module; ``import a.b.c`` and
``from a.b import c`` are edges to ``a``, ``a.b`` and ``a.b.c`` (and to ``a.b.c`` when ``c`` is a submodule),
because Python runs each parent package's ``__init__`` first. An edge from a module to its own parent package
is left out: the parent is already initialised when its submodule runs.

Two graphs:

* module level -- the imports that run when a module is imported (top-level statements, ``if``/``try`` blocks
  at top level; not ``if TYPE_CHECKING:``). It must have no cycle at all.
* every import, also those inside functions (deferred so that ``import textssl`` stays light). It must have no
  cycle either, so a deferred import never hides a loop that a later refactor would make fail at import time.
  Besides, the Hub package must not reach ``textssl.training``, and the finetuning report must reach neither
  ``textssl.training`` nor the finetuning loop, even through a deferred import.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent / "textssl"


def modules() -> dict[str, Path]:
    out = {}
    for path in ROOT.rglob("*.py"):
        parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


def _top_level(body: list[ast.stmt]):
    """Import statements that run at import time: top level, and inside top-level if/try (not TYPE_CHECKING)."""
    for node in body:
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node
        elif isinstance(node, ast.If):
            if "TYPE_CHECKING" not in ast.unparse(node.test):
                yield from _top_level(node.body)
            yield from _top_level(node.orelse)
        elif isinstance(node, ast.Try):
            for block in (node.body, node.orelse, node.finalbody, *(h.body for h in node.handlers)):
                yield from _top_level(block)


def _targets(node: ast.Import | ast.ImportFrom, name: str, is_package: bool, known: dict) -> list[str]:
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    base = node.module or ""
    if node.level:  # relative import
        package = name.split(".") if is_package else name.split(".")[:-1]
        package = package[: len(package) - (node.level - 1)]
        base = ".".join([*package, base] if base else package)
    return [f"{base}.{a.name}" if f"{base}.{a.name}" in known else base for a in node.names]


def graph(deferred: bool) -> dict[str, set[str]]:
    known = modules()
    edges: dict[str, set[str]] = {}
    for name, path in known.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        nodes = (
            [n for n in ast.walk(tree) if isinstance(n, ast.Import | ast.ImportFrom)]
            if deferred
            else _top_level(tree.body)
        )
        deps = set()
        for node in nodes:
            for target in _targets(node, name, path.name == "__init__.py", known):
                parts = target.split(".")
                for i in range(1, len(parts) + 1):
                    dep = ".".join(parts[:i])
                    if dep in known and dep != name and not name.startswith(dep + "."):
                        deps.add(dep)
        edges[name] = deps
    return edges


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in edges[v]:
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
                found.append(sorted(component))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return found


def reachable(edges: dict[str, set[str]], start: str) -> set[str]:
    seen, todo = set(), [start]
    while todo:
        for dep in edges[todo.pop()]:
            if dep not in seen:
                seen.add(dep)
                todo.append(dep)
    return seen


def test_module_level_imports_have_no_cycle():
    edges = graph(deferred=False)
    assert len(edges) > 60 and "textssl.finetuning.loop" in edges["textssl.finetuning.suite"]
    assert cycles(edges) == []


def test_no_cycle_even_with_deferred_imports():
    edges = graph(deferred=True)
    assert "textssl.hub.cards" in edges["textssl.finetuning.loop"]  # a deferred import is an edge here
    assert cycles(edges) == []
    for module in [m for m in edges if m.startswith("textssl.hub")]:
        assert not any(m.startswith("textssl.training") for m in reachable(edges, module)), module
    report = reachable(edges, "textssl.finetuning.report")
    assert not any(m.startswith(("textssl.training", "textssl.finetuning.loop")) for m in report), report


def test_the_checker_finds_a_cycle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []
