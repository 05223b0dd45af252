"""Data access for dashboards and notebooks: one tenant's rows of a lake table, behind ``LakeReader``.

``DeltaLakeReader`` reads the Delta tables with the ``deltalake`` package (no Spark), pruning files on the
``tenant_id`` partition and filtering rows on it again. ``SqlLakeReader`` is the same interface over a SQL
warehouse (Redshift, or DuckDB locally): identifiers come from the catalog and every value is a bound parameter.
Filters are data (``Filter`` / ``AnyOf``), never SQL text, so neither backend formats user input into a query.
"""

from __future__ import annotations

import numbers
import os
import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol
from urllib.parse import unquote

import pandas as pd
import pyarrow as pa
import pyarrow.compute

from lakehouse import catalog
from lakehouse.catalog import TENANT_COLUMN, TableDef
from lakehouse.errors import BadInput
from lakehouse.tenancy import validate_tenant_id

OPS: tuple[str, ...] = ("=", "!=", "<", "<=", ">", ">=", "in", "not in", "is null", "not null")


@dataclass(frozen=True)
class Filter:
    """``column op value``; ``value`` is a scalar, a tuple for ``in`` / ``not in``, and unused for null tests."""

    column: str
    op: str
    value: Any = None

    def __post_init__(self) -> None:
        if self.op not in OPS:
            raise BadInput(f"unknown filter operator {self.op!r}; use one of {OPS}")
        if self.op in ("in", "not in") and not isinstance(self.value, tuple):
            object.__setattr__(self, "value", tuple(self.value))


@dataclass(frozen=True)
class AnyOf:
    """A disjunction of filters (every clause of a query is AND-ed; an ``AnyOf`` is one OR-ed clause)."""

    filters: tuple[Filter, ...]


Clause = Filter | AnyOf


@dataclass(frozen=True)
class TableStats:
    """What the table log says about one tenant's partition: rows, files, bytes and the last write."""

    table: str
    exists: bool
    rows: int
    files: int
    size_bytes: int
    last_modified: datetime | None
    version: int | None


class TableUnavailable(BadInput):
    """The table is not declared in the catalog (its module is not installed)."""


class LakeReader(Protocol):
    """Read one tenant's rows of a declared table; every method is scoped to exactly one tenant."""

    @property
    def source_id(self) -> str:
        """A stable identifier of the data source (part of cache keys)."""
        ...

    def exists(self, table: str, tenant_id: str) -> bool:
        """Whether the tenant has a partition (or rows) in the table."""
        ...

    def read(
        self,
        table: str,
        tenant_id: str,
        *,
        columns: Sequence[str] | None = None,
        where: Sequence[Clause] = (),
        limit: int | None = None,
    ) -> pd.DataFrame:
        """The tenant's rows (declared column order; an empty frame with those columns when there are none)."""
        ...

    def count(self, table: str, tenant_id: str, *, where: Sequence[Clause] = ()) -> int:
        """How many of the tenant's rows match ``where``."""
        ...

    def distinct(self, table: str, tenant_id: str, column: str) -> list[Any]:
        """The distinct non-null values of ``column`` in the tenant's rows, sorted."""
        ...

    def stats(self, table: str, tenant_id: str) -> TableStats:
        """Size and freshness of the tenant's partition."""
        ...

    def tenants(self, table: str) -> list[str]:
        """Tenants with data in the table (for platform admins and notebooks' defaults)."""
        ...


def table_def(table: str) -> TableDef:
    """The catalog declaration of ``layer.name``; TableUnavailable when it is not declared."""
    try:
        return catalog.get(table)
    except catalog.UnknownTable as exc:
        raise TableUnavailable(str(exc)) from None


def column_classification(table: str, column: str) -> str:
    """The declared classification of a column ('pii', the most restrictive, when unknown)."""
    try:
        return catalog.get(table).classification.get(column, "pii")
    except catalog.UnknownTable:
        return "pii"


