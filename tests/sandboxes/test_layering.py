"""The emulators are a separate, development-only package: the product never imports them, nor they it."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def imported_modules(path: Path) -> set[str]:
    """Every module ``path`` imports, at the top or inside a function."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
    return found


def test_no_emulator_imports_the_product() -> None:
    offenders = {
        str(p.relative_to(ROOT)): sorted(m for m in imported_modules(p) if m.split(".")[0] == "lakehouse")
        for p in (ROOT / "sandboxes").rglob("*.py")
    }
    assert {p: m for p, m in offenders.items() if m} == {}


def test_only_the_command_line_loads_an_emulator() -> None:
    commands = ROOT / "lakehouse" / "commands"
    offenders = {
        str(p.relative_to(ROOT)): sorted(m for m in imported_modules(p) if m.split(".")[0] == "sandboxes")
        for p in (ROOT / "lakehouse").rglob("*.py")
        if commands not in p.parents
    }
    assert {p: m for p, m in offenders.items() if m} == {}
    for path in (ROOT / "lakehouse").rglob("*.py"):  # nor by a dotted name handed to importlib
        if commands not in path.parents:
            assert '"sandboxes.' not in path.read_text(), path


def test_the_emulators_are_one_folder_per_service_family_on_one_shared_base() -> None:
    shared = {"sandboxes._http", "sandboxes._sigv4", "sandboxes._model"}
    families = ("partner_central", "marketplace", "bedrock")
    for family in families:
        modules = set().union(*(imported_modules(p) for p in (ROOT / "sandboxes" / family).glob("*.py")))
        assert shared <= modules, (family, shared - modules)
        other = set(families) - {family}
        assert not [m for m in modules if m.split(".")[1:2] == list(other)], family
