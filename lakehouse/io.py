"""Tenant-scoped lake I/O: the one place that reads and writes lake tables.

Every write is checked before anything touches storage:
- the DataFrame must match the table's declared schema exactly (missing, extra or mistyped columns are refused
  with the column named; Sail would otherwise silently cast or drop columns);
- every row must belong to the scope's tenant (one foreign row refuses the whole write);
- commit conflicts are retried with backoff (Sail and delta-spark both raise on concurrent commits);
- a write given a ``batch_id`` is idempotent: a re-run of a batch that already landed writes nothing
  (Sail ignores Delta's ``txnAppId``/``txnVersion``, so a ledger in ``ops.write_batch`` does the job).
History, compaction and vacuum use the ``deltalake`` package (they do not parse on Sail).
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

import tenacity
from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import ArrayType, DataType, MapType, StructField, StructType

from lakehouse import catalog
from lakehouse.catalog import TENANT_COLUMN, TableDef
from lakehouse.errors import LakehouseError, SchemaMismatch
from lakehouse.settings import get_settings
from lakehouse.tenancy import TenantScope, TenantViolation

log = logging.getLogger(__name__)
audit_log = logging.getLogger("lakehouse.audit")

T = TypeVar("T")

_CONFLICT_MARKERS = (
    "failed to commit transaction",
    "concurrentappendexception",
    "concurrentmodificationexception",
    "concurrentdeleteread",
    "concurrentdeletedelete",
    "concurrenttransactionexception",
    "protocolchangedexception",
    "metadatachangedexception",
    "version already exists",
    "already exists",
    "conflict",
)


@dataclass(frozen=True)
class WriteResult:
    """What a write did: the table version it produced, rows written, whether it was skipped (a batch that had
    already landed) and whether it made a commit (an empty append or merge makes none)."""

    table: str
    version: int | None
    rows: int
    skipped: bool = False
    committed: bool = False


class CommitConflict(LakehouseError):
    """A write still conflicted with concurrent commits after every retry."""


class LayoutMismatch(SchemaMismatch):
    """The stored table is partitioned differently from its declaration (it must be rebuilt)."""


# ---------------------------------------------------------------------------------------------------------
# table resolution and metadata


def resolve(table: str | TableDef) -> TableDef:
    """The catalog definition of ``table`` (a ``layer.name`` string or a TableDef)."""
    return table if isinstance(table, TableDef) else catalog.get(table)


def storage_options() -> dict[str, str]:
    """Options for the ``deltalake`` package; S3 endpoint and credentials come from the standard AWS env."""
    import os

    opts: dict[str, str] = {}
    if get_settings().is_s3:
        for key in (
            "AWS_ENDPOINT_URL",
            "AWS_REGION",
            "AWS_ALLOW_HTTP",
            "AWS_ACCESS_KEY_ID",
            "AWS_SECRET_ACCESS_KEY",
            "AWS_SESSION_TOKEN",
        ):
            if os.environ.get(key):
                opts[key] = os.environ[key]
        opts.setdefault("AWS_REGION", get_settings().aws_region)
        # local maintenance commits (vacuum/compaction) without a DynamoDB lock provider
        opts.setdefault("AWS_S3_ALLOW_UNSAFE_RENAME", "true")
    return opts


def _delta_table(td: TableDef) -> Any:
    from deltalake import DeltaTable

    return DeltaTable(td.path(), storage_options=storage_options() or None)


def _open(td: TableDef) -> Any | None:
    """The table's current snapshot (one log replay), or None when it does not exist yet."""
    from deltalake.exceptions import TableNotFoundError

    try:
        return _delta_table(td)
    except TableNotFoundError:
        return None


def exists(table: str | TableDef) -> bool:
    """Whether the table has been created (has a Delta log)."""
    from deltalake import DeltaTable

    return DeltaTable.is_deltatable(resolve(table).path(), storage_options=storage_options() or None)


def table_version(table: str | TableDef) -> int | None:
    """The latest committed version, or None when the table does not exist yet."""
    td = resolve(table)
    return _delta_table(td).version() if exists(td) else None


def history(table: str | TableDef, limit: int | None = None) -> list[dict[str, Any]]:
    """Commit history, newest first (``DESCRIBE HISTORY`` does not parse on Sail)."""
    td = resolve(table)
    return _delta_table(td).history(limit) if exists(td) else []