def _columns(td: TableDef, columns: Sequence[str] | None) -> list[str]:
    declared = td.schema.fieldNames()
    if columns is None:
        return declared
    unknown = [c for c in columns if c not in declared]
    if unknown:
        raise BadInput(f"{td.qualified_name} has no column(s) {unknown}")
    return list(columns)


def _check_clauses(td: TableDef, where: Sequence[Clause]) -> None:
    declared = set(td.schema.fieldNames())
    for clause in where:
        for f in clause.filters if isinstance(clause, AnyOf) else (clause,):
            if f.column not in declared:
                raise BadInput(f"filter on unknown column {f.column!r} of {td.qualified_name}")


def _clause_columns(where: Sequence[Clause]) -> list[str]:
    return [
        f.column for clause in where for f in (clause.filters if isinstance(clause, AnyOf) else (clause,))
    ]


def _arrow_type(td: TableDef, column: str) -> pa.DataType:
    from pyspark.sql.pandas.types import to_arrow_schema

    return to_arrow_schema(td.schema).field(column).type


def empty_frame(td: TableDef, columns: Sequence[str] | None = None) -> pd.DataFrame:
    """An empty frame with the declared columns and their Arrow types."""
    from pyspark.sql.pandas.types import to_arrow_schema

    schema = to_arrow_schema(td.schema)
    cols = _columns(td, columns)
    return pa.schema([schema.field(c) for c in cols]).empty_table().to_pandas()


# --------------------------------------------------------------------------------------------- Delta Lake


def has_deletion_vectors(dt: Any) -> bool:
    """Whether the table's protocol has the ``deletionVectors`` reader feature (files alone are not its rows)."""
    return "deletionVectors" in (dt.protocol().reader_features or [])


def tenant_files(
    dt: Any, tenant_id: str, filesystem: Any, columns: Iterable[str] | None = None, read_options: Any = None
) -> Any:
    """The tenant's rows of a table with deletion vectors, as a pyarrow dataset read from its files directly
    (``to_pyarrow_dataset`` refuses such tables; ``DeltaTable.scan`` applies the vectors but took 3x as long).

    Files without a vector are scanned lazily; when some carry one, ``columns`` (and tenant_id) of all the
    tenant's files are read and each vector's deleted rows removed, in memory.
    """
    import pyarrow.dataset as pds

    validate_tenant_id(tenant_id)
    actions = pa.table(dt.get_add_actions(flatten=True))
    part = f"partition.{TENANT_COLUMN}"
    paths = [r["path"] for r in actions.select(["path", part]).to_pylist() if r[part] == tenant_id]
    partition_columns = list(dt.metadata().partition_columns)
    fmt = pds.ParquetFileFormat(read_options=read_options) if read_options is not None else "parquet"
    partitioning = pds.partitioning(pa.schema([(c, pa.string()) for c in partition_columns]), flavor="hive")

    def files(selected: list[str]) -> Any:
        return pds.dataset(
            selected, filesystem=filesystem, format=fmt, partitioning=partitioning, partition_base_dir=""
        )

    vectors = _deletion_vectors(dt)
    marked = [p for p in paths if p in vectors]
    if not marked:
        return files(paths)
    schema = files(paths[:1]).schema
    wanted = [c for c in dict.fromkeys([TENANT_COLUMN, *(columns or schema.names)]) if c in schema.names]
    clean = [p for p in paths if p not in vectors]
    tables = [files(clean).to_table(columns=wanted)] if clean else []
    for path in marked:
        table = files([path]).to_table(columns=wanted)
        keep = vectors[path][: table.num_rows]
        tables.append(table.filter(pa.array(keep + [True] * (table.num_rows - len(keep)))))
    return pds.dataset(pa.concat_tables(tables))


def _deletion_vectors(dt: Any) -> dict[str, list[bool]]:
    """Keep-masks of the files that carry a deletion vector, by path relative to the table (as in add actions)."""
    if not has_deletion_vectors(dt):
        return {}
    vectors = pa.table(dt.deletion_vectors())
    root = dt.table_uri.rstrip("/") + "/"
    out: dict[str, list[bool]] = {}
    for uri, keep in zip(
        vectors["filepath"].to_pylist(), vectors["selection_vector"].to_pylist(), strict=True
    ):
        relative = uri.removeprefix(root)
        out[relative] = keep
        out[unquote(relative)] = keep
    return out


