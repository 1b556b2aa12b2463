"""CI check: the project's packages depend in one direction, and no module imports itself in a circle.

    nrp_jupyter -> kernel_ext -> engines -> nrp_protobuf        nrp_core -> engines

A package may import the packages to its right, never one to its left; `nrp_core` is the import
surface of experiments, so nothing in nrp_jupyter, kernel_ext or engines imports it. Within and across
packages no module may reach itself again through imports, counting imports deferred into functions
(a deferred import hides a circle from Python at import time, not from a reader).

Reads the sources with `ast` only; imports nothing of the project. Prints each violation with its file
and line and exits 1 if there is any.

    .venv/bin/python scripts/check_imports.py
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# Package -> the project packages it may import (besides itself).
ALLOWED = {
    "nrp_jupyter": {"kernel_ext", "engines", "nrp_protobuf"},
    "kernel_ext": {"engines", "nrp_protobuf"},
    "engines": {"nrp_protobuf"},
    "nrp_core": {"engines", "nrp_protobuf"},
    "nrp_protobuf": set(),
}
PACKAGES = tuple(ALLOWED)

# Known violations, each with why it stays for now. The goal is an empty set.
# Violations tolerated on purpose, each with why; empty, and meant to stay so.
EXCEPTIONS: set[tuple[str, tuple[str, ...]]] = set()


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def project_modules() -> dict[str, Path]:
    modules = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            modules[module_name(path)] = path
    return modules


def resolve_relative(module: str, path: Path, level: int, target: str | None) -> str:
    base = module.split(".")
    if path.name != "__init__.py":
        base.pop()
    if level > 1:
        base = base[: len(base) - (level - 1)]
    return ".".join(base + ([target] if target else []))


def imports_of(module: str, path: Path, modules: dict[str, Path]) -> list[tuple[str, int]]:
    """(imported project module, line) for every import in the file, wherever it stands."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            target = (resolve_relative(module, path, node.level, node.module) if node.level
                      else node.module or "")
            # `from package import module` imports the module; `from module import name` the module.
            names = [f"{target}.{alias.name}" if f"{target}.{alias.name}" in modules else target
                     for alias in node.names]
        else:
            continue
        for name in names:
            while name and name not in modules:
                name = name.rpartition(".")[0]
            if not name or name == module:
                continue
            found.append((name, node.lineno))
            # Importing `a.b.c` first runs `a/__init__` and `a/b/__init__`; those count as imports too,
            # except the packages the importing module is itself in (they always run before it).
            parent = name.rpartition(".")[0]
            while parent:
                if parent in modules and parent != module and not module.startswith(parent + "."):
                    found.append((parent, node.lineno))
                parent = parent.rpartition(".")[0]
    return sorted(set(found), key=lambda edge: (edge[1], edge[0]))


def package_of(module: str) -> str:
    return module.split(".")[0]


def find_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one member (Tarjan, iterative)."""
    index, low, on_stack, stack, components = {}, {}, set(), [], []
    counter = 0
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            for child in children:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    if len(component) > 1:
                        components.append(sorted(component))
    return components


def main() -> int:
    modules = project_modules()
    edges: dict[str, list[tuple[str, int]]] = {m: imports_of(m, p, modules) for m, p in modules.items()}
    violations = []

    for module, imported in edges.items():
        package = package_of(module)
        for target, line in imported:
            other = package_of(target)
            if other != package and other not in ALLOWED[package]:
                violations.append(f"{modules[module].relative_to(ROOT)}:{line}: {package} imports {target} "
                                  f"({package} may import only {', '.join(sorted(ALLOWED[package])) or 'nothing'})")

    # A module imports its package's __init__ implicitly, so parents are not edges; only written imports count.
    graph = {m: {t for t, _ in imported} for m, imported in edges.items()}
    for component in find_cycles(graph):
        if ("module cycle", tuple(component)) in EXCEPTIONS:
            print("excepted module cycle: " + ", ".join(component))
            continue
        members = set(component)
        violations.append("module cycle: " + ", ".join(component))
        for module in component:
            for target, line in edges[module]:
                if target in members:
                    violations.append(f"    {modules[module].relative_to(ROOT)}:{line}: {module} imports {target}")

    package_graph = {p: set() for p in PACKAGES}
    for module, imported in edges.items():
        for target, _ in imported:
            if package_of(target) != package_of(module):
                package_graph[package_of(module)].add(package_of(target))
    for component in find_cycles(package_graph):
        violations.append("package cycle: " + ", ".join(component))

    for violation in violations:
        print(violation)
    if violations:
        print(f"{sum(not v.startswith('    ') for v in violations)} violation(s)")
        return 1
    print(f"imports ok: {len(modules)} modules, {sum(map(len, graph.values()))} imports, no cycle outside EXCEPTIONS")
    return 0


if __name__ == "__main__":
    sys.exit(main())
