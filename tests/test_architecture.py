"""The package's layers, checked from the source (AST): what imports what, where the environment is written,
what notebooks hard-code. A module may import its own layer or lower ones; ``data_prep`` sits below everything."""
from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import pytest

from tests.helpers import REPO_ROOT

# llie_core's layers, lowest first (README "Layout"); the root modules are entry points above every layer.
LAYERS = ("core", "models", "metrics", "losses", "engine", "evaluation", "training", "report", "analysis",
          "workbook")
ROOT_MODULES_MAX = 3


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO_ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _sources(package: str) -> dict[str, Path]:
    return {_module_name(p): p for p in sorted((REPO_ROOT / package).rglob("*.py"))}


MODULES = {**_sources("llie_core"), **_sources("data_prep")}


def _imports(name: str, path: Path) -> set[str]:
    """Project modules ``name`` imports (top-level and function-local), resolved to module names."""
    is_pkg = path.name == "__init__.py"
    package = name.split(".") if is_pkg else name.split(".")[:-1]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package[: len(package) - node.level + 1] + ([node.module] if node.module else []))
            targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in MODULES else base for a in node.names]
        else:
            continue
        found |= {t for t in targets if t.split(".")[0] in ("llie_core", "data_prep") and t != name}
    return found


GRAPH = {name: _imports(name, path) for name, path in MODULES.items()}


def _rank(module: str) -> int:
    """0 for data_prep, 1 + the layer's index inside llie_core, the top for llie_core's root modules."""
    parts = module.split(".")
    if parts[0] == "data_prep":
        return 0
    if len(parts) == 1 or parts[1] not in LAYERS:
        return len(LAYERS) + 1
    return 1 + LAYERS.index(parts[1])


def test_every_llie_core_module_sits_in_a_layer():
    stray = [m for m in MODULES if m.startswith("llie_core.") and m.split(".")[1] not in LAYERS
             and (REPO_ROOT / "llie_core" / f"{m.split('.')[1]}").is_dir()]
    assert not stray, f"folders of llie_core that are not a declared layer: {stray}"


def test_at_most_three_modules_at_the_package_root():
    root = sorted(p.name for p in (REPO_ROOT / "llie_core").glob("*.py"))
    assert len(root) <= ROOT_MODULES_MAX, root


def test_no_upward_imports():
    upward = [f"{m} -> {t}" for m, targets in GRAPH.items() for t in targets if _rank(t) > _rank(m)]
    assert not upward, "imports of a higher layer:\n" + "\n".join(sorted(upward))


def _layer(module: str) -> str:
    """``llie_core.<layer>`` for llie_core's modules, ``data_prep`` for the data package."""
    parts = module.split(".")
    return ".".join(parts[:2]) if parts[0] == "llie_core" else parts[0]


def test_layers_of_equal_rank_do_not_import_each_other():
    sideways = [f"{m} -> {t}" for m, targets in GRAPH.items() for t in targets
                if _rank(t) == _rank(m) and _layer(m) != _layer(t)]
    assert not sideways, sideways


def test_data_prep_imports_nothing_from_llie_core():
    bad = [f"{m} -> {t}" for m, targets in GRAPH.items() if m.startswith("data_prep")
           for t in targets if t.startswith("llie_core")]
    assert not bad, bad


def test_no_import_cycles():
    """Tarjan's strongly connected components over every import (function-local ones included)."""
    index, low, stack, on_stack, cycles = {}, {}, [], set(), []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in GRAPH.get(v, ()):
            if w not in GRAPH:
                continue
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
                cycles.append(sorted(component))

    for v in sorted(GRAPH):
        if v not in index:
            visit(v)
    assert not cycles, cycles


ENV_WRITE = re.compile(r"os\.environ\[[^\]]+\]\s*=(?!=)|os\.environ\.(setdefault|update)\(|os\.putenv\(")


def test_library_code_never_writes_the_environment():
    writes = [f"{p.relative_to(REPO_ROOT)}:{i}" for p in (REPO_ROOT / "llie_core").rglob("*.py")
              for i, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1) if ENV_WRITE.search(line)]
    assert not writes, writes


def test_the_checker_sees_an_environment_write():
    assert ENV_WRITE.search('os.environ["LLIE_DATA_ROOT"] = root')
    assert ENV_WRITE.search('os.environ.setdefault("X", "1")')
    assert not ENV_WRITE.search('os.environ.get("X") == "1"')


@pytest.mark.parametrize("notebook", sorted((REPO_ROOT / "notebooks").glob("*.ipynb")), ids=lambda p: p.stem)
def test_notebooks_hold_no_per_profile_constants(notebook: Path):
    code = "\n".join("".join(c["source"]) for c in json.loads(notebook.read_text())["cells"]
                     if c["cell_type"] == "code")
    for pattern in ("profile_name ==", "[ctx.profile_name]", "noqa: E731"):
        assert pattern not in code, f"{notebook.name}: {pattern!r} (per-profile settings belong in the YAMLs)"