def deleted_rows(dt: Any, paths: set[str]) -> int:
    """Rows of the files at ``paths`` (relative, as in the add actions) that deletion vectors remove."""
    vectors = _deletion_vectors(dt)
    return sum(sum(1 for k in vectors[p] if not k) for p in paths if p in vectors)


def _arrow_expr(clause: Clause) -> Any:
    import pyarrow.compute as pc
    import pyarrow.dataset as ds

    if isinstance(clause, AnyOf):
        expr = None
        for f in clause.filters:
            e = _arrow_expr(f)
            expr = e if expr is None else expr | e
        return expr if expr is not None else pc.scalar(False)
    field = ds.field(clause.column)
    op, value = clause.op, clause.value
    if op == "is null":
        return field.is_null()
    if op == "not null":
        return ~field.is_null()
    if op == "in":
        return field.isin(list(value))
    if op == "not in":
        return ~field.isin(list(value)) | field.is_null()  # SQL would drop nulls; keep "not in" total
    return {
        "=": field == value,
        "!=": field != value,
        "<": field < value,
        "<=": field <= value,
        ">": field > value,
        ">=": field >= value,
    }[op]


# The columns the pages filter and list on, of the tables that grow with the pipeline. A tenant's partition of
# these is loaded once per Delta version and then filtered in memory: Sail writes one row group per file, so
# every query from disk decodes whole column chunks again (four list queries on 1M opportunities cost more than
# loading the columns once). ``hot_columns={}`` turns this off.
HOT_COLUMNS: dict[str, tuple[str, ...]] = {
    "silver.opportunity": (
        "opportunity_id",
        "stage",
        "review_status",
        "target_close_date",
        "opportunity_type",
        "customer_industry",
        "customer_country_code",
        "project_title",
        "last_modified_at",
    ),
    "silver.opportunity_spend": ("opportunity_id", "amount", "currency_code", "frequency"),
}
# low-cardinality strings kept dictionary-encoded in memory (half the load time and memory of plain strings)
DICTIONARY_COLUMNS: frozenset[str] = frozenset(
    {
        "stage",
        "review_status",
        "opportunity_type",
        "customer_industry",
        "customer_country_code",
        "currency_code",
        "frequency",
    }
)


class _MemoryTables:
    """An LRU of (table path, tenant) → (Delta version, Arrow table) within a byte budget; a new version of a
    table replaces its entry. About 170 MB per million opportunities (opportunity + spend hot columns)."""

    def __init__(self, budget_bytes: int) -> None:
        self.budget_bytes = budget_bytes
        self._lock = threading.Lock()
        self._loading: dict[tuple[str, str], threading.Lock] = {}
        self._entries: OrderedDict[tuple[str, str], tuple[int, pa.Table]] = OrderedDict()

    def _hit(self, key: tuple[str, str], version: int) -> pa.Table | None:
        hit = self._entries.get(key)
        if hit is not None and hit[0] == version:
            self._entries.move_to_end(key)
            return hit[1]
        return None

    def get(self, key: tuple[str, str], version: int, load: Callable[[], pa.Table]) -> pa.Table:
        with self._lock:
            hit = self._hit(key, version)
            if hit is not None:
                return hit
            loading = self._loading.setdefault(key, threading.Lock())
        with loading:  # one load per key at a time; a concurrent caller waits for it instead of loading twice
            with self._lock:
                hit = self._hit(key, version)
                if hit is not None:
                    return hit
            table = load()
            with self._lock:
                self._entries[key] = (version, table)
                self._entries.move_to_end(key)
                while (
                    len(self._entries) > 1
                    and sum(t.nbytes for _, t in self._entries.values()) > self.budget_bytes
                ):
                    self._entries.popitem(last=False)
        return table

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


MEMORY_TABLES = _MemoryTables(int(os.environ.get("LAKEHOUSE_DASHBOARD_MEMORY_MB", "1024")) * 2**20)