def compact(table: str | TableDef, scope: TenantScope, target_size: int | None = None) -> dict[str, Any]:
    """Bin-pack the small files of the scope's tenant partition; returns the optimizer's metrics."""
    tenant = scope.require_single("compaction")
    td = resolve(table)
    if not exists(td):
        return {"numFilesAdded": 0, "numFilesRemoved": 0}
    metrics: dict[str, Any] = _delta_table(td).optimize.compact(
        partition_filters=[(TENANT_COLUMN, "=", tenant)], target_size=target_size
    )
    return metrics


def vacuum(table: str | TableDef, retention_hours: int = 168, dry_run: bool = False) -> list[str]:
    """Delete files no longer referenced by versions within ``retention_hours``; returns the files."""
    td = resolve(table)
    if not exists(td):
        return []
    removed: list[str] = _delta_table(td).vacuum(
        retention_hours=retention_hours, dry_run=dry_run, enforce_retention_duration=retention_hours >= 168
    )
    return removed


def changed_partitions(
    table: str | TableDef, scope: TenantScope, since_version: int, column: str
) -> set[str | None] | None:
    """The values of partition ``column`` in which the scope's rows changed after ``since_version``, read from
    the add/remove actions of the Delta log's commits (since_version, current]; None when that cannot be told
    (a commit file is gone, e.g. after log cleanup, or the table was recreated), so the caller recomputes all."""
    import json

    import pyarrow.fs as pafs

    tenant = scope.require_single("reading changed partitions")
    td = resolve(table)
    if column not in td.partition_by:
        raise SchemaMismatch(
            f"{td.qualified_name}: {column!r} is not a partition column {list(td.partition_by)}"
        )
    current = table_version(td)
    if current is None or current < since_version:
        return None
    path = td.path()
    if "://" in path:
        fs, root = pafs.FileSystem.from_uri(path.replace("s3a://", "s3://", 1))
    else:
        import os

        fs, root = pafs.LocalFileSystem(), os.path.abspath(path)
    values: set[str | None] = set()
    for version in range(since_version + 1, current + 1):
        try:
            with fs.open_input_stream(f"{root}/_delta_log/{version:020d}.json") as stream:
                lines = stream.read().decode().splitlines()
        except (FileNotFoundError, OSError):
            return None
        for line in lines:
            action = json.loads(line) if line.strip() else {}
            if "metaData" in action:
                return None  # schema, partitioning or properties changed: the caller recomputes everything
            for kind in ("add", "remove"):
                if kind not in action:
                    continue
                parts = action[kind].get("partitionValues")
                if parts is None:  # a remove without extended metadata: the hive-style path names them
                    parts = _path_partitions(action[kind].get("path", ""))
                if parts.get(TENANT_COLUMN) == tenant:
                    values.add(parts.get(column))
    return values


def _path_partitions(path: str) -> dict[str, str | None]:
    from urllib.parse import unquote

    parts: dict[str, str | None] = {}
    for segment in path.split("/")[:-1]:
        key, sep, value = segment.partition("=")
        if sep:
            value = unquote(value)
            parts[unquote(key)] = None if value == "__HIVE_DEFAULT_PARTITION__" else value
    return parts


# ---------------------------------------------------------------------------------------------------------
# reads


def read(
    spark: SparkSession, table: str | TableDef, scope: TenantScope, *, version: int | None = None
) -> DataFrame:
    """The scope's rows of ``table`` in declared column order (an empty frame if the table does not exist)."""
    td = resolve(table)
    if scope.platform_admin:
        audit_log.warning(
            "cross-tenant read of %s by platform-admin scope: %s", td.qualified_name, scope.reason
        )
        _notify_admin_read(td, scope)
    if not exists(td):
        return spark.createDataFrame([], td.schema)
    reader = spark.read.format("delta")
    if version is not None:
        reader = reader.option("versionAsOf", version)
    df = reader.load(td.path())
    if not scope.platform_admin:
        df = df.where(F.col(TENANT_COLUMN) == F.lit(scope.tenant_id))
    present = set(df.columns)
    # columns declared after the table was created read as null until rewritten
    return df.select(
        *[
            F.col(f.name) if f.name in present else F.lit(None).cast(f.dataType).alias(f.name)
            for f in td.schema.fields
        ]
    )


