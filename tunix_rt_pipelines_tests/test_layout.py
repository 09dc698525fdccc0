"""The package layout rules (docs/architecture.md), checked over the source itself.

Contract: `lib/` imports and works with dagster unavailable; imports only run one way
(environment <- lib <- resources <- defs <- definitions, cli), and inside `lib/` and `defs/` a
concern imports only the concerns before it; no module is over 300 lines; the root
definitions stay a folder load plus policy (<= 30 lines).
"""

from __future__ import annotations

import ast
import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "tunix_rt_pipelines"
NAME = "tunix_rt_pipelines"

# Layers, lowest first: a module may import its own layer and the ones before it.
LAYERS = ["environment", "lib", "resources", "defs", "definitions", "cli"]
# Concerns in data-flow order; a module outside every concern folder is the layer's shared core,
# which may be imported by every concern and imports none.
LIB_CONCERNS = ["datasets", "evaluation", "models", "inference", "training", "registry", "sweep", "serving"]
DEFS_CONCERNS = ["datasets", "models", "inference", "training", "evaluation", "registry", "sweep"]
SHARED_LAST = {"defs": {"schedules"}}  # shared modules that use the jobs, as sensors do


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _project_imports(path: Path) -> set[str]:
    """Every project module `path` imports, at any depth (imports inside functions too)."""
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names if a.name.startswith(NAME)}
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith(NAME):
            # `from package import module` imports the module; `from module import name`, the module.
            out |= {f"{node.module}.{a.name}" if _is_module(f"{node.module}.{a.name}") else node.module for a in node.names}
    return out


def _is_module(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except ImportError:  # "a.b.c" where a.b is a plain module
        return False


def _rank(module: str) -> tuple[int, int]:
    """(layer, concern position) of a module; -1 for the shared core of its layer."""
    parts = module.split(".")[1:] or ["__init__"]
    layer = LAYERS.index(parts[0]) if parts[0] in LAYERS else LAYERS.index("definitions")
    concerns = {"lib": LIB_CONCERNS, "defs": DEFS_CONCERNS}.get(parts[0])
    if not concerns or len(parts) < 3 or parts[1] not in concerns:
        last = parts[0] in SHARED_LAST and len(parts) == 2 and parts[1] in SHARED_LAST[parts[0]]
        return layer, len(concerns) if (concerns and last) else -1
    return layer, concerns.index(parts[1])


MODULES = sorted(p for p in PACKAGE.rglob("*.py") if "migrations" not in p.parts)


def test_imports_run_one_way():
    back_edges = []
    for path in MODULES:
        importer = _module_name(path)
        for imported in _project_imports(path):
            if imported == NAME:
                continue
            (layer, concern), (their_layer, their_concern) = _rank(importer), _rank(imported)
            same_folder = importer.rsplit(".", 1)[0] == imported.rsplit(".", 1)[0]
            if their_layer > layer or (their_layer == layer and not same_folder and their_concern > concern) or \
                    (their_layer == layer and concern == -1 and their_concern >= 0):
                back_edges.append(f"{importer} -> {imported}")
    assert back_edges == []


def test_the_rank_rule_sees_a_back_edge():
    """The check above can fail: a lib module importing defs, or registry importing sweep, ranks as a back-edge."""
    assert _rank("tunix_rt_pipelines.defs.registry.assets")[0] > _rank("tunix_rt_pipelines.lib.registry.promote")[0]
    assert _rank("tunix_rt_pipelines.lib.sweep.tuner")[1] > _rank("tunix_rt_pipelines.lib.registry.promote")[1]
    assert _rank("tunix_rt_pipelines.lib.files") == (1, -1) and _rank("tunix_rt_pipelines.defs.jobs") == (3, -1)


def test_lib_imports_and_works_without_dagster():
    code = f"""
import importlib, pkgutil, sys
class NoDagster:
    def find_spec(self, name, path=None, target=None):
        if name == "dagster" or name.startswith(("dagster.", "dagster_")):
            raise ImportError(f"{{name}} is blocked: lib/ must not need it")
sys.meta_path.insert(0, NoDagster())
import {NAME}.lib as lib
names = [m.name for m in pkgutil.walk_packages(lib.__path__, lib.__name__ + ".") if ".migrations" not in m.name]
for name in names:
    importlib.import_module(name)
from {NAME}.lib.evaluation.metrics import score_item
assert score_item("x", "42", "Answer: 42").correct  # and it computes
print(len(names))
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert int(out.stdout) >= 35  # every lib module was imported, not an empty walk


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_module_over_300_lines(path: Path):
    assert len(path.read_text().splitlines()) <= 300


def test_root_definitions_stay_small():
    assert len((PACKAGE / "definitions.py").read_text().splitlines()) <= 30
