"""Load Terraform with python-hcl2 and answer the questions the infra tests ask of it."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import hcl2
from hcl2.utils import SerializationOptions

ROOT = Path(__file__).resolve().parents[2]
TERRAFORM = ROOT / "terraform"
MODULES = TERRAFORM / "modules"
ENVS = TERRAFORM / "envs"
MODULE_NAMES = (
    "bucket",
    "platform",
    "secrets",
    "services",
    "scheduled_jobs",
    "network",
    "kms",
    "lake",
    "glue_jobs",
    "orchestration",
    "control_plane_db",
    "warehouse",
    "iam",
)
_OPTIONS = SerializationOptions(strip_string_quotes=True, explicit_blocks=False, with_comments=False)
_REF = re.compile(r"^\$\{(var|local)\.([A-Za-z0-9_]+)\}$")


def tf_files() -> list[Path]:
    """Every .tf file under terraform/ (excluding provider caches)."""
    return sorted(p for p in TERRAFORM.rglob("*.tf") if ".terraform" not in p.parts)


@cache
def load(path: Path) -> dict[str, Any]:
    """One .tf file as a dict (string literals unquoted; expressions stay as ``${...}`` strings)."""
    with path.open() as handle:
        return hcl2.load(handle, serialization_options=_OPTIONS)


@dataclass
class Module:
    """The blocks of one Terraform directory, merged across its files."""

    path: Path
    variables: dict[str, dict[str, Any]] = field(default_factory=dict)
    outputs: dict[str, dict[str, Any]] = field(default_factory=dict)
    locals: dict[str, Any] = field(default_factory=dict)
    resources: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    data: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    modules: dict[str, dict[str, Any]] = field(default_factory=dict)

    def resolve(self, value: Any) -> Any:
        """Replace a bare ``${var.x}`` / ``${local.x}`` by the variable's default / the local's value."""
        for _ in range(5):
            if not isinstance(value, str):
                return value
            match = _REF.match(value)
            if not match:
                return value
            kind, name = match.groups()
            if kind == "var":
                if "default" not in self.variables.get(name, {}):
                    return value
                value = self.variables[name]["default"]
            else:
                if name not in self.locals:
                    return value
                value = self.locals[name]
        return value


def _blocks(items: Any) -> list[dict[str, Any]]:
    if items is None:
        return []
    return items if isinstance(items, list) else [items]


@cache
def module(directory: Path) -> Module:
    """All variables, outputs, locals, resources and data sources of ``directory`` (not recursive)."""
    mod = Module(directory)
    for tf in sorted(directory.glob("*.tf")):
        doc = load(tf)
        for block in _blocks(doc.get("variable")):
            mod.variables.update(block)
        for block in _blocks(doc.get("output")):
            mod.outputs.update(block)
        for block in _blocks(doc.get("locals")):
            mod.locals.update(block)
        for block in _blocks(doc.get("module")):
            mod.modules.update(block)
        for kind, target in (("resource", mod.resources), ("data", mod.data)):
            for block in _blocks(doc.get(kind)):
                for rtype, named in block.items():
                    for name, body in named.items():
                        target[(rtype, name)] = body
    return mod


def module_dirs() -> list[Path]:
    """Every directory under terraform/ that holds .tf files."""
    return sorted({p.parent for p in tf_files()})