def read_arrow(table: str | TableDef, scope: TenantScope, *, version: int | None = None) -> Any:
    """One tenant's rows of ``table`` at ``version`` (latest when None) as a pyarrow Table, without Spark.

    For serving and exports, which need a consistent snapshot and no Spark session. Files are pruned to the
    tenant's partition and rows filtered on it again; columns come in declared order (columns declared after
    the files were written read as null). Tables with deletion vectors are read through delta-rs's
    ``QueryBuilder``, which applies them (``to_pyarrow_dataset`` refuses such tables).
    """
    import os

    import pyarrow as pa
    import pyarrow.dataset as pds
    import pyarrow.fs as pafs
    from deltalake import DeltaTable, QueryBuilder
    from pyspark.sql.pandas.types import to_arrow_schema

    tenant = scope.require_single("an Arrow read")
    td = resolve(table)
    target = to_arrow_schema(td.schema)
    if not exists(td):
        return target.empty_table()
    dt = DeltaTable(td.path(), version=version, storage_options=storage_options() or None)
    protocol = dt.protocol()
    if "deletionVectors" in (protocol.reader_features or []):
        reader = (
            QueryBuilder()
            .register("t", dt)
            .execute(f"SELECT * FROM t WHERE {TENANT_COLUMN} = '{tenant}'")  # tenant id: validated identifier
        )
        data = pa.RecordBatchReader.from_stream(reader).read_all()  # arro3 -> pyarrow (Arrow C stream)
    else:
        path = td.path()
        raw, root = pafs.FileSystem.from_uri(
            path.replace("s3a://", "s3://", 1) if "://" in path else f"file://{os.path.abspath(path)}"
        )
        # Arrow's own filesystem: reads through delta-rs's object store leave threads that abort at exit
        dataset = dt.to_pyarrow_dataset(
            file_pruning_predicate=[(TENANT_COLUMN, "=", tenant)],
            filesystem=pafs.SubTreeFileSystem(root, raw),
        )
        data = dataset.to_table(filter=pds.field(TENANT_COLUMN) == tenant)
    columns = []
    for field in target:
        if field.name in data.column_names:
            columns.append(data.column(field.name).cast(field.type))
        else:
            columns.append(pa.nulls(data.num_rows, field.type))
    return pa.Table.from_arrays(columns, schema=target)


_admin_read_hooks: list[Callable[[TableDef, TenantScope], None]] = []


def on_admin_read(hook: Callable[[TableDef, TenantScope], None]) -> None:
    """Register a callback for platform-admin reads (the control plane plugs its audit log in here)."""
    _admin_read_hooks.append(hook)


def _notify_admin_read(td: TableDef, scope: TenantScope) -> None:
    for hook in _admin_read_hooks:
        hook(td, scope)


# ---------------------------------------------------------------------------------------------------------
# validation


def _normalise(dt: DataType) -> DataType:
    """The type with nullability stripped, so only names and types are compared."""
    if isinstance(dt, StructType):
        return StructType([StructField(f.name, _normalise(f.dataType), True) for f in dt.fields])
    if isinstance(dt, ArrayType):
        return ArrayType(_normalise(dt.elementType), True)
    if isinstance(dt, MapType):
        return MapType(_normalise(dt.keyType), _normalise(dt.valueType), True)
    return dt


def check_schema(td: TableDef, df: DataFrame) -> DataFrame:
    """Refuse a DataFrame that does not match the declared schema; return it in declared column order."""
    actual = {f.name: f.dataType for f in df.schema.fields}
    declared = td.schema.fieldNames()
    problems: list[str] = []
    missing = [c for c in declared if c not in actual]
    extra = [c for c in actual if c not in td.schema.fieldNames()]
    if missing:
        problems.append("missing column(s) " + ", ".join(repr(c) for c in missing))
    if extra:
        problems.append("column(s) not in the declared schema " + ", ".join(repr(c) for c in extra))
    for f in td.schema.fields:
        if f.name in actual and _normalise(actual[f.name]) != _normalise(f.dataType):
            problems.append(
                f"column {f.name!r} has type {actual[f.name].simpleString()}, "
                f"declared {f.dataType.simpleString()}"
            )
    if problems:
        raise SchemaMismatch(f"write to {td.qualified_name} refused, nothing written: " + "; ".join(problems))
    return df.select(*declared)


