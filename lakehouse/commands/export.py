"""``lakehouse export``: a tenant's marts as Parquet and CSV under its export prefix (S3 or a local path)."""

from __future__ import annotations

import sys
from enum import Enum
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table


class Format(str, Enum):
    parquet = "parquet"
    csv = "csv"


def export_cmd(
    tenant: Annotated[str, typer.Option("--tenant", "-t", help="Tenant whose rows to export")],
    table: Annotated[
        list[str] | None,
        typer.Option(
            "--table", help="Source to export (repeatable): a gold mart, e.g. gold.ace_pipeline; default all"
        ),
    ] = None,
    fmt: Annotated[
        list[Format] | None, typer.Option("--format", "-f", help="parquet and/or csv (default both)")
    ] = None,
    to: Annotated[
        str | None,
        typer.Option(
            "--to", help="A location inside the tenant's export prefix (default: the prefix itself)"
        ),
    ] = None,
) -> None:
    """Export the tenant's marts to its export prefix ({LAKEHOUSE_EXPORT_ROOT}/tenant_id=T/); other prefixes are refused."""
    from lakehouse import exports, io
    from lakehouse.tenancy import TenantScope
    from lakehouse.warehouse.model import SERVED_MARTS

    scope = TenantScope.for_tenant(tenant)
    exports.destination(tenant, to)  # refuse a foreign destination before reading anything
    names = list(table) if table else [n for n in SERVED_MARTS if io.exists(n)]
    sources = [exports.source(n) for n in names]
    formats = [f.value for f in fmt] if fmt else list(exports.FORMATS)
    console = Console(width=None if sys.stdout.isatty() else 200)  # piped: do not cut paths at 80
    out = Table(title=f"export · tenant {tenant} → {exports.destination(tenant, to)}")
    for column in ("source", "version", "rows", "files"):
        out.add_column(column)
    for src in sources:
        result = exports.export(src, scope, formats=formats, dest=to)  # type: ignore[arg-type]
        out.add_row(src.name, result.version, str(result.rows), "\n".join(f.location for f in result.files))
    console.print(out)
    if not sources:
        console.print(f"no mart has been built yet for the lake at {exports.export_root()}; nothing exported")


def register(app: typer.Typer) -> None:
    app.command("export")(export_cmd)