class DeltaLakeReader:
    """``LakeReader`` over the Delta tables of a lake root, with the ``deltalake`` package."""

    def __init__(
        self,
        lake_root: str | None = None,
        storage_options: dict[str, str] | None = None,
        *,
        decimals_as_float: bool = True,
        hot_columns: dict[str, tuple[str, ...]] | None = None,
    ) -> None:
        from lakehouse.settings import get_settings

        self.decimals_as_float = decimals_as_float
        self.hot_columns = HOT_COLUMNS if hot_columns is None else hot_columns
        self.lake_root = (lake_root or get_settings().lake_root).rstrip("/")
        if storage_options is None:
            from lakehouse.io import storage_options as default_options

            storage_options = default_options() if self.lake_root.startswith(("s3://", "s3a://")) else {}
        self.storage_options = storage_options or None

    @property
    def source_id(self) -> str:
        return f"delta:{self.lake_root}"

    def _table(self, td: TableDef) -> Any | None:
        from deltalake import DeltaTable

        path = td.path(self.lake_root)
        if not DeltaTable.is_deltatable(path, storage_options=self.storage_options):
            return None
        return DeltaTable(path, storage_options=self.storage_options)

    def _dataset(self, td: TableDef, tenant_id: str, columns: Iterable[str] | None = None) -> Any | None:
        """The tenant's files of ``td`` as a pyarrow dataset (rows are filtered on the tenant again on top); for a
        table with deletion vectors (merge-on-read silver) without the rows they delete (``tenant_files``)."""
        validate_tenant_id(tenant_id)
        dt = self._table(td)
        if dt is None:
            return None
        if has_deletion_vectors(dt):
            return tenant_files(dt, tenant_id, self._filesystem(td), columns)
        # prune to the tenant's files (the row filter is applied on top); read the files with Arrow's own
        # filesystem: through delta-rs's object store, reads leave threads that abort the interpreter at exit
        return dt.to_pyarrow_dataset(
            file_pruning_predicate=[(TENANT_COLUMN, "=", tenant_id)], filesystem=self._filesystem(td)
        )

    def _filesystem(self, td: TableDef) -> Any:
        import pyarrow.fs as pafs

        path = td.path(self.lake_root)
        if "://" not in path:
            path = os.path.abspath(path)
        raw, root = pafs.FileSystem.from_uri(path if "://" in path else f"file://{path}")
        return pafs.SubTreeFileSystem(root, raw)

    def _predicate(self, td: TableDef, tenant_id: str, where: Sequence[Clause]) -> Any:
        import pyarrow.dataset as ds

        _check_clauses(td, where)
        expr = ds.field(TENANT_COLUMN) == tenant_id
        for clause in where:
            expr = expr & _arrow_expr(clause)
        return expr

    def _hot(self, td: TableDef, tenant_id: str, needed: Iterable[str]) -> pa.Table | None:
        """The tenant's in-memory copy of ``td``'s hot columns, if they cover ``needed`` (else None)."""
        hot = self.hot_columns.get(td.qualified_name)
        if not hot or not set(needed) - {TENANT_COLUMN} <= set(hot):
            return None
        validate_tenant_id(tenant_id)
        dt = self._table(td)
        if dt is None:
            return None

        def load() -> pa.Table:
            import pyarrow.dataset as pds

            dictionary = sorted(DICTIONARY_COLUMNS & set(hot))
            options = pds.ParquetReadOptions(dictionary_columns=dictionary)
            if has_deletion_vectors(dt):
                dataset = tenant_files(dt, tenant_id, self._filesystem(td), hot, read_options=options)
            else:
                dataset = dt.to_pyarrow_dataset(
                    file_pruning_predicate=[(TENANT_COLUMN, "=", tenant_id)],
                    filesystem=self._filesystem(td),
                    parquet_read_options=options,
                )
            present = [c for c in hot if c in dataset.schema.names]
            table = dataset.to_table(columns=present, filter=pds.field(TENANT_COLUMN) == tenant_id)
            for c in hot:
                if c not in present:  # declared after the files were written: null
                    table = table.append_column(c, pa.nulls(table.num_rows, _arrow_type(td, c)))
            return table.select(list(hot))

        return MEMORY_TABLES.get((td.path(self.lake_root), tenant_id), dt.version(), load)

    def warm(self, tenant_id: str) -> None:
        """Load the tenant's hot columns into memory now (pages call this in the background after sign-in)."""
        for table in self.hot_columns:
            try:
                self._hot(table_def(table), tenant_id, [])
            except TableUnavailable:
                continue

    @staticmethod
    def _filter_memory(table: pa.Table, where: Sequence[Clause]) -> pa.Table:
        expr = None
        for clause in where:
            e = _arrow_expr(clause)
            expr = e if expr is None else expr & e
        return table if expr is None else table.filter(expr)

    def exists(self, table: str, tenant_id: str) -> bool:
        return self.stats(table, tenant_id).exists

    def read(
        self,
        table: str,
        tenant_id: str,
        *,
        columns: Sequence[str] | None = None,
        where: Sequence[Clause] = (),
        limit: int | None = None,
    ) -> pd.DataFrame:
        td = table_def(table)
        cols = _columns(td, columns)
        _check_clauses(td, where)
        hot = self._hot(td, tenant_id, [*cols, *_clause_columns(where)])
        if hot is not None:
            data = self._filter_memory(hot, where)
            if limit is not None:
                data = data.slice(0, limit)
            frame = self._to_pandas(data.select([c for c in cols if c != TENANT_COLUMN]))
            if TENANT_COLUMN in cols:
                frame[TENANT_COLUMN] = pd.Series([tenant_id] * len(frame), dtype=object)
            return frame[cols]
        dataset = self._dataset(td, tenant_id, [*cols, *_clause_columns(where)])
        if dataset is None:
            return empty_frame(td, cols)
        predicate = self._predicate(td, tenant_id, where)
        present = [c for c in cols if c in dataset.schema.names]
        if limit is None:
            data = dataset.to_table(columns=present, filter=predicate)
        else:
            # small batches, no read-ahead: a list of a few hundred rows should not decode whole files
            data = dataset.scanner(
                columns=present,
                filter=predicate,
                batch_size=min(max(limit, 256), 8192),
                batch_readahead=0,
                fragment_readahead=0,
            ).head(limit)
        frame = self._to_pandas(data)
        if len(present) != len(cols):
            # columns declared after the table was written read as null (as lakehouse.io.read does)
            missing = empty_frame(td, [c for c in cols if c not in present])
            for c in missing.columns:
                frame[c] = pd.Series([None] * len(frame), dtype=missing[c].dtype)
        return frame[cols]

    def _to_pandas(self, data: pa.Table) -> pd.DataFrame:
        """Arrow to pandas; decimals become float64 (exact to the cent below 9e13, and 50x faster to sum);
        dictionary-encoded columns (in-memory tables) become plain values again."""
        if any(pa.types.is_dictionary(f.type) for f in data.schema):
            data = data.cast(
                pa.schema(
                    [
                        pa.field(f.name, f.type.value_type) if pa.types.is_dictionary(f.type) else f
                        for f in data.schema
                    ]
                )
            )
        if self.decimals_as_float:
            fields = [
                pa.field(f.name, pa.float64()) if pa.types.is_decimal(f.type) else f for f in data.schema
            ]
            if any(pa.types.is_decimal(f.type) for f in data.schema):
                data = data.cast(pa.schema(fields))
        return data.to_pandas()

    def count(self, table: str, tenant_id: str, *, where: Sequence[Clause] = ()) -> int:
        td = table_def(table)
        _check_clauses(td, where)
        hot = self._hot(td, tenant_id, _clause_columns(where))
        if hot is not None:
            return self._filter_memory(hot, where).num_rows
        dataset = self._dataset(td, tenant_id, _clause_columns(where))
        if dataset is None:
            return 0
        return int(dataset.count_rows(filter=self._predicate(td, tenant_id, where)))

    def distinct(self, table: str, tenant_id: str, column: str) -> list[Any]:
        td = table_def(table)
        _columns(td, [column])
        hot = self._hot(td, tenant_id, [column])
        if hot is not None:
            values = hot[column]
        else:
            dataset = self._dataset(td, tenant_id, [column])
            if dataset is None or column not in dataset.schema.names:
                return []
            values = dataset.to_table(columns=[column], filter=self._predicate(td, tenant_id, ()))[column]
        return sorted(v for v in pa.compute.unique(values).to_pylist() if v is not None)

    def stats(self, table: str, tenant_id: str) -> TableStats:
        validate_tenant_id(tenant_id)
        td = table_def(table)
        dt = self._table(td)
        if dt is None:
            return TableStats(table, False, 0, 0, 0, None, None)
        actions = pa.table(dt.get_add_actions(flatten=True))
        part = f"partition.{TENANT_COLUMN}"
        if part not in actions.column_names:
            return TableStats(table, False, 0, 0, 0, None, dt.version())
        mine = actions.filter(pa.compute.equal(actions[part], tenant_id)).to_pandas()
        if mine.empty:
            return TableStats(table, False, 0, 0, 0, None, dt.version())
        if mine["num_records"].isna().any():  # a writer without file statistics: count from the files
            rows = self.count(table, tenant_id)
        else:
            rows = int(mine["num_records"].sum()) - deleted_rows(dt, set(mine["path"]))
        last_dt = _as_utc(mine["modification_time"].max())
        return TableStats(table, True, rows, len(mine), int(mine["size_bytes"].sum()), last_dt, dt.version())

    def tenants(self, table: str) -> list[str]:
        td = table_def(table)
        dt = self._table(td)
        if dt is None:
            return []
        actions = pa.table(dt.get_add_actions(flatten=True))
        part = f"partition.{TENANT_COLUMN}"
        if part not in actions.column_names:
            return []
        return sorted({t for t in actions[part].to_pylist() if t})