def check_tenant(td: TableDef, df: DataFrame, scope: TenantScope) -> str:
    """Refuse the whole write if any row is not the scope's tenant's; returns the tenant id."""
    tenant = scope.require_single(f"a write to {td.qualified_name}")
    foreign = F.col(TENANT_COLUMN).isNull() | (F.col(TENANT_COLUMN) != F.lit(tenant))
    offenders = df.where(foreign).groupBy(TENANT_COLUMN).count().limit(5).collect()
    if offenders:
        detail = ", ".join(f"{r[TENANT_COLUMN]!r}: {r['count']} row(s)" for r in offenders)
        raise TenantViolation(
            f"write to {td.qualified_name} in scope {scope} refused, nothing written: "
            f"it carries rows of other tenants ({detail})"
        )
    return tenant


# ---------------------------------------------------------------------------------------------------------
# writes


def append(
    spark: SparkSession,
    table: str | TableDef,
    df: DataFrame,
    scope: TenantScope,
    *,
    batch_id: str | None = None,
) -> WriteResult:
    """Append ``df`` to the scope's partition of ``table``."""
    td = resolve(table)
    return _write(
        spark, td, df, scope, batch_id, "append", lambda checked, rows, exists_now: _append(td, checked)
    )


def overwrite_partition(
    spark: SparkSession,
    table: str | TableDef,
    df: DataFrame,
    scope: TenantScope,
    *,
    batch_id: str | None = None,
) -> WriteResult:
    """Replace the scope's tenant partition of ``table`` with ``df``; other tenants' files are untouched."""
    td = resolve(table)

    def _do(checked: DataFrame, rows: int, exists_now: bool) -> None:
        tenant = scope.tenant_id
        if not exists_now:
            _append(td, checked)
            return
        if _has_collection(td.schema):
            # Sail's replaceWhere fails on any array or map column once other partitions exist (its union of kept
            # and new rows disagrees on the list's field name); a MERGE that deletes the tenant's unmatched rows
            # is the same replace in one commit
            _run_merge(
                spark, td, checked.withColumn(_DELETE, F.lit(False)), tenant, td.keys, delete_unmatched=True
            )
            return
        (
            checked.write.format("delta")
            .mode("overwrite")
            .option("replaceWhere", f"{TENANT_COLUMN} = {_sql_literal(tenant)}")
            .save(td.path())
        )

    return _write(spark, td, df, scope, batch_id, "overwrite", _do)


def _has_collection(dt: DataType) -> bool:
    if isinstance(dt, StructType):
        return any(_has_collection(f.dataType) for f in dt.fields)
    return isinstance(dt, (ArrayType, MapType))


def merge(
    spark: SparkSession,
    table: str | TableDef,
    df: DataFrame,
    scope: TenantScope,
    *,
    keys: Sequence[str] | None = None,
    batch_id: str | None = None,
    update_condition: str | None = None,
    replace_within: DataFrame | None = None,
    stage: bool = False,
    target_filter: Mapping[str, Sequence[Any]] | None = None,
) -> WriteResult:
    """Upsert ``df`` into the scope's partition on ``keys`` (default: the table's keys), in one commit.

    ``update_condition`` is a SQL predicate over ``t`` (target) and ``s`` (source) that a matched row must meet
    to be updated, e.g. ``"s.last_modified_at > t.last_modified_at"``. ``replace_within`` is a frame of
    parent-key rows (a subset of the key columns): the table's rows under those parents that ``df`` no longer
    contains are deleted in the same commit (child rows that dropped out of a parent's new version).
    ``stage=True`` first writes the source to a staging Delta table (needed when its plan uses lambdas plus
    window functions on Sail). ``target_filter`` ({partition column: values}) restricts the MERGE to the target
    rows in those partitions (``t.<col> IN (...)`` joins the ON clause), so Delta reads and rewrites only their
    files; every target row a source key matches must lie in them, or it would be inserted a second time.
    An empty source with nothing to delete makes no commit. The first merge into a table that does not exist
    yet creates it; for a table partitioned below tenant_id that first load is appended in groups of partitions
    (see ``_append``), so a large first load may take several commits.
    """
    td = resolve(table)
    options = _merge_options(td, keys, replace_within, target_filter)

    def _do(checked: DataFrame, rows: int, exists_now: bool) -> None:
        if not exists_now:
            if rows:
                _append(td, checked, grouped=True)
            return
        source = _merge_source(spark, td, scope, checked, rows, options, replace_within)
        if source is None:
            return
        with _staged(spark, td, source, enabled=stage) as staged:
            if rows or staged.limit(1).count():
                _run_merge(
                    spark,
                    td,
                    staged,
                    scope.tenant_id,
                    options.keys,
                    update_condition=update_condition,
                    delete_marked=replace_within is not None,
                    target_filter=options.target_filter,
                )

    # keys are joined with `=` (a null-safe `<=>` turns the merge into a nested-loop join on Sail: 34 s instead
    # of 0.7 s for 2k rows into 200k), so a null key could never match: _write refuses it instead
    return _write(spark, td, df, scope, batch_id, "merge", _do, not_null=options.keys)


