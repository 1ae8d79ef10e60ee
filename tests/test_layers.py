"""The layers of the code point one way: checked on the source, so that they stay that way.

* No import cycle between geoface's sub-packages (function-local imports count).
* No module imports another package's private ``_module``; ``baselines``
  uses geoface's public names only.
* The run directory's file names are spelt in one module only
  (:mod:`geoface.runs._layout`); everything else uses its constants.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("geoface", "baselines")
RUN_FILE_NAMES = {
    "run.json",
    "metrics.json",
    "oof_predictions.csv",
    "model.json",
    "embeddings.npz",
    "embedding_pca.npz",
}


def _modules():
    for top in PACKAGES:
        for path in sorted((ROOT / top).rglob("*.py")):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            is_package = parts[-1] == "__init__"
            if is_package:
                parts = parts[:-1]
            yield path, ".".join(parts), is_package


def _imports(path: Path, name: str, is_package: bool):
    """Every module name ``path`` imports (``from a import b`` gives ``a`` and ``a.b``)."""
    package = name if is_package else name.rsplit(".", 1)[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node.lineno
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            yield module, node.lineno
            for alias in node.names:
                yield f"{module}.{alias.name}", node.lineno


def _unit(module: str) -> str:
    """The sub-package (or top-level module) a module belongs to: ``geoface.models``."""
    parts = module.split(".")
    return ".".join(parts[:2]) if parts[0] == "geoface" else parts[0]


def _private(parts) -> bool:
    return any(p.startswith("_") and not p.startswith("__") for p in parts)


def _edges():
    for path, name, is_package in _modules():
        for target, line in _imports(path, name, is_package):
            if target.split(".")[0] in PACKAGES:
                yield path, name, target, line


def test_no_import_cycle_between_subpackages():
    graph: dict[str, set[str]] = {}
    for _, name, target, _ in _edges():
        src, dst = _unit(name), _unit(target)
        if src != dst and "geoface" not in (src, dst) and dst in _known_units():
            graph.setdefault(src, set()).add(dst)
    cycles = _cycles(graph)
    assert not cycles, f"import cycles between sub-packages: {cycles}"


def _known_units() -> set[str]:
    return {_unit(name) for _, name, _ in _modules()}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one member (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, ()):
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

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_no_import_of_another_packages_private_module():
    bad = []
    for path, name, target, line in _edges():
        parts = target.split(".")
        if name.split(".")[0] == "baselines" and parts[0] == "geoface":
            if _private(parts[1:]):
                bad.append(f"{path.relative_to(ROOT)}:{line} imports {target}")
        elif _unit(name) != _unit(target) and _private(parts[2:]):
            bad.append(f"{path.relative_to(ROOT)}:{line} imports {target}")
    assert not bad, "imports of another package's private module:\n" + "\n".join(bad)


def test_run_directory_file_names_are_spelt_in_one_module():
    spelt: dict[str, set[str]] = {}
    for path, name, _ in _modules():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and node.value in RUN_FILE_NAMES:
                spelt.setdefault(name, set()).add(node.value)
    assert set(spelt) == {"geoface.runs._layout"}, spelt


def test_the_checks_can_fail(tmp_path):
    assert _cycles({"a": {"b"}, "b": {"a"}, "c": {"a"}}) == [["a", "b"]]
    assert not _cycles({"a": {"b"}, "b": set()})
    assert _private(["models", "_cv"]) and not _private(["models", "__version__"])
