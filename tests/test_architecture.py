"""The dependency rules of docs/architecture.md, checked on the source and in fresh processes."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"


def _module_graph(src: Path = SRC, *, deep: bool = False) -> dict[str, set[str]]:
    """``module -> unimeec modules it imports`` at module level (``deep``: anywhere)."""
    names = {}
    for path in (src / "unimeec").rglob("*.py"):
        parts = path.relative_to(src).with_suffix("").parts
        names[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    graph: dict[str, set[str]] = {}
    for name, path in names.items():
        deps: set[str] = set()
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree) if deep else tree.body:
            if isinstance(node, ast.ImportFrom) and node.module:
                deps |= {f"{node.module}.{a.name}" for a in node.names} | {node.module}
            elif isinstance(node, ast.Import):
                deps |= {a.name for a in node.names}
        graph[name] = {d for d in deps if d in names and d != name}
    return graph


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}  # 1 = on the stack, 2 = done

    def visit(node: str, stack: list[str]) -> list[str] | None:
        state[node] = 1
        for dep in sorted(graph[node]):
            if state.get(dep) == 1:
                return [*stack[stack.index(dep) :], dep]
            if dep not in state and (found := visit(dep, [*stack, dep])):
                return found
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state and (found := visit(start, [start])):
            return found
    return None


def test_the_graph_reader_finds_a_cycle() -> None:
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None


def test_no_module_level_import_circle() -> None:
    graph = _module_graph()
    assert "unimeec.checkpoint" in graph and "unimeec.data.datasets.ecf1" in graph
    assert _cycle(graph) is None


def _loaded_after(code: str) -> set[str]:
    script = f"{code}\nimport sys\nprint('\\n'.join(sorted(sys.modules)))"
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, cwd=SRC.parent
    )
    return set(out.stdout.split())


def _imported_by(graph: dict[str, set[str]], module: str) -> set[str]:
    """Everything importing ``module`` runs: its imports, theirs, and their packages."""
    seen: set[str] = set()
    todo = [module]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        parents = [".".join(name.split(".")[:k]) for k in range(1, name.count(".") + 1)]
        todo += [*graph.get(name, ()), *(p for p in parents if p in graph)]
    return seen


def test_inference_never_imports_training() -> None:
    """Not even inside a function (as ``resolve_model_dir`` once was)."""
    loaded = _imported_by(_module_graph(deep=True), "unimeec.predict")
    assert {"unimeec.checkpoint", "unimeec.models.modeling", "unimeec.data.features"} <= loaded
    assert sorted(m for m in loaded if m.startswith("unimeec.training")) == []
    assert "unimeec.training.config" in _imported_by(_module_graph(), "unimeec.training.run")


def test_the_command_line_starts_without_torch() -> None:
    loaded = _loaded_after("from unimeec.cli import build_parser\nbuild_parser()")
    assert "unimeec.training.commands" in loaded
    assert {"torch", "transformers", "lightning"}.isdisjoint(loaded)