@dataclass(frozen=True)
class _MergeOptions:
    """A merge's checked options: its key columns and the partitions of the target it may touch."""

    keys: tuple[str, ...]
    target_filter: dict[str, list[Any]]

    def in_target(self) -> Column:
        """The predicate selecting the target rows ``target_filter`` allows (true when there is none)."""
        condition = F.lit(True)
        for column, values in self.target_filter.items():
            condition = condition & F.col(column).isin(*values)
        return condition


def _merge_options(
    td: TableDef,
    keys: Sequence[str] | None,
    replace_within: DataFrame | None,
    target_filter: Mapping[str, Sequence[Any]] | None,
) -> _MergeOptions:
    """Check a merge's keys, ``replace_within`` columns and ``target_filter`` against the table; names the culprit."""
    merge_keys = tuple(keys or td.keys)
    unknown = [k for k in merge_keys if k not in td.schema.fieldNames()]
    if unknown:
        raise SchemaMismatch(f"merge into {td.qualified_name}: key column(s) {unknown} are not in the table")
    if replace_within is not None:
        stray = [c for c in replace_within.columns if c not in merge_keys]
        if stray:
            raise SchemaMismatch(
                f"merge into {td.qualified_name}: replace_within columns {stray} are not keys"
            )
    partitions = {c: list(v) for c, v in (target_filter or {}).items()}
    outside = [c for c in partitions if c not in td.partition_by]
    if outside:
        raise SchemaMismatch(
            f"merge into {td.qualified_name}: target_filter columns {outside} are not partition "
            f"columns {list(td.partition_by)}"
        )
    return _MergeOptions(merge_keys, partitions)


def _merge_source(
    spark: SparkSession,
    td: TableDef,
    scope: TenantScope,
    checked: DataFrame,
    rows: int,
    options: _MergeOptions,
    replace_within: DataFrame | None,
) -> DataFrame | None:
    """The MERGE source: ``checked`` rows plus, under ``replace_within``, the stored children to delete.

    None when there is nothing to merge (no rows and no ``replace_within``).
    """
    source = checked.withColumn(_DELETE, F.lit(False))
    if replace_within is None:
        return source if rows else None
    parents = replace_within.dropDuplicates()
    existing = (
        read(spark, td, scope)
        .where(options.in_target())
        .join(parents, on=list(parents.columns), how="left_semi")
    )
    gone = existing.join(checked.select(*options.keys), on=list(options.keys), how="left_anti")
    return source.unionByName(gone.select(*checked.columns).withColumn(_DELETE, F.lit(True)))


@contextmanager
def _staged(spark: SparkSession, td: TableDef, source: DataFrame, *, enabled: bool) -> Iterator[DataFrame]:
    """``source`` written to a staging Delta table and read back (removed afterwards); ``source`` itself when
    not ``enabled``. Sail cannot MERGE from a plan that mixes lambdas and window functions over Delta."""
    if not enabled:
        yield source
        return
    staged_path = f"{get_settings().lake_root}/_staging/merge-{td.layer}.{td.name}-{uuid.uuid4().hex}"
    try:
        source.write.format("delta").mode("overwrite").options(**WRITE_OPTIONS).save(staged_path)
        yield spark.read.format("delta").load(staged_path)
    finally:
        remove_tree(staged_path)


_DELETE = "_lakehouse_delete"


