"""Read one tenant's rows of an ops or gold table for the gateway, with ``deltalake`` (no Spark in the API).

``deltalake``'s ``QueryBuilder`` (DataFusion) applies deletion vectors, which ``to_pyarrow_table`` refuses, and
prunes files on the ``tenant_id`` partition. Only two things enter the SQL text: column names taken from the
catalog declaration, and a tenant id that has passed ``validate_tenant_id`` (``[a-z0-9_-]``, so it cannot close
the quoted literal). Every other filter is applied to the Arrow result, never formatted into SQL.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from lakehouse.catalog import TableDef
from lakehouse.io import storage_options
from lakehouse.tenancy import validate_tenant_id


class LakeUnavailable(Exception):
    """The lake table could not be read (a storage or format error, not a missing table)."""


def _quote(column: str) -> str:
    return '"' + column.replace('"', '""') + '"'


def read_tenant(
    lake_root: str,
    td: TableDef,
    tenant_id: str,
    *,
    columns: Sequence[str] | None = None,
    equals: Mapping[str, Any] | None = None,
    order_by: Sequence[tuple[str, bool]] = (),
    limit: int | None = None,
) -> list[dict[str, Any]]:
    """The tenant's rows of ``td`` as dicts (``equals`` filters, then ``order_by`` (column, descending), then
    ``limit``); an empty list when the table or the tenant's partition does not exist yet."""
    from deltalake import DeltaTable, QueryBuilder
    from deltalake.exceptions import TableNotFoundError

    tenant = validate_tenant_id(tenant_id)
    declared = td.schema.fieldNames()
    wanted = list(columns or declared)
    for column in (*wanted, *(equals or {}), *(c for c, _ in order_by)):
        if column not in declared:
            raise ValueError(f"{td.qualified_name} has no column {column!r}")
    path = td.path(lake_root)
    try:
        table = DeltaTable(path, storage_options=storage_options() or None)
    except TableNotFoundError:
        return []
    sql = f"SELECT {', '.join(_quote(c) for c in declared)} FROM t WHERE {_quote('tenant_id')} = '{tenant}'"
    try:
        # deltalake answers an arro3 stream; pyarrow takes it through the Arrow C stream interface
        data = pa.RecordBatchReader.from_stream(QueryBuilder().register("t", table).execute(sql)).read_all()
    except Exception as exc:  # deltalake/DataFusion raise several unrelated types; the cause is kept
        raise LakeUnavailable(f"could not read {td.qualified_name} for tenant {tenant!r}: {exc}") from exc
    return _shape(_without_views(data), equals or {}, order_by, limit, wanted)


def _plain(type_: pa.DataType) -> pa.DataType:
    """``type_`` with DataFusion's view types replaced (pyarrow 19 cannot sort or filter string_view)."""
    if type_ == pa.string_view():
        return pa.string()
    if type_ == pa.binary_view():
        return pa.binary()
    if pa.types.is_list(type_) or pa.types.is_large_list(type_) or pa.types.is_list_view(type_):
        return pa.list_(_plain(type_.value_type))
    if pa.types.is_struct(type_):
        return pa.struct([pa.field(f.name, _plain(f.type), f.nullable) for f in type_])
    return type_


def _without_views(data: pa.Table) -> pa.Table:
    schema = pa.schema([pa.field(f.name, _plain(f.type), f.nullable) for f in data.schema])
    return data if schema == data.schema else data.cast(schema)


def _shape(
    data: pa.Table,
    equals: Mapping[str, Any],
    order_by: Sequence[tuple[str, bool]],
    limit: int | None,
    columns: list[str],
) -> list[dict[str, Any]]:
    """Filter, sort and cut an Arrow table in memory (values compared as Arrow scalars, not as SQL text)."""
    for column, value in equals.items():
        if value is not None:
            data = data.filter(pc.equal(data[column], pa.scalar(value, type=data.schema.field(column).type)))
    if order_by:
        data = data.sort_by(
            [(column, "descending" if desc else "ascending") for column, desc in order_by],
        )
    if limit is not None:
        data = data.slice(0, limit)
    rows: list[dict[str, Any]] = data.select(columns).to_pylist()
    return rows
