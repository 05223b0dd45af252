"""``lakehouse warehouse``: load a tenant's gold marts into the analytics warehouse, or show the statements.

The tenant's isolation mode (siloed: a schema of its own; pooled: the shared schema with row-level security) is
what the control plane recorded for it; this composition root reads it from the control-plane database and
hands it to ``lakehouse.warehouse`` as a parameter.
"""

from __future__ import annotations

import json
import sys
from enum import Enum
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from lakehouse.errors import BadInput, Refused

warehouse_app = typer.Typer(
    help="Serve gold marts from the analytics warehouse (Redshift; PostgreSQL locally)."
)


class OutputFormat(str, Enum):
    table = "table"
    json = "json"


class DialectChoice(str, Enum):
    redshift = "redshift"
    postgres = "postgres"


class TenantNotProvisioned(Refused):
    """The control plane does not know the tenant, so its isolation mode is unknown."""


def control_plane_isolation(tenant_id: str) -> str | None:
    """The tenant's isolation mode as the control plane recorded it (siloed/pooled), None if unknown."""
    from control_plane.db import DbScope
    from control_plane.quotas.local import open_database
    from control_plane.tenants.models import Tenant

    db = open_database()
    try:
        with db.session(DbScope.for_platform()) as session:
            tenant = session.get(Tenant, tenant_id)
            return None if tenant is None else str(tenant.isolation_mode)
    finally:
        db.dispose()


def resolve_isolation(tenant_id: str, override: str | None) -> tuple[str, str]:
    """(mode, where it came from): the control plane's, or ``--isolation`` for a tenant it does not know."""
    from lakehouse.settings import get_settings
    from lakehouse.tenancy import validate_tenant_id
    from lakehouse.warehouse.model import Isolation

    validate_tenant_id(tenant_id)
    recorded = control_plane_isolation(tenant_id)
    if recorded is not None:
        if override is not None and Isolation.of(tenant_id, override) != Isolation.of(tenant_id, recorded):
            raise BadInput(
                f"--isolation {override} disagrees with the control plane, which has tenant {tenant_id} as "
                f"{recorded}; change it there (PUT /tenants/{tenant_id}) rather than here"
            )
        return recorded, "control plane"
    if override is None or get_settings().environment == "production":
        raise TenantNotProvisioned(
            f"tenant {tenant_id!r} is not provisioned in the control plane, so its warehouse isolation is "
            "unknown; provision it (PUT /tenants/{id})"
            + ("" if get_settings().environment == "production" else " or pass --isolation siloed|pooled")
        )
    return override, "--isolation (tenant not in the control plane)"


@warehouse_app.command("sync")
def sync(
    tenant: Annotated[str, typer.Option("--tenant", "-t", help="Tenant whose marts to load")],
    isolation: Annotated[
        str | None,
        typer.Option(
            "--isolation",
            help="siloed|pooled, only for a tenant the control plane does not know (development)",
        ),
    ] = None,
    table: Annotated[
        list[str] | None,
        typer.Option("--table", help="Only this served mart (repeatable), e.g. gold.ace_pipeline"),
    ] = None,
    url: Annotated[
        str | None,
        typer.Option("--url", help="Warehouse URL (default: LAKEHOUSE_WAREHOUSE_URL)", show_default=False),
    ] = None,
    fmt: Annotated[OutputFormat, typer.Option("--format", "-f")] = OutputFormat.table,
) -> None:
    """Load the tenant's gold marts into the warehouse; marts whose Delta version was loaded already are skipped."""
    from lakehouse.warehouse.model import Isolation, served_tables
    from lakehouse.warehouse.sync import open_warehouse

    mode, source = resolve_isolation(tenant, isolation)
    iso = Isolation.of(tenant, mode)
    tables = served_tables(tuple(table) if table else None)
    with open_warehouse(url) as wh:
        result = wh.sync(iso, tables)
    records = [
        {
            "table": t.table,
            "target": t.target,
            "action": t.action,
            "from_version": t.from_version,
            "to_version": t.to_version,
            "rows": t.rows,
        }
        for t in result.tables
    ]
    if fmt is OutputFormat.json:
        typer.echo(
            json.dumps({"tenant_id": tenant, "mode": iso.mode, "schema": iso.schema, "tables": records})
        )
        return
    out = Table(title=f"warehouse sync · tenant {tenant} · {mode} ({iso.mode}, from {source}) → {iso.schema}")
    for column in ("table", "target", "action", "from_version", "to_version", "rows"):
        out.add_column(column)
    for r in records:
        out.add_row(*("" if v is None else str(v) for v in r.values()))
    console = Console(width=None if sys.stdout.isatty() else 200)  # piped: do not cut paths at 80
    console.print(out)
    loaded = sum(1 for t in result.tables if t.action == "loaded")
    console.print(f"{loaded} mart(s) loaded, {len(result.tables) - loaded} without new rows for {tenant}")


@warehouse_app.command("plan")
def plan_cmd(
    tenant: Annotated[str, typer.Option("--tenant", "-t", help="Tenant to plan for")],
    isolation: Annotated[
        str,
        typer.Option(
            "--isolation", help="siloed|pooled (or schema|rls): the plan does not ask the control plane"
        ),
    ],
    dialect: Annotated[DialectChoice, typer.Option("--dialect")] = DialectChoice.redshift,
    version: Annotated[
        int, typer.Option("--version", min=0, help="Delta version shown in staging paths")
    ] = 0,
) -> None:
    """Print the statements a first sync runs (COPY, DISTKEY/SORTKEY DDL, RLS policies), without connecting."""
    from lakehouse.warehouse.connection import WarehouseSettings
    from lakehouse.warehouse.model import Isolation
    from lakehouse.warehouse.sql import dialect as make_dialect
    from lakehouse.warehouse.sync import plan

    settings = WarehouseSettings()
    statements = plan(
        Isolation.of(tenant, isolation),
        make_dialect(dialect.value),
        version=version,
        staging_uri=settings.staging_uri or "s3://<staging-bucket>/warehouse",
        iam_role=settings.iam_role or "arn:aws:iam::<account-id>:role/<redshift-copy-role>",
    )
    typer.echo("\n".join(s + ";" for s in statements))


@warehouse_app.command("status")
def status(
    tenant: Annotated[str, typer.Option("--tenant", "-t")],
    url: Annotated[str | None, typer.Option("--url", show_default=False)] = None,
) -> None:
    """Print what the warehouse recorded as synced for the tenant (mart, target, Delta version, rows, when)."""
    from lakehouse.tenancy import validate_tenant_id
    from lakehouse.warehouse.sync import open_warehouse

    validate_tenant_id(tenant)
    with open_warehouse(url) as wh:
        cursor = wh.connection.cursor()
        try:
            cursor.execute(
                'SELECT "table_name", "target", "delta_version", "row_count", "synced_at" '
                'FROM "lakehouse_meta"."sync_state" WHERE "tenant_id" = %s ORDER BY 1',
                [tenant],
            )
            rows = cursor.fetchall()
        except Exception as exc:
            raise BadInput(
                f"the warehouse has no sync state yet (run `lakehouse warehouse sync`): {exc}"
            ) from exc
        finally:
            wh.connection.rollback()
    out = Table(title=f"warehouse sync state · tenant {tenant}")
    for column in ("table", "target", "delta_version", "rows", "synced_at"):
        out.add_column(column)
    for row in rows:
        out.add_row(*(str(v) for v in row))
    Console(width=None if sys.stdout.isatty() else 200).print(out)


def register(app: typer.Typer) -> None:
    app.add_typer(warehouse_app, name="warehouse")