def _run_merge(
    spark: SparkSession,
    td: TableDef,
    source: DataFrame,
    tenant: str | None,
    keys: Sequence[str],
    *,
    update_condition: str | None = None,
    delete_marked: bool = False,
    delete_unmatched: bool = False,
    target_filter: Mapping[str, Sequence[Any]] | None = None,
) -> None:
    """One MERGE of ``source`` (declared columns plus the ``_DELETE`` marker) into the tenant's partition.

    Marked rows delete their match (``delete_marked``); with ``delete_unmatched`` the tenant's rows that match
    no source row are deleted, which makes the merge a replace of the partition.
    """
    view = f"_merge_src_{uuid.uuid4().hex}"
    source.createOrReplaceTempView(view)
    cols = td.schema.fieldNames()
    on = " AND ".join(
        [f"t.`{TENANT_COLUMN}` = {_sql_literal(tenant)}", f"t.`{TENANT_COLUMN}` = s.`{TENANT_COLUMN}`"]
        + [
            f"t.`{c}` IN ({', '.join(_sql_literal(v) for v in values)})"
            for c, values in (target_filter or {}).items()
        ]
        + [f"t.`{k}` = s.`{k}`" for k in keys if k != TENANT_COLUMN]
    )
    update = f"WHEN MATCHED AND NOT s.`{_DELETE}`" + (
        f" AND ({update_condition})" if update_condition else ""
    )
    sql = (
        f"MERGE INTO delta.`{td.path()}` AS t USING {view} AS s ON {on} "
        + (f"WHEN MATCHED AND s.`{_DELETE}` THEN DELETE " if delete_marked else "")
        + f"{update} THEN UPDATE SET {', '.join(f't.`{c}` = s.`{c}`' for c in cols)} "
        f"WHEN NOT MATCHED AND NOT s.`{_DELETE}` THEN INSERT ({', '.join(f'`{c}`' for c in cols)}) "
        f"VALUES ({', '.join(f's.`{c}`' for c in cols)})"
        + (
            f" WHEN NOT MATCHED BY SOURCE AND t.`{TENANT_COLUMN}` = {_sql_literal(tenant)} THEN DELETE"
            if delete_unmatched
            else ""
        )
    )
    try:
        spark.sql(sql).collect()
    finally:
        spark.catalog.dropTempView(view)


# Sail's Delta writer holds each output file in memory until it closes it: at its default target size two writers
# of wide silver rows took ~1.5 GB at 1M opportunities; 32 MiB files keep such a write under 1 GB.
WRITE_OPTIONS: dict[str, str] = {"target_file_size": str(32 * 2**20)}
# A partitioned write keeps one writer per partition value open until its input ends, so one write of a whole
# first load buffers all of it (1.9 GB for 1M opportunities); groups of ~250k rows stayed under 0.9 GB.
APPEND_SLICE_ROWS = 250_000


def _append(td: TableDef, df: DataFrame, *, grouped: bool = False) -> None:
    """Append ``df``; the table's declared properties apply when this creates it.

    ``grouped`` (first loads through ``merge`` only, which a re-run repeats idempotently): a table partitioned
    by one column below tenant_id is written in one append per group of those partitions holding at most
    ~APPEND_SLICE_ROWS rows, one file per partition. A failure between groups leaves some partitions written;
    the re-run's MERGE goes over them. Plain appends stay one commit.
    """
    groups: list[list[Any]] = [[]]
    column = td.partition_by[1] if grouped and len(td.partition_by) == 2 else None
    if column is not None:
        rows = 0
        for value, n in sorted(
            ((r[0], int(r[1])) for r in df.groupBy(column).count().collect()),
            key=lambda vn: (vn[0] is not None, vn[0] or ""),
        ):
            if groups[-1] and rows + n > APPEND_SLICE_ROWS:
                groups.append([])
                rows = 0
            groups[-1].append(value)
            rows += n
    for group in groups:
        part = df
        if column is not None:
            values = [v for v in group if v is not None]
            # isin keeps the predicate flat (a deep OR chain exceeds Spark Connect's plan depth)
            in_group = F.col(column).isin(*values) if values else F.lit(False)
            if None in group:
                in_group = in_group | F.col(column).isNull()
            # one writer per partition: a file per partition instead of one per partition and task
            part = (df if len(groups) == 1 else df.where(in_group)).repartition(column)
        (
            part.write.format("delta")
            .mode("append")
            .partitionBy(*td.partition_by)
            .options(**WRITE_OPTIONS, **td.properties)
            .save(td.path())
        )


def _sql_literal(value: Any) -> str:
    return "NULL" if value is None else "'" + str(value).replace("\\", "\\\\").replace("'", "\\'") + "'"


