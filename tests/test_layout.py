"""The package's import direction: cli -> jobs -> outputs -> stages -> store -> base, no cycles.

Read from the source (every `import` in every module, also those inside functions and under
`TYPE_CHECKING`), so a lazy import cannot hide a wrong-way dependency. The rule each package
follows is in its `__init__` docstring; this test is where it is enforced.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "evidence"

# Rank of each top-level part of `evidence`: a module may import its own package and anything of
# a lower rank. Equal ranks in different packages (pubmed, claims) do not import each other.
RANK = {
    "errors": 0,
    "config": 0,
    "provenance": 0,
    "vocab": 0,
    "clock": 0,
    "store": 1,
    "pubmed": 2,
    "claims": 2,
    "linking": 3,
    "grading": 4,
    "outputs": 5,
    "jobs": 6,
    "web": 7,
    "cli": 8,
    "__main__": 9,
}


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def all_modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def imports_of(path: Path, known: set[str]) -> set[str]:
    """The `evidence` modules a file imports (`from evidence.x import y` counts `evidence.x.y`
    when y is a module)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("evidence"))
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if not node.module.startswith("evidence"):
                continue
            found.add(node.module)
            found.update(
                f"{node.module}.{a.name}" for a in node.names if f"{node.module}.{a.name}" in known
            )
    return found & known


def graph() -> dict[str, set[str]]:
    modules = all_modules()
    known = set(modules)
    return {name: imports_of(path, known) - {name} for name, path in modules.items()}


def part(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def test_every_part_has_a_rank() -> None:
    unranked = {part(m) for m in all_modules() if m != "evidence"} - set(RANK)
    assert not unranked, f"add these to RANK (and to README 'Layout'): {sorted(unranked)}"


def test_imports_point_down() -> None:
    wrong = []
    for module, imported in graph().items():
        if module == "evidence":
            continue  # the public API re-exports lazily, from every layer (see its docstring)
        for target in imported:
            if target == "evidence" or part(target) == part(module):
                continue
            if RANK[part(target)] >= RANK[part(module)]:
                wrong.append(f"{module} -> {target}")
    assert not wrong, "imports against the layering:\n" + "\n".join(sorted(wrong))


def test_no_import_cycles() -> None:
    edges = {m: {t for t in ts if t != "evidence"} for m, ts in graph().items() if m != "evidence"}
    cycles: list[list[str]] = []
    state: dict[str, int] = {}  # 1 = on the stack, 2 = done

    def visit(node: str, stack: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == 1:
                cycles.append([*stack[stack.index(nxt) :], nxt])
            elif nxt not in state:
                visit(nxt, [*stack, nxt])
        state[node] = 2

    for start in sorted(edges):
        if start not in state:
            visit(start, [start])
    assert not cycles, "import cycles:\n" + "\n".join(" -> ".join(c) for c in cycles)


def test_every_package_says_what_it_may_import() -> None:
    for init in PACKAGE.glob("*/__init__.py"):
        doc = ast.get_docstring(ast.parse(init.read_text())) or ""
        assert "May import" in doc, f"{init.parent.name}/__init__.py: say what it may import"


def test_cli_runs_no_sql() -> None:
    """The CLI parses and prints: statements and `execute` calls belong to the library."""
    found = []
    for path in sorted((PACKAGE / "cli").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.ImportFrom) and node.module in ("sqlalchemy", "sqlmodel"):
                sql = {"text", "select", "insert", "update", "delete"}
                found += [f"{path.name}: imports {a.name}" for a in node.names if a.name in sql]
            elif isinstance(node, ast.Attribute) and node.attr == "execute":
                found.append(f"{path.name}:{node.lineno}: .execute")
    assert not found, "SQL in the CLI:\n" + "\n".join(found)
