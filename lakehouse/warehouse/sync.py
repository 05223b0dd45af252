"""Load a tenant's gold marts into the analytics warehouse, incrementally by Delta table version.

For each served mart the warehouse keeps, in ``lakehouse_meta.sync_state``, the Delta version it last loaded
for the tenant. A sync compares it with the mart's current version:
- the same version: nothing is written (not even the state);
- a newer version in which the tenant's partition did not change (another tenant's write, read from the
  Delta log's add/remove actions): only the recorded version moves;
- otherwise the tenant's rows at exactly the current version (a snapshot, read without Spark) replace the
  tenant's rows in the warehouse table, and the state row is rewritten.
All loads of one sync and their state rows commit in one transaction under a lock on the state table, so a
reader sees the tenant's marts all before or all after a sync, a crash leaves the previous load and state,
and two syncs cannot interleave. The unit of replacement is the tenant's slice of a mart (marts are small
aggregates rewritten per tenant partition by the gold step, so a row-level diff would save little).
"""

from __future__ import annotations

import io as _io
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal, Protocol, Self

from lakehouse import io
from lakehouse.catalog import TENANT_COLUMN, TableDef
from lakehouse.errors import BadInput, LakehouseError
from lakehouse.tenancy import TenantScope
from lakehouse.warehouse.model import Isolation, served_tables
from lakehouse.warehouse.sql import (
    Dialect,
    PostgresDialect,
    RedshiftDialect,
    Step,
    qualified,
    quote,
)

log = logging.getLogger(__name__)

Action = Literal["loaded", "unchanged", "advanced", "absent"]
MAX_PARAMETERS = 30_000  # the wire protocol counts bind parameters in an int16 (32,767)


class WarehouseSchemaMismatch(BadInput):
    """A warehouse table's columns disagree with the mart's declaration in a way a sync cannot fix."""


class WarehouseError(LakehouseError):
    """The warehouse refused a statement; nothing of the sync's load was committed."""


@dataclass(frozen=True)
class TableSync:
    """What a sync did to one mart."""

    table: str
    target: str
    action: Action
    from_version: int | None
    to_version: int | None
    rows: int = 0


@dataclass(frozen=True)
class SyncResult:
    """What a sync did for one tenant."""

    tenant_id: str
    mode: str
    schema: str
    tables: list[TableSync] = field(default_factory=list)

    @property
    def wrote(self) -> bool:
        return any(t.action in ("loaded", "advanced") for t in self.tables)


class Loader(Protocol):
    """Puts a tenant's rows into a warehouse table (inside the sync's transaction)."""

    def load(self, cursor: Any, schema: str, td: TableDef, data: Any, *, tenant_id: str, version: int) -> int:
        """Insert ``data`` (a pyarrow Table in declared column order); return the rows loaded."""
        ...


def _python_value(value: Any, nested: bool) -> Any:
    if value is None:
        return None
    if nested:
        return json.dumps(value, default=str, sort_keys=True)
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value.astimezone(UTC)
    return value