def _write(
    spark: SparkSession,
    td: TableDef,
    df: DataFrame,
    scope: TenantScope,
    batch_id: str | None,
    kind: str,
    action: Callable[[DataFrame, int, bool], None],
    *,
    not_null: Sequence[str] = (),
) -> WriteResult:
    """Check, then run ``action(checked, rows, table_exists)`` with conflict retries, and report the version.

    The row count, the tenant check and the ``not_null`` (key) check are one pass over ``df``; the Delta log is
    read once before the write (existence, version, layout) and caught up incrementally after it.
    """
    checked = check_schema(td, df)
    tenant = scope.require_single(f"a write to {td.qualified_name}")
    rows = _check_rows(td, checked, scope, tenant, not_null)
    snapshot = _open(td)
    if snapshot is not None:
        _check_layout(td, snapshot)
        _add_declared_columns(td, snapshot)
    ledger = _BatchLedger(spark, td, tenant, batch_id) if batch_id else None
    if ledger is not None:
        done = ledger.already_landed(checked, kind)
        if done is not None:
            log.info(
                "batch %s already landed in %s (version %s); skipping",
                batch_id,
                td.qualified_name,
                done.version,
            )
            return done
        ledger.record_pending(None if snapshot is None else snapshot.version())
    if rows or kind != "append":  # an empty append would still make a commit
        with_retries(
            lambda: action(checked, rows, snapshot is not None or exists(td)),
            what=f"{kind} into {td.qualified_name}",
        )
    before = None if snapshot is None else snapshot.version()
    if snapshot is None:
        version = table_version(td)
    else:
        snapshot.update_incremental()
        version = snapshot.version()
    if ledger is not None:
        ledger.record_committed(version, rows)
    return WriteResult(td.qualified_name, version, rows, committed=version != before)


def _check_rows(td: TableDef, df: DataFrame, scope: TenantScope, tenant: str, not_null: Sequence[str]) -> int:
    """Count ``df`` and, in the same pass, refuse rows of another tenant or with a null ``not_null`` column."""
    foreign = F.col(TENANT_COLUMN).isNull() | (F.col(TENANT_COLUMN) != F.lit(tenant))
    null_key = F.lit(False)
    for k in not_null:
        null_key = null_key | F.col(k).isNull()
    stats = df.agg(
        F.count(F.lit(1)).alias("rows"),
        F.coalesce(F.sum(F.when(foreign, 1).otherwise(0)), F.lit(0)).alias("foreign"),
        F.coalesce(F.sum(F.when(null_key, 1).otherwise(0)), F.lit(0)).alias("null_keys"),
    ).collect()[0]
    if stats["foreign"]:
        check_tenant(td, df, scope)  # names the offending tenants
    if stats["null_keys"]:
        raise SchemaMismatch(
            f"merge into {td.qualified_name} refused, nothing written: {stats['null_keys']} row(s) with a null value "
            f"in key column(s) {list(not_null)}"
        )
    return int(stats["rows"])


def _add_declared_columns(td: TableDef, snapshot: Any) -> None:
    """Add the columns declared after the table was created (all nullable) to the stored schema, so a write that
    carries them is not refused by Delta; existing rows read them as null (as ``read`` already does). Done
    with delta-rs's ALTER TABLE ADD COLUMNS rather than ``mergeSchema``, which Sail applies unreliably."""
    stored = {f.name for f in snapshot.schema().fields}
    missing = [f for f in td.schema.fields if f.name not in stored]
    if not missing:
        return
    from deltalake import Schema
    from pyspark.sql.pandas.types import to_arrow_schema

    added = Schema.from_arrow(to_arrow_schema(StructType(missing))).fields
    log.info("adding declared column(s) %s to %s", [f.name for f in missing], td.qualified_name)
    with_retries(lambda: snapshot.alter.add_columns(list(added)), what=f"add columns to {td.qualified_name}")
    snapshot.update_incremental()


def _check_layout(td: TableDef, snapshot: Any) -> None:
    """Refuse to write into a table stored with other partition columns than declared (it must be rebuilt)."""
    actual = tuple(snapshot.metadata().partition_columns)
    if actual != tuple(td.partition_by):
        raise LayoutMismatch(
            f"write to {td.qualified_name} refused, nothing written: the table at {td.path()} is partitioned by "
            f"{list(actual)} but declared by {list(td.partition_by)}; rebuild it (remove the table and re-run the "
            f"step that writes it from its sources)"
        )


def is_commit_conflict(exc: BaseException) -> bool:
    """Whether ``exc`` is a concurrent-commit conflict worth retrying."""
    text = f"{type(exc).__name__} {exc}".lower()
    return any(marker in text for marker in _CONFLICT_MARKERS)


