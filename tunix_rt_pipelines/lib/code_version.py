"""Code versions derived from source, so an asset is "Unsynced" exactly when the code that makes it changed.

`function_code_version(fn)` hashes what runs when an asset's function runs:

- the function itself and every module-level function, class or constant of a `defs` module
  that it uses, followed name by name (so two assets in one file do not share their edits);
- every other project module it uses (`lib/`, `resources/`, `environment.py`), whole, with
  everything those import from the project, transitively (imports inside functions included).

Each piece is hashed as its syntax tree with docstrings and decorators removed (`ast.dump`), so
comments, docstrings, blank lines and formatting never change a version; anything that can change
behaviour does. Third-party libraries are not hashed: their versions are pinned by uv.lock.

`merkle(own, parents)` then folds in the versions of an asset's upstream assets: Dagster marks
an asset stale when its own code version changed, but not its downstream (they only go stale
once the upstream is re-materialized with new data), so the downstream versions must change
too for the UI to show the whole affected chain Unsynced before anything is re-run.
"""

from __future__ import annotations

import ast
import functools
import hashlib
import importlib.util
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

PROJECT = "tunix_rt_pipelines"
DEFS = f"{PROJECT}.defs"
VERSION_LENGTH = 16
Reader = Callable[[Path], str]


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


@functools.cache
def _is_module(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


def _strip(node: ast.AST) -> None:
    """Drop docstrings and decorators in place: they do not change what the code computes."""
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        node.decorator_list = []
    if isinstance(node, (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and node.body:
        first = node.body[0]
        if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(first.value.value, str):
            node.body = node.body[1:] or [ast.Pass()]


@dataclass
class _Imports:
    modules: dict[str, str] = field(default_factory=dict)  # local name -> the project module it names or comes from
    attrs: dict[str, str] = field(default_factory=dict)  # local name -> the attribute imported from that module
    dotted: set[str] = field(default_factory=set)  # `import tunix_rt_pipelines.x.y`: used through the package name

    def add(self, node: ast.Import | ast.ImportFrom) -> None:
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith(PROJECT) and alias.asname:
                    self.modules[alias.asname] = alias.name
                elif alias.name.startswith(f"{PROJECT}."):
                    self.dotted.add(alias.name)
            return
        if node.level or not (node.module or "").startswith(PROJECT):
            return  # the project uses absolute imports only; anything else is a third-party library
        for alias in node.names:
            local, submodule = alias.asname or alias.name, f"{node.module}.{alias.name}"
            if _is_module(submodule):  # `from package import module`
                self.modules[local] = submodule
            else:
                self.modules[local], self.attrs[local] = node.module, alias.name


@dataclass
class _Module:
    tree: ast.Module
    imports: _Imports
    top: dict[str, ast.AST]  # top-level functions, classes and assigned names

    @functools.cached_property
    def fingerprint(self) -> str:
        return _sha(ast.dump(self.tree, include_attributes=False))


@functools.cache
def _module(name: str, read: Reader | None = None) -> _Module:
    spec = importlib.util.find_spec(name)
    if spec is None or spec.origin is None:
        raise ModuleNotFoundError(name)
    tree = ast.parse((read or Path.read_text)(Path(spec.origin)))
    imports, top = _Imports(), {}
    for node in ast.walk(tree):  # one pass: every import, also those inside functions (the lazy heavy ones)
        _strip(node)
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            imports.add(node)
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            top[node.name] = node
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            for target in node.targets if isinstance(node, ast.Assign) else [node.target]:
                top.update({sub.id: node for sub in ast.walk(target) if isinstance(sub, ast.Name)})
    return _Module(tree, imports, top)


class _Collector:
    """Walks from one function to everything it uses, collecting `{piece: fingerprint}`."""

    def __init__(self, read: Reader | None):
        self.read = read
        self.parts: dict[str, str] = {}

    def use(self, module: str, attr: str | None) -> None:
        if module == PROJECT:
            return  # the package's empty __init__
        if module.startswith(DEFS) and attr is not None:
            self.definition(module, attr)
        else:
            self.module(module)

    def module(self, name: str) -> None:
        """A whole module and its project imports, transitively."""
        if name in self.parts:
            return
        info = _module(name, self.read)
        self.parts[name] = info.fingerprint
        for local, target in info.imports.modules.items():
            self.use(target, info.imports.attrs.get(local) if target.startswith(DEFS) else None)
        for target in info.imports.dotted:
            self.module(target)

    def definition(self, module: str, name: str) -> None:
        """One top-level definition of a defs module, and what it uses."""
        key, info = f"{module}:{name}", _module(module, self.read)
        if key in self.parts or name not in info.top:
            return
        node = info.top[name]
        self.parts[key] = _sha(ast.dump(node, include_attributes=False))
        for sub in ast.walk(node):
            if isinstance(sub, (ast.Import, ast.ImportFrom)):  # a lazy import inside the function
                local = _Imports()
                local.add(sub)
                for used, target in local.modules.items():
                    self.use(target, local.attrs.get(used))
                for target in local.dotted:
                    self.module(target)
            elif isinstance(sub, ast.Name):
                if sub.id == PROJECT:  # `tunix_rt_pipelines.x.y.f()` after `import tunix_rt_pipelines.x.y`
                    for target in info.imports.dotted:
                        self.module(target)
                elif sub.id in info.imports.modules:
                    self.use(info.imports.modules[sub.id], info.imports.attrs.get(sub.id))
                elif sub.id in info.top:
                    self.definition(module, sub.id)


def function_code_version(fn: Callable, read: Reader | None = None) -> str:
    """The code version of the asset computed by `fn` (see the module docstring).

    Args:
        fn: The undecorated asset function (defined at the top level of a `defs` module, or inside a
            top-level factory function there).
        read: Reads a source file (default `Path.read_text`); tests pass one that edits a file.

    Returns:
        16 hex characters.
    """
    collector = _Collector(read)
    # A factory-made asset's function is `factory.<locals>.fn`: its code is the factory's top-level definition.
    collector.definition(fn.__module__, fn.__qualname__.split(".")[0])
    return _sha("\n".join(f"{k}={v}" for k, v in sorted(collector.parts.items())))[:VERSION_LENGTH]


def merkle(own: Mapping[Hashable, str], parents: Mapping[Hashable, set]) -> dict[Hashable, str]:
    """Each node's own version combined with its parents' combined versions (parents not in `own` are skipped).

    Raises:
        ValueError: The parents form a cycle.
    """
    done: dict[Hashable, str] = {}

    def version(node: Hashable, path: tuple = ()) -> str:
        if node in path:
            raise ValueError(f"dependency cycle through {node!r}")
        if node not in done:
            upstream = sorted(version(p, (*path, node)) for p in parents.get(node, ()) if p in own)
            done[node] = _sha("|".join([own[node], *upstream]))[:VERSION_LENGTH]
        return done[node]

    for node in own:
        version(node)
    return done
