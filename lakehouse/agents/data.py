"""Where agent tools read rows from: tenant-scoped, read-only, through ``lakehouse.io`` in production.

``AgentData`` is the one interface tools use; it takes a ``TenantScope`` on every call and returns plain dicts,
so a tool can never see another tenant's rows (the filter is io's partition filter, applied before any tool
logic). ``LakeData`` reads the Delta tables once per (table, tenant, version) and caches them for the process;
``MemoryData`` holds rows in memory for unit tests and evaluation fixtures and applies the same tenant filter.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Protocol

from lakehouse.catalog import TableDef
from lakehouse.errors import BadInput
from lakehouse.tenancy import TenantScope

Row = dict[str, Any]


class AgentData(Protocol):
    """Read-only, tenant-scoped table access for agent tools."""

    def rows(self, table: str, scope: TenantScope, columns: Sequence[str] | None = None) -> list[Row]:
        """The scope's rows of ``table`` (``layer.name``), only ``columns`` when given; [] if it has none."""
        ...


def _plain(value: Any) -> Any:
    """JSON-friendly values (dates as ISO text, decimals as floats, arrays as lists)."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if hasattr(value, "asDict"):
        return {k: _plain(v) for k, v in value.asDict().items()}
    return value


def _single(scope: TenantScope) -> str:
    return scope.require_single("an agent tool read")


class MemoryData:
    """Rows held in memory by table; reads filter on ``tenant_id`` exactly like ``lakehouse.io.read``."""

    def __init__(self, tables: Mapping[str, Iterable[Row]] | None = None) -> None:
        self._tables: dict[str, list[Row]] = {k: [dict(r) for r in v] for k, v in (tables or {}).items()}

    def add(self, table: str, rows: Iterable[Row]) -> None:
        """Append rows to a table (each must carry ``tenant_id``)."""
        for row in rows:
            if not row.get("tenant_id"):
                raise BadInput(f"a row of {table} has no tenant_id: {row!r}")
            self._tables.setdefault(table, []).append(dict(row))

    def rows(self, table: str, scope: TenantScope, columns: Sequence[str] | None = None) -> list[Row]:
        tenant = _single(scope)
        out = [r for r in self._tables.get(table, []) if r.get("tenant_id") == tenant]
        if columns is not None:
            out = [{c: r.get(c) for c in columns} for r in out]
        return [{k: _plain(v) for k, v in r.items()} for r in out]


class LakeData:
    """Rows of lake tables through ``lakehouse.io.read`` (tenant-filtered there), cached per table version."""

    def __init__(self, spark: Any | None = None) -> None:
        self._spark = spark
        self._cache: dict[tuple[str, str, int | None, tuple[str, ...] | None], list[Row]] = {}
        self._lock = threading.Lock()

    @property
    def spark(self) -> Any:
        if self._spark is None:
            from lakehouse.engine import get_spark

            self._spark = get_spark()
        return self._spark

    def rows(self, table: str, scope: TenantScope, columns: Sequence[str] | None = None) -> list[Row]:
        from lakehouse import catalog, io

        tenant = _single(scope)
        td: TableDef = catalog.get(table)
        version = io.table_version(td)
        if version is None:
            return []
        key = (td.qualified_name, tenant, version, tuple(columns) if columns is not None else None)
        with self._lock:
            cached = self._cache.get(key)
        if cached is not None:
            return [dict(r) for r in cached]
        frame = io.read(self.spark, td, scope, version=version)
        if columns is not None:
            unknown = [c for c in columns if c not in td.schema.fieldNames()]
            if unknown:
                raise BadInput(f"{td.qualified_name} has no column(s) {unknown}")
            frame = frame.select(*columns)
        rows = [{k: _plain(v) for k, v in r.asDict().items()} for r in frame.collect()]
        with self._lock:
            self._cache[key] = rows
        return [dict(r) for r in rows]