def with_retries(
    fn: Callable[[], T], *, what: str, retries: int | None = None, base_delay: float = 0.05
) -> T:
    """Run ``fn``, retrying commit conflicts with exponential backoff and full jitter (the one commit retry).

    ``tenacity`` runs the loop; ``is_commit_conflict`` decides what is retried, anything else raises at once,
    and a conflict that outlasts ``retries`` (default ``Settings.write_retries``) raises ``CommitConflict``.
    """
    retries = get_settings().write_retries if retries is None else retries
    retrying = tenacity.Retrying(
        retry=tenacity.retry_if_exception(is_commit_conflict),
        stop=tenacity.stop_after_attempt(retries + 1),
        wait=tenacity.wait_random_exponential(multiplier=base_delay, max=max(base_delay, 30.0)),
        before_sleep=lambda state: log.info(
            "%s: commit conflict (attempt %d), retrying in %.2fs",
            what,
            state.attempt_number,
            state.upcoming_sleep,
        ),
    )
    try:
        return retrying(fn)
    except tenacity.RetryError as exc:
        last = exc.last_attempt.exception()
        raise CommitConflict(f"{what}: still conflicting after {retries} retries: {last}") from last


def remove_tree(path: str) -> None:
    """Delete a directory tree (local or s3://); a missing tree is fine."""
    if path.startswith(("s3://", "s3a://")):
        import pyarrow.fs as pafs

        fs, root = pafs.FileSystem.from_uri(path.replace("s3a://", "s3://", 1))
        try:
            fs.delete_dir(root)
        except FileNotFoundError:
            pass
    else:
        import shutil

        shutil.rmtree(path, ignore_errors=True)


# ---------------------------------------------------------------------------------------------------------
# batch ledger


_SAFE_BATCH = re.compile(r"^[A-Za-z0-9._:@/+=-]{1,200}$")


class _BatchLedger:
    """Pending/committed records in ``ops.write_batch`` around one batch write.

    A committed record means the batch landed. A pending record without a committed one means the process
    died between writing and recording: for an append we then check whether the batch's rows are among the
    rows added since the pending record's base version; merges and overwrites are idempotent by nature and
    are simply re-applied.
    """

    def __init__(self, spark: SparkSession, td: TableDef, tenant: str, batch_id: str) -> None:
        if not _SAFE_BATCH.match(batch_id):
            from lakehouse.errors import BadInput

            raise BadInput(f"invalid batch id {batch_id!r}: 1-200 characters of letters, digits and ._:@/+=-")
        self.spark, self.td, self.tenant, self.batch_id = spark, td, tenant, batch_id
        self.ledger = resolve("ops.write_batch")

    def _records(self) -> list[Any]:
        if self.td.qualified_name == self.ledger.qualified_name or not exists(self.ledger):
            return []
        df = read(self.spark, self.ledger, TenantScope.for_tenant(self.tenant))
        return df.where(
            (F.col("table_name") == self.td.qualified_name) & (F.col("batch_id") == self.batch_id)
        ).collect()

    def already_landed(self, batch: DataFrame, kind: str) -> WriteResult | None:
        records = self._records()
        committed = [r for r in records if r["state"] == "committed"]
        if committed:
            return WriteResult(self.td.qualified_name, committed[0]["version"], 0, skipped=True)
        pending = [r for r in records if r["state"] == "pending"]
        if not pending or kind != "append":
            return None
        base = pending[0]["base_version"]
        current = table_version(self.td)
        if current is None or (base is not None and current <= base):
            return None
        scope = TenantScope.for_tenant(self.tenant)
        added = read(self.spark, self.td, scope)
        if base is not None:
            added = added.exceptAll(read(self.spark, self.td, scope, version=base))
        if batch.exceptAll(added).limit(1).count() == 0:
            self.record_committed(current, 0)
            return WriteResult(self.td.qualified_name, current, 0, skipped=True)
        return None

    def record_pending(self, base_version: int | None) -> None:
        self._record("pending", base_version, None, None)

    def record_committed(self, version: int | None, rows: int) -> None:
        self._record("committed", None, version, rows)

    def _record(self, state: str, base: int | None, version: int | None, rows: int | None) -> None:
        if self.td.qualified_name == self.ledger.qualified_name:
            return
        row = [
            (
                self.tenant,
                self.td.qualified_name,
                self.batch_id,
                state,
                base,
                version,
                rows,
                datetime.now(UTC).replace(tzinfo=None),
            )
        ]
        df = self.spark.createDataFrame(row, self.ledger.schema)
        with_retries(lambda: _append(self.ledger, df), what="recording a write batch")
