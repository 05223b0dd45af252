"""Table registry: every lake table's layer, name, declared schema, keys, grain and column classification.

Paths are derived here and nowhere else: ``{lake_root}/{layer}/{name}``; the Delta table is partitioned by
``tenant_id`` so each tenant's rows live under ``tenant_id=<id>/``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from pyspark.sql.types import DataType, StringType, StructField, StructType

from lakehouse.settings import get_settings

Layer = Literal["bronze", "silver", "gold", "platinum", "ops"]
Classification = Literal["public", "internal", "confidential", "pii"]
LAYERS: tuple[str, ...] = ("bronze", "silver", "gold", "platinum", "ops")
CLASSIFICATIONS: tuple[str, ...] = ("public", "internal", "confidential", "pii")
TENANT_COLUMN = "tenant_id"
DOMAINS: tuple[str, ...] = ("lakehouse.partner_central", "lakehouse.marketplace", "lakehouse.platinum")
"""Domain packages. Each declares its tables in ``<domain>.entities`` (a module, or a package of modules) and
ships the quality suites of its tables as package data in ``<domain>/suites/`` (lakehouse.quality.suites)."""
DECLARING_MODULES: tuple[str, ...] = ("lakehouse.ops", *(f"{d}.entities" for d in DOMAINS))
SUITE_LAYERS: tuple[str, ...] = ("silver", "gold", "platinum")
"""Layers whose every table must have a quality suite (a declared table without one is an error)."""


class UnknownTable(KeyError):
    """A table name that the catalog does not declare."""

    def __str__(self) -> str:  # KeyError quotes its message; keep it readable
        return str(self.args[0])


@dataclass(frozen=True)
class TableDef:
    """A declared lake table. ``classification`` must name every column of ``schema``."""

    layer: Layer
    name: str
    schema: StructType
    keys: tuple[str, ...]
    grain: str
    classification: dict[str, Classification]
    description: str = ""
    partition_by: tuple[str, ...] = (TENANT_COLUMN,)
    properties: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        names = self.schema.fieldNames()
        problems: list[str] = []
        if self.layer not in LAYERS:
            problems.append(f"layer {self.layer!r} is not one of {LAYERS}")
        if (
            not names
            or names[0] != TENANT_COLUMN
            or not isinstance(self.schema[TENANT_COLUMN].dataType, StringType)
        ):
            problems.append("the first column must be tenant_id (string)")
        if self.partition_by[:1] != (TENANT_COLUMN,):
            problems.append("the table must be partitioned by tenant_id first")
        for col in (*self.keys, *self.partition_by):
            if col not in names:
                problems.append(f"key/partition column {col!r} is not in the schema")
        missing = [n for n in names if n not in self.classification]
        if missing:
            problems.append(f"columns without a classification: {missing}")
        extra = [n for n in self.classification if n not in names]
        if extra:
            problems.append(f"classification names unknown columns: {extra}")
        bad = {c: v for c, v in self.classification.items() if v not in CLASSIFICATIONS}
        if bad:
            problems.append(f"unknown classifications {bad}; use one of {CLASSIFICATIONS}")
        not_nullable = [f.name for f in self.schema.fields if not f.nullable]
        if not_nullable:
            # Sail silently drops mergeSchema columns when any column is NOT NULL; keep lake columns nullable
            problems.append(
                f"lake columns must be nullable (enforce non-null with quality gates): {not_nullable}"
            )
        odd = [k for k in self.properties if not k.startswith("delta.")]
        if odd:
            problems.append(f"table properties must be Delta properties (delta.*): {odd}")
        if problems:
            raise ValueError(f"table {self.layer}.{self.name}: " + "; ".join(problems))

    @property
    def qualified_name(self) -> str:
        return f"{self.layer}.{self.name}"

    def path(self, lake_root: str | None = None) -> str:
        """Location of the Delta table (local path or s3:// URI)."""
        root = (lake_root or get_settings().lake_root).rstrip("/")
        return f"{root}/{self.layer}/{self.name}"

    def columns_classified(self, *levels: Classification) -> list[str]:
        return [c for c, v in self.classification.items() if v in levels]


_REGISTRY: dict[str, TableDef] = {}

Column = tuple[str, DataType, Classification]


def declare(
    layer: Layer,
    name: str,
    columns: list[Column],
    *,
    keys: tuple[str, ...],
    grain: str,
    description: str = "",
    partition_by: tuple[str, ...] = (TENANT_COLUMN,),
    properties: dict[str, str] | None = None,
) -> TableDef:
    """Declare and register a table from ``(column, type, classification)`` triples (all columns nullable).

    ``properties`` are Delta table properties (``delta.*``) that ``lakehouse.io`` sets when it creates the table;
    a table created before a property was declared keeps its own (rebuild it to change them)."""
    return register(
        TableDef(
            layer=layer,
            name=name,
            schema=StructType([StructField(c, t, True) for c, t, _ in columns]),
            keys=keys,
            grain=grain,
            classification={c: k for c, _, k in columns},
            description=description,
            partition_by=partition_by,
            properties=dict(properties or {}),
        )
    )


def register(table: TableDef) -> TableDef:
    """Declare a table. Re-registering the same definition is a no-op; a different one is an error."""
    existing = _REGISTRY.get(table.qualified_name)
    if existing is not None and existing != table:
        raise ValueError(f"table {table.qualified_name} is already declared with a different definition")
    _REGISTRY[table.qualified_name] = table
    return table


def get(qualified_name: str) -> TableDef:
    """Look a table up by ``layer.name``."""
    _load_declarations()
    try:
        return _REGISTRY[qualified_name]
    except KeyError:
        known = ", ".join(sorted(_REGISTRY)) or "none"
        raise UnknownTable(f"unknown table {qualified_name!r}; declared tables: {known}") from None


def all_tables() -> list[TableDef]:
    _load_declarations()
    return sorted(_REGISTRY.values(), key=lambda t: (LAYERS.index(t.layer), t.name))


def domain_tables() -> list[TableDef]:
    """The tables the declaring modules define (bound to module-level names), sorted like ``all_tables``.

    Unlike ``all_tables`` it leaves out tables registered at run time by other code (tests, probes), so checks of
    what the project ships (every silver/gold table has a suite) see exactly the shipped declarations."""
    import importlib
    import pkgutil

    found: dict[str, TableDef] = {}
    for name in DECLARING_MODULES:
        module = importlib.import_module(name)
        modules = [module] + [
            importlib.import_module(f"{name}.{sub.name}")
            for sub in pkgutil.iter_modules(getattr(module, "__path__", []))
        ]
        for mod in modules:
            for value in vars(mod).values():
                if isinstance(value, TableDef):
                    found[value.qualified_name] = value
    return sorted(found.values(), key=lambda t: (LAYERS.index(t.layer), t.name))


def _load_declarations() -> None:
    """Import the modules that declare tables (core ops tables, each domain's entities) so lookups see them."""
    import importlib
    import pkgutil

    for name in DECLARING_MODULES:
        module = importlib.import_module(name)
        for sub in pkgutil.iter_modules(getattr(module, "__path__", [])):
            importlib.import_module(f"{name}.{sub.name}")