class InsertLoader:
    """PostgreSQL: multi-row INSERTs with bound parameters, batched under the protocol's parameter limit."""

    def __init__(self, dialect: PostgresDialect | None = None) -> None:
        self.dialect = dialect or PostgresDialect()

    def load(self, cursor: Any, schema: str, td: TableDef, data: Any, *, tenant_id: str, version: int) -> int:
        fields = td.schema.fields
        nested = [self.dialect.is_nested(f) for f in fields]
        per_batch = max(1, MAX_PARAMETERS // len(fields))
        columns = [data.column(f.name).to_pylist() for f in fields]
        total = data.num_rows
        for start in range(0, total, per_batch):
            stop = min(start + per_batch, total)
            params: list[Any] = []
            for i in range(start, stop):
                params.extend(_python_value(col[i], n) for col, n in zip(columns, nested, strict=True))
            cursor.execute(self.dialect.insert(schema, td, stop - start), params)
        return int(total)


def staging_prefix(staging_uri: str, tenant_id: str, table: str, version: int) -> str:
    """Where a mart's slice at ``version`` is staged for COPY (one prefix per tenant x table x version)."""
    return f"{staging_uri.rstrip('/')}/tenant_id={tenant_id}/{table}/v{version}/"


class CopyLoader:
    """Redshift: stage the slice as Parquet under the staging prefix (boto3), then COPY it."""

    def __init__(self, staging_uri: str, iam_role: str, *, s3_client: Any = None) -> None:
        if not staging_uri.startswith("s3://"):
            raise BadInput(f"LAKEHOUSE_WAREHOUSE_STAGING_URI must be an s3:// prefix, not {staging_uri!r}")
        if not iam_role.startswith("arn:"):
            raise BadInput(f"LAKEHOUSE_WAREHOUSE_IAM_ROLE must be an IAM role ARN, not {iam_role!r}")
        self.staging_uri = staging_uri
        self.iam_role = iam_role
        self.dialect = RedshiftDialect()
        self._s3 = s3_client

    def stage(self, td: TableDef, data: Any, *, tenant_id: str, version: int) -> str:
        """Write the slice as one Parquet object; returns the prefix COPY reads."""
        import boto3
        import pyarrow.parquet as pq

        prefix = staging_prefix(self.staging_uri, tenant_id, td.name, version)
        bucket, _, key_prefix = prefix.removeprefix("s3://").partition("/")
        buffer = _io.BytesIO()
        pq.write_table(data, buffer)
        buffer.seek(0)
        s3 = self._s3 or boto3.client("s3")
        s3.upload_fileobj(buffer, bucket, f"{key_prefix}part-00000.parquet")
        return prefix

    def load(self, cursor: Any, schema: str, td: TableDef, data: Any, *, tenant_id: str, version: int) -> int:
        prefix = self.stage(td, data, tenant_id=tenant_id, version=version)
        cursor.execute(self.dialect.copy(schema, td, prefix, self.iam_role).sql)
        return int(data.num_rows)


@dataclass
class _State:
    target: str
    version: int
    rows: int


class Warehouse:
    """A warehouse connection (DB-API, autocommit off) with its dialect and loader."""

    def __init__(self, connection: Any, dialect: Dialect, loader: Loader) -> None:
        self.connection = connection
        self.dialect = dialect
        self.loader = loader

    def close(self) -> None:
        self.connection.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------------------------------ execution
    def _run(self, cursor: Any, step: Step) -> bool:
        """Execute a step unless its ``skip_if`` query finds it done; True when it ran."""
        if step.skip_if is not None:
            cursor.execute(step.skip_if, list(step.skip_params))
            if cursor.fetchall():
                return False
        cursor.execute(step.sql, list(step.params) if step.params else None)
        return True

    def apply(self, steps: Sequence[Step]) -> list[str]:
        """Run steps in one transaction; returns the statements that ran (skipped ones are left out)."""
        ran: list[str] = []
        cursor = self.connection.cursor()
        try:
            for step in steps:
                if self._run(cursor, step):
                    ran.append(step.sql)
            self.connection.commit()
        except Exception as exc:
            self.connection.rollback()
            raise WarehouseError(f"warehouse statement failed: {exc}") from exc
        finally:
            cursor.close()
        return ran

    # ------------------------------------------------------------------------------------------ isolation
    def ensure_isolation(self, isolation: Isolation, tables: list[TableDef] | None = None) -> list[str]:
        """Create the tenant's schema or policies, role, tables and grants, and the state table (idempotent)."""
        tables = tables if tables is not None else served_tables()
        steps = self.dialect.state_steps() + self.dialect.isolation_steps(isolation, tables)
        ran = self.apply(steps)
        ran += self._evolve(isolation.schema, tables)
        return ran

    def _columns(self, cursor: Any, schema: str, table: str) -> list[str]:
        step = self.dialect.columns_query(schema, table)
        cursor.execute(step.sql, list(step.params))
        return [str(r[0]) for r in cursor.fetchall()]

    def _evolve(self, schema: str, tables: list[TableDef]) -> list[str]:
        """Add declared columns the warehouse table lacks; columns it has beyond the declaration are kept."""
        steps: list[Step] = []
        cursor = self.connection.cursor()
        try:
            for td in tables:
                present = self._columns(cursor, schema, td.name)
                declared = td.schema.fieldNames()
                missing = [f for f in td.schema.fields if f.name not in present]
                if (
                    isinstance(self.dialect, RedshiftDialect)
                    and present + [f.name for f in missing] != declared
                ):
                    # Parquet COPY maps columns by position
                    raise WarehouseSchemaMismatch(
                        f"{schema}.{td.name} has columns {present}, declared {declared}: Redshift's Parquet COPY "
                        "maps by position, so rebuild the table (drop it and sync again)"
                    )
                steps += [self.dialect.add_column(schema, td.name, f) for f in missing]
            self.connection.rollback()
        finally:
            cursor.close()
        return self.apply(steps) if steps else []

    # ---------------------------------------------------------------------------------------------- sync
    def sync(self, isolation: Isolation, tables: list[TableDef] | None = None) -> SyncResult:
        """Bring the tenant's slice of each served mart up to the mart's current Delta version."""
        tables = tables if tables is not None else served_tables()
        self.ensure_isolation(isolation, tables)
        scope = TenantScope.for_tenant(isolation.tenant_id)
        results: list[TableSync] = []
        cursor = self.connection.cursor()
        try:
            self._run(cursor, self.dialect.lock_state())
            read = self.dialect.read_state(isolation.tenant_id)
            cursor.execute(read.sql, list(read.params))
            state = {str(r[0]): _State(str(r[1]), int(r[2]), int(r[3])) for r in cursor.fetchall()}
            now = datetime.now(UTC)
            for td in tables:
                result = self._sync_table(cursor, isolation, scope, td, state.get(td.qualified_name), now)
                results.append(result)
            if any(r.action in ("loaded", "advanced") for r in results):
                self.connection.commit()
            else:
                self.connection.rollback()  # releases the lock; nothing was written
        except LakehouseError:
            self.connection.rollback()
            raise
        except Exception as exc:
            self.connection.rollback()
            raise WarehouseError(
                f"sync of tenant {isolation.tenant_id} failed, nothing committed: {exc}"
            ) from exc
        finally:
            cursor.close()
        return SyncResult(isolation.tenant_id, isolation.mode, isolation.schema, results)

    def _sync_table(
        self,
        cursor: Any,
        isolation: Isolation,
        scope: TenantScope,
        td: TableDef,
        previous: _State | None,
        now: datetime,
    ) -> TableSync:
        target = f"{isolation.schema}.{td.name}"
        current = io.table_version(td)
        before = previous.version if previous else None
        if current is None:
            return TableSync(td.qualified_name, target, "absent", before, None)
        same_target = previous is not None and previous.target == target
        if previous is not None and same_target and previous.version == current:
            return TableSync(td.qualified_name, target, "unchanged", before, current, previous.rows)
        if previous is not None and same_target and previous.version < current:
            changed = io.changed_partitions(td, scope, previous.version, TENANT_COLUMN)
            if changed is not None and not changed:
                for step in self.dialect.write_state(
                    isolation.tenant_id, td.qualified_name, target, current, previous.rows, now
                ):
                    self._run(cursor, step)
                return TableSync(td.qualified_name, target, "advanced", before, current, previous.rows)
        if previous is not None and not same_target:
            # the tenant moved between isolation modes: its rows leave the old place in the same transaction
            old_schema, _, old_table = previous.target.partition(".")
            self._run(cursor, self.dialect.delete_tenant(old_schema, old_table, isolation.tenant_id))
        data = io.read_arrow(td, scope, version=current)
        self._run(cursor, self.dialect.delete_tenant(isolation.schema, td.name, isolation.tenant_id))
        rows = self.loader.load(
            cursor, isolation.schema, td, data, tenant_id=isolation.tenant_id, version=current
        )
        for step in self.dialect.write_state(
            isolation.tenant_id, td.qualified_name, target, current, rows, now
        ):
            self._run(cursor, step)
        log.info("warehouse: loaded %s rows of %s for %s at v%s", rows, target, isolation.tenant_id, current)
        return TableSync(td.qualified_name, target, "loaded", before, current, rows)


def plan(
    isolation: Isolation,
    dialect: Dialect,
    *,
    tables: list[TableDef] | None = None,
    staging_uri: str = "s3://<staging-bucket>/warehouse",
    iam_role: str = "arn:aws:iam::<account-id>:role/<redshift-copy-role>",
    version: int = 0,
) -> list[str]:
    """The statements a first sync of every mart at ``version`` runs, without connecting (for review/CI).

    Idempotence checks (``skip_if`` queries) are left out; loads are shown as COPY (Redshift) or as a one-row
    INSERT template (PostgreSQL binds every row's values).
    """
    tables = tables if tables is not None else served_tables()
    steps = dialect.state_steps() + dialect.isolation_steps(isolation, tables)
    statements = [s.sql for s in steps]
    statements.append(dialect.lock_state().sql)
    state = qualified("lakehouse_meta", "sync_state")
    for td in tables:
        statements.append(
            f"DELETE FROM {qualified(isolation.schema, td.name)} WHERE {quote(TENANT_COLUMN)} = "
            f"'{isolation.tenant_id}'"
        )
        if isinstance(dialect, RedshiftDialect):
            prefix = staging_prefix(staging_uri, isolation.tenant_id, td.name, version)
            statements.append(dialect.copy(isolation.schema, td, prefix, iam_role).sql)
        elif isinstance(dialect, PostgresDialect):
            statements.append(dialect.insert(isolation.schema, td, 1))
        statements.append(
            f"DELETE FROM {state} WHERE \"tenant_id\" = '{isolation.tenant_id}' AND "
            f"\"table_name\" = '{td.qualified_name}'"
        )
        statements.append(
            f'INSERT INTO {state} ("tenant_id", "table_name", "target", "delta_version", "row_count", '
            f"\"synced_at\") VALUES ('{isolation.tenant_id}', '{td.qualified_name}', "
            f"'{isolation.schema}.{td.name}', {version}, 0, CURRENT_TIMESTAMP)"
        )
    statements.append("COMMIT")
    return statements


class _NoLoader:
    """For a warehouse opened only to provision isolation: any load is a configuration error."""

    def __init__(self, missing: str) -> None:
        self.missing = missing

    def load(self, cursor: Any, schema: str, td: TableDef, data: Any, *, tenant_id: str, version: int) -> int:
        raise BadInput(f"cannot load into Redshift: {self.missing}")


def open_warehouse(url: str | None = None, *, settings: Any = None) -> Warehouse:
    """A Warehouse for ``url`` (default: LAKEHOUSE_WAREHOUSE_URL) with the dialect's loader.

    Redshift loads need ``LAKEHOUSE_WAREHOUSE_STAGING_URI`` and ``LAKEHOUSE_WAREHOUSE_IAM_ROLE``; without them
    the warehouse can still be provisioned, and a load says which setting is missing.
    """
    from lakehouse.warehouse.connection import WarehouseSettings, WarehouseUrl, configured_url, connect

    settings = settings or WarehouseSettings()
    target = WarehouseUrl.parse(url) if url else configured_url(settings)
    loader: Loader
    if target.dialect == "redshift":
        missing = [
            name
            for name, value in (
                ("LAKEHOUSE_WAREHOUSE_STAGING_URI", settings.staging_uri),
                ("LAKEHOUSE_WAREHOUSE_IAM_ROLE", settings.iam_role),
            )
            if not value
        ]
        loader = (
            _NoLoader(f"set {' and '.join(missing)}")
            if missing
            else CopyLoader(settings.staging_uri, settings.iam_role)
        )
        return Warehouse(connect(target), RedshiftDialect(), loader)
    return Warehouse(connect(target), PostgresDialect(), InsertLoader())
