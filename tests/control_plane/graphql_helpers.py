"""Helpers of the GraphQL gateway tests: call ``/graphql``, classify answers, and write lake rows for a tenant."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
from pyspark.sql import types as T

from lakehouse.catalog import TableDef


def gql(client, headers: dict[str, str] | None, query: str, variables: dict[str, Any] | None = None) -> dict:
    """POST a query; the answer must be HTTP 200 with a GraphQL body (data and/or errors)."""
    body: dict[str, Any] = {"query": query}
    if variables is not None:
        body["variables"] = variables
    resp = client.post("/graphql", json=body, headers=headers or {})
    assert resp.status_code == 200, (resp.status_code, resp.text)
    answer = resp.json()
    assert set(answer) <= {"data", "errors", "extensions"}, answer
    return answer


def codes(answer: dict) -> list[str]:
    """The ``extensions.code`` of every error of an answer."""
    return [e.get("extensions", {}).get("code") for e in answer.get("errors", [])]


def outcome_of_rest(status: int) -> str:
    """allow / forbidden / not_found for a REST status (anything else is a test failure)."""
    return {200: "allow", 403: "forbidden", 404: "not_found"}.get(status, f"unexpected HTTP {status}")


def outcome_of_graphql(answer: dict) -> str:
    """allow / forbidden / not_found for a GraphQL answer (the first error decides)."""
    found = codes(answer)
    if not found:
        return "allow"
    return {"FORBIDDEN": "forbidden", "NOT_FOUND": "not_found"}.get(found[0], f"unexpected {found[0]}")


def _arrow(dt: T.DataType) -> pa.DataType:
    if isinstance(dt, T.StringType):
        return pa.string()
    if isinstance(dt, T.LongType):
        return pa.int64()
    if isinstance(dt, T.DoubleType):
        return pa.float64()
    if isinstance(dt, T.BooleanType):
        return pa.bool_()
    if isinstance(dt, T.TimestampType):
        return pa.timestamp("us", tz="UTC")
    if isinstance(dt, T.DateType):
        return pa.date32()
    if isinstance(dt, T.DecimalType):
        return pa.decimal128(dt.precision, dt.scale)
    if isinstance(dt, T.ArrayType):
        return pa.list_(_arrow(dt.elementType))
    if isinstance(dt, T.StructType):
        return pa.struct([pa.field(f.name, _arrow(f.dataType)) for f in dt.fields])
    raise TypeError(f"no Arrow type for {dt}")


def write_rows(lake_root: Path, td: TableDef, rows: list[dict[str, Any]]) -> None:
    """Append ``rows`` (missing columns null) to ``td`` under ``lake_root`` with deltalake, partitioned by tenant."""
    from deltalake import write_deltalake

    schema = pa.schema([pa.field(f.name, _arrow(f.dataType)) for f in td.schema.fields])
    table = pa.Table.from_pylist([{c: r.get(c) for c in schema.names} for r in rows], schema=schema)
    write_deltalake(td.path(str(lake_root)), table, mode="append", partition_by=["tenant_id"])


def ts(day: int, hour: int = 0) -> datetime:
    """A UTC timestamp in December 2026."""
    return datetime(2026, 12, day, hour, tzinfo=UTC)


def usd(value: str) -> Decimal:
    return Decimal(value)
