"""SQL for the two warehouse dialects: PostgreSQL (local, run for real) and Amazon Redshift (generated).

Statements are built here by hand rather than with a SQL builder: they are a dozen fixed shapes, and the
Redshift-only ones (``CREATE RLS POLICY``, ``ATTACH RLS POLICY``, ``ALTER TABLE ... ROW LEVEL SECURITY ON``)
have no representation in sqlglot, the one well-kept Python SQL library with a Redshift dialect. The tests
parse every generated statement with sqlglot's Redshift (or PostgreSQL) dialect instead. Identifiers are
always double-quoted; the only literals inlined are validated tenant ids, table names from the catalog and
settings (S3 URIs, IAM role ARNs), each escaped; row values are bound parameters.

Each ``Step`` may carry a ``skip_if`` query: the step is already done when that query returns a row (how
CREATE ROLE / CREATE POLICY, which have no IF NOT EXISTS, stay idempotent).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from pyspark.sql.types import (
    ArrayType,
    BinaryType,
    BooleanType,
    ByteType,
    DataType,
    DateType,
    DecimalType,
    DoubleType,
    FloatType,
    IntegerType,
    LongType,
    MapType,
    ShortType,
    StringType,
    StructField,
    StructType,
    TimestampNTZType,
    TimestampType,
)

from lakehouse.catalog import TENANT_COLUMN, TableDef
from lakehouse.errors import BadInput
from lakehouse.warehouse.model import META_SCHEMA, STATE_TABLE, Isolation

DialectName = Literal["postgres", "redshift"]
TENANT_TYPE = "VARCHAR(63)"  # tenant ids are at most 63 characters (lakehouse.tenancy)
REDSHIFT_VARCHAR = "VARCHAR(65535)"  # Redshift's widest VARCHAR: a COPY never truncates a lake string
_TABLE_EXISTS = "SELECT 1 FROM information_schema.tables WHERE table_schema = %s AND table_name = %s"


@dataclass(frozen=True)
class Step:
    """One statement; skipped when ``skip_if`` (with ``skip_params``) returns a row."""

    sql: str
    params: tuple[object, ...] = ()
    skip_if: str | None = None
    skip_params: tuple[object, ...] = ()


def quote(name: str) -> str:
    """A double-quoted identifier."""
    return '"' + name.replace('"', '""') + '"'


def literal(value: str) -> str:
    """A single-quoted string literal."""
    return "'" + value.replace("'", "''") + "'"


def qualified(schema: str, table: str) -> str:
    return f"{quote(schema)}.{quote(table)}"


class Dialect:
    """Statements common to PostgreSQL and Redshift; subclasses differ in types, roles, RLS and loading."""

    name: DialectName

    # -------------------------------------------------------------------------------------------- types
    def string_type(self) -> str:
        raise NotImplementedError

    def nested_type(self) -> str:
        raise NotImplementedError

    def column_type(self, field: StructField) -> str:
        """The warehouse type of a lake column."""
        if field.name == TENANT_COLUMN:
            return TENANT_TYPE
        return self._type(field.dataType, field.name)

    def _type(self, dt: DataType, name: str) -> str:
        simple: list[tuple[type[DataType], str]] = [
            (StringType, self.string_type()),
            (LongType, "BIGINT"),
            (IntegerType, "INTEGER"),
            (ShortType, "SMALLINT"),
            (ByteType, "SMALLINT"),
            (DoubleType, "DOUBLE PRECISION"),
            (FloatType, "REAL"),
            (BooleanType, "BOOLEAN"),
            (DateType, "DATE"),
            (TimestampType, "TIMESTAMPTZ"),
            (TimestampNTZType, "TIMESTAMP"),
            (BinaryType, self.binary_type()),
        ]
        for kind, sql in simple:
            if isinstance(dt, kind):
                return sql
        if isinstance(dt, DecimalType):
            return f"NUMERIC({dt.precision}, {dt.scale})"
        if isinstance(dt, (ArrayType, MapType, StructType)):
            return self.nested_type()
        raise BadInput(f"column {name!r}: no warehouse type for {dt.simpleString()}")

    def binary_type(self) -> str:
        raise NotImplementedError

    def is_nested(self, field: StructField) -> bool:
        return isinstance(field.dataType, (ArrayType, MapType, StructType))

    # ---------------------------------------------------------------------------------------------- DDL
    def create_schema(self, schema: str) -> Step:
        return Step(
            f"CREATE SCHEMA IF NOT EXISTS {quote(schema)}",
            skip_if="SELECT 1 FROM pg_namespace WHERE nspname = %s",
            skip_params=(schema,),
        )

    def table_options(self, td: TableDef, isolation: Isolation) -> str:
        return ""

    def create_table(self, schema: str, td: TableDef, isolation: Isolation) -> Step:
        columns = ", ".join(f"{quote(f.name)} {self.column_type(f)}" for f in td.schema.fields)
        options = self.table_options(td, isolation)
        return Step(
            f"CREATE TABLE IF NOT EXISTS {qualified(schema, td.name)} ({columns}){' ' + options if options else ''}",
            skip_if=_TABLE_EXISTS,
            skip_params=(schema, td.name),
        )

    def add_column(self, schema: str, table: str, field: StructField) -> Step:
        return Step(
            f"ALTER TABLE {qualified(schema, table)} ADD COLUMN {quote(field.name)} {self.column_type(field)}"
        )

    def create_role(self, role: str) -> Step:
        raise NotImplementedError

    def grantee(self, role: str) -> str:
        raise NotImplementedError

    def grants(self, schema: str, tables: list[TableDef], role: str) -> list[Step]:
        steps = [Step(f"GRANT USAGE ON SCHEMA {quote(schema)} TO {self.grantee(role)}")]
        steps += [
            Step(f"GRANT SELECT ON {qualified(schema, td.name)} TO {self.grantee(role)}") for td in tables
        ]
        return steps

    def row_security(self, isolation: Isolation, tables: list[TableDef]) -> list[Step]:
        raise NotImplementedError

    def isolation_steps(self, isolation: Isolation, tables: list[TableDef]) -> list[Step]:
        """Schema, role, tables, grants and (rls mode) row-level security for one tenant; idempotent."""
        schema = isolation.schema
        steps = [self.create_schema(schema), self.create_role(isolation.role)]
        steps += [self.create_table(schema, td, isolation) for td in tables]
        if isolation.mode == "rls":
            steps += self.row_security(isolation, tables)
        steps += self.grants(schema, tables, isolation.role)
        return steps

    # ---------------------------------------------------------------------------------------------- state
    def state_steps(self) -> list[Step]:
        """The warehouse-side record of what was synced: one row per tenant x mart."""
        return [
            self.create_schema(META_SCHEMA),
            Step(
                skip_if=_TABLE_EXISTS,
                skip_params=(META_SCHEMA, STATE_TABLE),
                sql=f"CREATE TABLE IF NOT EXISTS {qualified(META_SCHEMA, STATE_TABLE)} ("
                f'"tenant_id" {TENANT_TYPE} NOT NULL, "table_name" VARCHAR(127) NOT NULL, '
                '"target" VARCHAR(255) NOT NULL, "delta_version" BIGINT NOT NULL, "row_count" BIGINT NOT NULL, '
                '"synced_at" TIMESTAMPTZ NOT NULL, PRIMARY KEY ("tenant_id", "table_name"))',
            ),
        ]

    def lock_state(self) -> Step:
        """Serialises syncs (two syncs of one tenant must not interleave their delete and load)."""
        return Step(f"LOCK TABLE {qualified(META_SCHEMA, STATE_TABLE)}")

    def read_state(self, tenant_id: str) -> Step:
        return Step(
            f'SELECT "table_name", "target", "delta_version", "row_count" FROM {qualified(META_SCHEMA, STATE_TABLE)} '
            'WHERE "tenant_id" = %s',
            (tenant_id,),
        )

    def write_state(
        self, tenant_id: str, table: str, target: str, version: int, rows: int, synced_at: object
    ) -> list[Step]:
        state = qualified(META_SCHEMA, STATE_TABLE)
        return [
            Step(f'DELETE FROM {state} WHERE "tenant_id" = %s AND "table_name" = %s', (tenant_id, table)),
            Step(
                f'INSERT INTO {state} ("tenant_id", "table_name", "target", "delta_version", "row_count", '
                '"synced_at") VALUES (%s, %s, %s, %s, %s, %s)',
                (tenant_id, table, target, version, rows, synced_at),
            ),
        ]

    def columns_query(self, schema: str, table: str) -> Step:
        return Step(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = %s AND table_name = %s "
            "ORDER BY ordinal_position",
            (schema, table),
        )

    def delete_tenant(self, schema: str, table: str, tenant_id: str) -> Step:
        return Step(f"DELETE FROM {qualified(schema, table)} WHERE {quote(TENANT_COLUMN)} = %s", (tenant_id,))


class PostgresDialect(Dialect):
    """PostgreSQL: the local warehouse (reached through redshift_connector behind pgbouncer)."""

    name: DialectName = "postgres"

    def string_type(self) -> str:
        return "TEXT"

    def nested_type(self) -> str:
        return "JSONB"

    def binary_type(self) -> str:
        return "BYTEA"

    def create_role(self, role: str) -> Step:
        return Step(
            f"CREATE ROLE {quote(role)} NOLOGIN",
            skip_if="SELECT 1 FROM pg_roles WHERE rolname = %s",
            skip_params=(role,),
        )

    def grantee(self, role: str) -> str:
        return quote(role)

    def grants(self, schema: str, tables: list[TableDef], role: str) -> list[Step]:
        """GRANTs, each skipped when held already (a GRANT rewrites the catalog row even when nothing changes)."""
        usage, *selects = super().grants(schema, tables, role)
        steps = [
            Step(
                usage.sql,
                skip_if="SELECT 1 WHERE has_schema_privilege(%s, %s, 'USAGE')",
                skip_params=(role, schema),
            )
        ]
        steps += [
            Step(
                select.sql,
                skip_if="SELECT 1 WHERE has_table_privilege(%s, %s, 'SELECT')",
                skip_params=(role, qualified(schema, td.name)),
            )
            for select, td in zip(selects, tables, strict=True)
        ]
        return steps

    def row_security(self, isolation: Isolation, tables: list[TableDef]) -> list[Step]:
        """RLS on (not FORCEd: the loading owner keeps seeing every row) and a SELECT policy per table."""
        schema, steps = isolation.schema, []
        for td in tables:
            steps.append(
                Step(
                    f"ALTER TABLE {qualified(schema, td.name)} ENABLE ROW LEVEL SECURITY",
                    skip_if="SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                    "WHERE n.nspname = %s AND c.relname = %s AND c.relrowsecurity",
                    skip_params=(schema, td.name),
                )
            )
            steps.append(
                Step(
                    f"CREATE POLICY {quote(isolation.policy)} ON {qualified(schema, td.name)} FOR SELECT "
                    f"TO {quote(isolation.role)} USING ({quote(TENANT_COLUMN)} = {literal(isolation.tenant_id)})",
                    skip_if="SELECT 1 FROM pg_policies WHERE schemaname = %s AND tablename = %s AND policyname = %s",
                    skip_params=(schema, td.name, isolation.policy),
                )
            )
        return steps

    def insert(self, schema: str, td: TableDef, rows: int) -> str:
        """A multi-row INSERT with ``rows`` rows of bound parameters (nested values are JSON text)."""
        columns = ", ".join(quote(f.name) for f in td.schema.fields)
        one = (
            "("
            + ", ".join("CAST(%s AS JSONB)" if self.is_nested(f) else "%s" for f in td.schema.fields)
            + ")"
        )
        return f"INSERT INTO {qualified(schema, td.name)} ({columns}) VALUES " + ", ".join([one] * rows)


class RedshiftDialect(Dialect):
    """Amazon Redshift: DISTKEY/SORTKEY DDL, RLS policies, loads by COPY from staged Parquet on S3."""

    name: DialectName = "redshift"

    def string_type(self) -> str:
        return REDSHIFT_VARCHAR

    def nested_type(self) -> str:
        return "SUPER"

    def binary_type(self) -> str:
        return "VARBYTE"

    def table_options(self, td: TableDef, isolation: Isolation) -> str:
        """Distribution and sort keys from the mart's declared keys and the isolation mode.

        Pooled (rls): DISTKEY tenant_id, so each tenant's rows sit on one slice (many tenants spread the
        table; every query is one tenant's through its policy), and a compound SORTKEY of the declared key,
        tenant_id first, so the policy predicate prunes blocks. Siloed (schema): tenant_id is one value, so
        Redshift picks the distribution (AUTO) and the SORTKEY is the rest of the key; a mart keyed by tenant
        alone is one row, copied to every node (ALL).
        """
        others = [k for k in td.keys if k != TENANT_COLUMN]
        if isolation.mode == "rls":
            sort = ", ".join(quote(k) for k in (TENANT_COLUMN, *others))
            return f"DISTSTYLE KEY DISTKEY ({quote(TENANT_COLUMN)}) COMPOUND SORTKEY ({sort})"
        if not others:
            return "DISTSTYLE ALL"
        return f"DISTSTYLE AUTO COMPOUND SORTKEY ({', '.join(quote(k) for k in others)})"

    def create_role(self, role: str) -> Step:
        return Step(
            f"CREATE ROLE {quote(role)}",
            skip_if="SELECT 1 FROM svv_roles WHERE role_name = %s",
            skip_params=(role,),
        )

    def grantee(self, role: str) -> str:
        return f"ROLE {quote(role)}"

    def row_security(self, isolation: Isolation, tables: list[TableDef]) -> list[Step]:
        """One policy object per tenant, attached to each pooled table for the tenant's role; RLS turned on."""
        steps = [
            Step(
                f"CREATE RLS POLICY {quote(isolation.policy)} WITH ({quote(TENANT_COLUMN)} {TENANT_TYPE}) "
                f"USING ({quote(TENANT_COLUMN)} = {literal(isolation.tenant_id)})",
                skip_if="SELECT 1 FROM svv_rls_policy WHERE polname = %s",
                skip_params=(isolation.policy,),
            )
        ]
        for td in tables:
            steps.append(
                Step(
                    f"ATTACH RLS POLICY {quote(isolation.policy)} ON {qualified(isolation.schema, td.name)} "
                    f"TO ROLE {quote(isolation.role)}",
                    skip_if="SELECT 1 FROM svv_rls_attached_policy WHERE polname = %s AND schemaname = %s "
                    "AND relname = %s",
                    skip_params=(isolation.policy, isolation.schema, td.name),
                )
            )
            steps.append(Step(f"ALTER TABLE {qualified(isolation.schema, td.name)} ROW LEVEL SECURITY ON"))
        return steps

    def copy(self, schema: str, td: TableDef, s3_prefix: str, iam_role: str) -> Step:
        """COPY the staged Parquet files under ``s3_prefix`` (columns by position, as Parquet COPY maps them)."""
        if not s3_prefix.startswith("s3://"):
            raise BadInput(f"a Redshift COPY reads from S3, not {s3_prefix!r}")
        nested = " SERIALIZETOJSON" if any(self.is_nested(f) for f in td.schema.fields) else ""
        return Step(
            f"COPY {qualified(schema, td.name)} FROM {literal(s3_prefix)} IAM_ROLE {literal(iam_role)} "
            f"FORMAT AS PARQUET{nested}"
        )


def dialect(name: str) -> Dialect:
    """The dialect called ``name`` (``postgres`` or ``redshift``)."""
    if name == "postgres":
        return PostgresDialect()
    if name == "redshift":
        return RedshiftDialect()
    raise BadInput(f"unknown warehouse dialect {name!r}; use postgres or redshift")