def _as_utc(value: Any) -> datetime:
    """A Delta add action's modification time (epoch milliseconds in the log) as an aware UTC datetime."""
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        return datetime.fromtimestamp(int(value) / 1000, tz=UTC)
    ts = pd.Timestamp(value)
    return (ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")).to_pydatetime()


# ------------------------------------------------------------------------------------------ SQL warehouse

_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,126}$")


def _quote(ident: str) -> str:
    if not _IDENT.match(ident):
        raise BadInput(f"unsafe SQL identifier {ident!r}")
    return f'"{ident}"'


class SqlLakeReader:
    """``LakeReader`` over a DB-API connection to a warehouse holding the same tables (Redshift, DuckDB).

    Tables are ``{schema}.{layer}_{name}`` with the declared columns; ``paramstyle`` is the driver's
    (``qmark`` for DuckDB, ``format`` for redshift_connector / psycopg). Every value is bound, never formatted.
    """

    def __init__(
        self, connection: Any, *, schema: str = "public", paramstyle: str = "qmark", source_id: str = "sql"
    ) -> None:
        if paramstyle not in ("qmark", "format"):
            raise BadInput(f"unsupported paramstyle {paramstyle!r}; use qmark or format")
        self.connection = connection
        self.schema = schema
        self.paramstyle = paramstyle
        self._source_id = source_id

    @property
    def source_id(self) -> str:
        return self._source_id

    def _mark(self) -> str:
        return "?" if self.paramstyle == "qmark" else "%s"

    def relation(self, td: TableDef) -> str:
        """The quoted relation name of a declared table."""
        return f"{_quote(self.schema)}.{_quote(f'{td.layer}_{td.name}')}"

    def _condition(self, clause: Clause, params: list[Any]) -> str:
        if isinstance(clause, AnyOf):
            parts = [self._condition(f, params) for f in clause.filters]
            return "(" + (" OR ".join(parts) if parts else "FALSE") + ")"
        col, op = _quote(clause.column), clause.op
        if op == "is null":
            return f"{col} IS NULL"
        if op == "not null":
            return f"{col} IS NOT NULL"
        if op in ("in", "not in"):
            if not clause.value:
                return "TRUE" if op == "not in" else "FALSE"
            params.extend(clause.value)
            marks = ", ".join(self._mark() for _ in clause.value)
            if op == "in":
                return f"{col} IN ({marks})"
            return f"({col} NOT IN ({marks}) OR {col} IS NULL)"
        params.append(clause.value)
        return f"{col} {'<>' if op == '!=' else op} {self._mark()}"

    def _where(self, td: TableDef, tenant_id: str, where: Sequence[Clause]) -> tuple[str, list[Any]]:
        validate_tenant_id(tenant_id)
        _check_clauses(td, where)
        params: list[Any] = [tenant_id]
        conditions = [f"{_quote(TENANT_COLUMN)} = {self._mark()}"]
        conditions += [self._condition(c, params) for c in where]
        return " AND ".join(conditions), params

    def _table_present(self, td: TableDef) -> bool:
        cur = self.connection.cursor()
        cur.execute(
            f"SELECT count(*) FROM information_schema.tables WHERE table_schema = {self._mark()} "
            f"AND table_name = {self._mark()}",
            [self.schema, f"{td.layer}_{td.name}"],
        )
        return bool(cur.fetchone()[0])

    def _fetch(self, sql: str, params: Iterable[Any]) -> tuple[list[str], list[tuple[Any, ...]]]:
        cur = self.connection.cursor()
        cur.execute(sql, list(params))
        names = [d[0] for d in cur.description]
        return names, cur.fetchall()

    def exists(self, table: str, tenant_id: str) -> bool:
        return self.count(table, tenant_id) > 0

    def read(
        self,
        table: str,
        tenant_id: str,
        *,
        columns: Sequence[str] | None = None,
        where: Sequence[Clause] = (),
        limit: int | None = None,
    ) -> pd.DataFrame:
        td = table_def(table)
        cols = _columns(td, columns)
        if not self._table_present(td):
            return empty_frame(td, cols)
        condition, params = self._where(td, tenant_id, where)
        sql = f"SELECT {', '.join(_quote(c) for c in cols)} FROM {self.relation(td)} WHERE {condition}"
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        names, rows = self._fetch(sql, params)
        if not rows:
            return empty_frame(td, cols)
        return pd.DataFrame.from_records(rows, columns=names)[cols]

    def count(self, table: str, tenant_id: str, *, where: Sequence[Clause] = ()) -> int:
        td = table_def(table)
        if not self._table_present(td):
            return 0
        condition, params = self._where(td, tenant_id, where)
        _, rows = self._fetch(f"SELECT count(*) FROM {self.relation(td)} WHERE {condition}", params)
        return int(rows[0][0])

    def distinct(self, table: str, tenant_id: str, column: str) -> list[Any]:
        td = table_def(table)
        _columns(td, [column])
        if not self._table_present(td):
            return []
        condition, params = self._where(td, tenant_id, ())
        _, rows = self._fetch(
            f"SELECT DISTINCT {_quote(column)} FROM {self.relation(td)} WHERE {condition}", params
        )
        return sorted(r[0] for r in rows if r[0] is not None)

    def stats(self, table: str, tenant_id: str) -> TableStats:
        rows = self.count(table, tenant_id)
        return TableStats(table, rows > 0, rows, 0, 0, None, None)

    def tenants(self, table: str) -> list[str]:
        td = table_def(table)
        if not self._table_present(td):
            return []
        _, rows = self._fetch(f"SELECT DISTINCT {_quote(TENANT_COLUMN)} FROM {self.relation(td)}", [])
        return sorted(r[0] for r in rows if r[0])


def default_reader(lake_root: str | None = None) -> LakeReader:
    """The reader for this process: Delta tables under ``lake_root`` (default: the settings' lake root)."""
    return DeltaLakeReader(lake_root)


def utcnow() -> datetime:
    """Now, UTC (one place, so freshness is computed consistently)."""
    return datetime.now(UTC)
