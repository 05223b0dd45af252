"""Expectation suites declared per table in YAML, shipped beside the tables as package data.

Each domain package keeps ``suites/<layer>.<table>.yaml`` next to its table declarations (e.g.
``lakehouse/partner_central/suites/silver.opportunity.yaml``); they are read with importlib.resources, so a wheel
installed on Glue gates exactly like a checkout. Every silver, gold and platinum table must have a suite.

Each expectation names a Great Expectations 1.x expectation type, its kwargs, and an action:
``warn`` (record it), ``quarantine`` (offending rows leave the batch, the rest go on) or ``fail`` (nothing
from the run is promoted). Quarantine needs a row condition, so it is allowed only for expectation types
whose row-level meaning is known here (``row_condition``); the split is one Spark filter, not a collect.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any, Literal

import yaml
from pyspark.sql import Column
from pyspark.sql import functions as F

from lakehouse import catalog
from lakehouse.catalog import DOMAINS, SUITE_LAYERS
from lakehouse.errors import BadInput, MissingSuite

Action = Literal["warn", "quarantine", "fail"]
ACTIONS: tuple[str, ...] = ("warn", "quarantine", "fail")
QUALITY_DIR_ENV = "LAKEHOUSE_QUALITY_DIR"
SUITES_FOLDER = "suites"
SUITE_SUFFIX = ".yaml"
_NAME = re.compile(r"^[a-z][a-z0-9_]{0,80}$")


@dataclass(frozen=True)
class ExpectationSpec:
    """One declared expectation: a GX expectation type with kwargs, and what to do when it is violated."""

    name: str
    type: str
    kwargs: dict[str, Any]
    action: Action
    description: str = ""

    @property
    def column(self) -> str | None:
        """The single column the expectation checks, if any."""
        return self.kwargs.get("column")


@dataclass(frozen=True)
class Suite:
    """The expectations of one table, with the columns that identify a row in sample keys."""

    table: str
    key_columns: tuple[str, ...]
    expectations: tuple[ExpectationSpec, ...] = field(default_factory=tuple)
    source: str = ""

    def by_action(self, *actions: Action) -> list[ExpectationSpec]:
        """Expectations with one of ``actions``, in declared order."""
        return [e for e in self.expectations if e.action in actions]


def quality_dir() -> Path | None:
    """The override folder ``LAKEHOUSE_QUALITY_DIR`` (its suites take precedence over packaged ones), if set."""
    override = os.environ.get(QUALITY_DIR_ENV)
    return Path(override) if override else None


@lru_cache(maxsize=1)
def packaged_suites() -> dict[str, Traversable]:
    """Every suite shipped as package data, by table: ``<domain>/suites/<layer>.<table>.yaml`` of each domain.

    Read with importlib.resources so an installed wheel (a Glue job) finds the same suites as a checkout."""
    found: dict[str, Traversable] = {}
    for domain in DOMAINS:
        folder = resources.files(domain) / SUITES_FOLDER
        if not folder.is_dir():
            continue
        for entry in folder.iterdir():
            if not entry.name.endswith(SUITE_SUFFIX):
                continue
            table = entry.name.removesuffix(SUITE_SUFFIX)
            if table in found:
                raise BadInput(f"two suites for {table}: {_describe(found[table])} and {_describe(entry)}")
            found[table] = entry
    return found


def load_suite(table: str, directory: Path | None = None) -> Suite:
    """The suite of ``layer.table``: from ``directory`` when given, else the override folder, else package data.

    A silver, gold or platinum table without a suite raises MissingSuite (its gate fails closed rather than
    passing empty); other layers (bronze, ops) get an empty suite."""
    override = directory or quality_dir()
    return _load_suite(table, str(override) if override else "")


@lru_cache(maxsize=64)
def _load_suite(table: str, override: str) -> Suite:
    source: Traversable | None = None
    if override and (Path(override) / f"{table}{SUITE_SUFFIX}").is_file():
        source = Path(override) / f"{table}{SUITE_SUFFIX}"
    elif table in packaged_suites():
        source = packaged_suites()[table]
    if source is None:
        if table.split(".", 1)[0] in SUITE_LAYERS:
            where = f"{override} or " if override else ""
            raise MissingSuite(
                f"{table} has no quality suite: add {SUITES_FOLDER}/{table}{SUITE_SUFFIX} beside its table "
                f"declaration (looked in {where}the suites of {', '.join(DOMAINS)})"
            )
        return Suite(table=table, key_columns=(), expectations=(), source="")
    return parse_suite(yaml.safe_load(source.read_text()), source=_describe(source), table=table)


def _describe(entry: Traversable) -> str:
    """A readable location of a suite file: its path (a checkout or site-packages) or its resource name."""
    return str(entry) if isinstance(entry, Path) else f"{SUITES_FOLDER}/{entry.name}"


def check_suites(tables: Sequence[catalog.TableDef] | None = None) -> list[str]:
    """Problems between table declarations (the shipped ones by default) and the packaged suites: a silver, gold
    or platinum table without a suite, a suite for an undeclared table, or one naming columns its table does not
    have. Empty when consistent."""
    suites = packaged_suites()
    declared = catalog.domain_tables() if tables is None else tables
    tables_by_name = {t.qualified_name: t for t in declared}
    problems = [
        f"{name} has no quality suite ({SUITES_FOLDER}/{name}{SUITE_SUFFIX} beside its declaration)"
        for name, t in tables_by_name.items()
        if t.layer in SUITE_LAYERS and name not in suites
    ]
    for name in sorted(suites):
        if name not in tables_by_name:
            problems.append(f"{_describe(suites[name])}: no declared table {name}")
            continue
        suite = load_suite(name)
        columns = set(tables_by_name[name].schema.fieldNames())
        unknown = sorted(set(suite.key_columns) - columns)
        for e in suite.expectations:
            unknown += sorted(_named_columns(e) - columns)
        if unknown:
            problems.append(f"{suite.source}: columns not in {name}: {sorted(set(unknown))}")
    return problems


def _named_columns(spec: ExpectationSpec) -> set[str]:
    """The columns an expectation names through its column kwargs."""
    named: set[str] = set()
    for k, v in spec.kwargs.items():
        if k in ("column", "column_A", "column_B"):
            named.add(v)
        elif k in ("column_list", "column_set"):
            named.update(v)
    return named


def parse_suite(doc: Any, *, source: str = "<inline>", table: str | None = None) -> Suite:
    """Validate a suite document and build the Suite; BadInput names the first problem found."""
    if not isinstance(doc, dict):
        raise BadInput(f"{source}: a suite must be a mapping with table, key_columns and expectations")
    declared = doc.get("table")
    if table is not None and declared != table:
        raise BadInput(f"{source}: declares table {declared!r} but is the suite of {table!r}")
    keys = doc.get("key_columns") or []
    if not isinstance(keys, list) or not all(isinstance(k, str) for k in keys):
        raise BadInput(f"{source}: key_columns must be a list of column names")
    specs: list[ExpectationSpec] = []
    seen: set[str] = set()
    for i, raw in enumerate(doc.get("expectations") or []):
        where = f"{source}: expectation #{i + 1}"
        if not isinstance(raw, dict):
            raise BadInput(f"{where} must be a mapping")
        name, etype, action = raw.get("name"), raw.get("expectation"), raw.get("action")
        kwargs = raw.get("kwargs") or {}
        if not isinstance(name, str) or not _NAME.match(name):
            raise BadInput(f"{where}: name {name!r} must be snake_case")
        if name in seen:
            raise BadInput(f"{where}: duplicate expectation name {name!r}")
        seen.add(name)
        if action not in ACTIONS:
            raise BadInput(f"{where} ({name}): action {action!r} must be one of {ACTIONS}")
        if not isinstance(etype, str) or not etype.startswith("expect_"):
            raise BadInput(
                f"{where} ({name}): expectation {etype!r} must be a GX expectation type (expect_...)"
            )
        if not isinstance(kwargs, dict):
            raise BadInput(f"{where} ({name}): kwargs must be a mapping")
        gx_class(etype)  # unknown types fail at load time, not mid-run
        spec = ExpectationSpec(name, etype, dict(kwargs), action, str(raw.get("description") or ""))
        if action == "quarantine":
            if "mostly" in kwargs:
                raise BadInput(f"{where} ({name}): a quarantine expectation cannot use 'mostly'")
            _check_row_level(spec)
        specs.append(spec)
    return Suite(table=str(declared), key_columns=tuple(keys), expectations=tuple(specs), source=source)


def gx_class(expectation_type: str) -> type:
    """The GX expectation class of a snake_case type name, e.g. expect_column_values_to_not_be_null."""
    import great_expectations.expectations as gxe

    class_name = "".join(part.capitalize() for part in expectation_type.split("_"))
    cls = getattr(gxe, class_name, None)
    if not isinstance(cls, type):
        raise BadInput(f"unknown Great Expectations expectation type {expectation_type!r}")
    return cls


ROW_LEVEL_TYPES: dict[str, tuple[str, ...]] = {
    "expect_column_values_to_not_be_null": (),
    "expect_column_values_to_be_in_set": ("value_set",),
    "expect_column_values_to_not_be_in_set": ("value_set",),
    "expect_column_values_to_match_regex": ("regex",),
    "expect_column_values_to_not_match_regex": ("regex",),
    "expect_column_values_to_be_between": (),
}


def _check_row_level(spec: ExpectationSpec) -> None:
    """Refuse a quarantine expectation whose type has no row-level condition (checked without Spark)."""
    if spec.type not in ROW_LEVEL_TYPES:
        raise BadInput(
            f"expectation {spec.name}: type {spec.type!r} has no row-level condition, so it cannot quarantine; "
            f"use warn or fail (quarantine supports {', '.join(sorted(ROW_LEVEL_TYPES))})"
        )
    if not isinstance(spec.kwargs.get("column"), str):
        raise BadInput(f"expectation {spec.name}: quarantine needs a single 'column' kwarg")
    missing = [k for k in ROW_LEVEL_TYPES[spec.type] if k not in spec.kwargs]
    if missing:
        raise BadInput(f"expectation {spec.name}: missing kwarg(s) {missing}")


def row_condition(spec: ExpectationSpec) -> Column:
    """A Spark predicate that is true for rows meeting ``spec`` (GX semantics: map expectations skip nulls)."""
    _check_row_level(spec)
    kw = spec.kwargs
    col = F.col(kw["column"])
    t = spec.type
    if t == "expect_column_values_to_not_be_null":
        return col.isNotNull()
    if t == "expect_column_values_to_be_in_set":
        return col.isNull() | col.isin(*kw["value_set"])
    if t == "expect_column_values_to_not_be_in_set":
        return col.isNull() | ~col.isin(*kw["value_set"])
    if t == "expect_column_values_to_match_regex":
        return col.isNull() | col.rlike(kw["regex"])
    if t == "expect_column_values_to_not_match_regex":
        return col.isNull() | ~col.rlike(kw["regex"])
    if t == "expect_column_values_to_be_between":
        cond: Column = F.lit(True)
        if kw.get("min_value") is not None:
            lo = F.lit(kw["min_value"])
            cond = cond & (col > lo if kw.get("strict_min") else col >= lo)
        if kw.get("max_value") is not None:
            hi = F.lit(kw["max_value"])
            cond = cond & (col < hi if kw.get("strict_max") else col <= hi)
        return col.isNull() | cond
    raise AssertionError(f"unhandled row-level type {t}")  # ROW_LEVEL_TYPES and this function disagree
