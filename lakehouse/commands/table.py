"""``lakehouse table``: look at lake tables."""

from __future__ import annotations

import csv
import io as _io
import json
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import TYPE_CHECKING, Any

import typer
from rich.console import Console
from rich.table import Table

from lakehouse.errors import BadInput

if TYPE_CHECKING:
    from lakehouse.catalog import TableDef

table_app = typer.Typer(help="Inspect lake tables.", no_args_is_help=True)


TABLE_VIEW_ROWS = 50  # the Rich table view's default row cap (stated on stderr when it cuts)


class OutputFormat(str, Enum):
    table = "table"
    json = "json"
    csv = "csv"


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if hasattr(value, "asDict"):
        return _plain(value.asDict(recursive=True))
    return value


def render(columns: list[str], records: list[dict[str, Any]], fmt: OutputFormat, title: str) -> str:
    """Render rows as a Rich table, JSON (a list of objects) or CSV."""
    if fmt is OutputFormat.json:
        return json.dumps([{c: _plain(r[c]) for c in columns} for r in records], indent=2)
    if fmt is OutputFormat.csv:
        buf = _io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(columns)
        for r in records:
            writer.writerow(["" if r[c] is None else _plain(r[c]) for c in columns])
        return buf.getvalue()
    table = Table(title=title)
    for c in columns:
        table.add_column(c)
    for r in records:
        table.add_row(*("" if r[c] is None else str(_plain(r[c])) for c in columns))
    console = Console(record=True, width=200)
    with console.capture() as capture:
        console.print(table)
    return capture.get()


@table_app.command("show")
def show(
    name: str = typer.Argument(
        ..., metavar="LAYER.TABLE", help="Qualified table name, e.g. gold.ace_pipeline"
    ),
    tenant: str = typer.Option(..., "--tenant", "-t", help="Tenant whose rows to show"),
    fmt: OutputFormat = typer.Option(OutputFormat.table, "--format", "-f", help="Output format"),
    limit: int | None = typer.Option(
        None,
        "--limit",
        "-n",
        min=1,
        help="At most this many rows (default: all rows for json/csv, 50 for the table view); when rows are "
        "left out, stderr says how many the table holds",
    ),
) -> None:
    """Print a tenant's rows of a lake table (json/csv: every row unless --limit is given; never silently cut)."""
    from lakehouse import io
    from lakehouse.engine import get_spark
    from lakehouse.tenancy import TenantScope

    scope = TenantScope.for_tenant(tenant)
    td = _table_def(name)
    if not io.exists(td):
        raise BadInput(f"table {name} has not been written yet under {td.path()}")
    df = io.read(get_spark(), td, scope)
    if limit is None and fmt is OutputFormat.table:
        limit = TABLE_VIEW_ROWS
    rows = df.collect() if limit is None else df.limit(limit + 1).collect()
    if limit is not None and len(rows) > limit:
        rows = rows[:limit]
        total = df.count()
        typer.echo(f"showing {limit} of {total} rows of {name} for tenant {tenant} (--limit)", err=True)
    records = [r.asDict(recursive=True) for r in rows]
    typer.echo(render(df.columns, records, fmt, f"{name} · tenant {tenant}"), nl=fmt is not OutputFormat.csv)


def _table_def(name: str) -> TableDef:
    from lakehouse import catalog

    try:
        return catalog.get(name)
    except catalog.UnknownTable as exc:
        raise BadInput(str(exc)) from None


@table_app.command("history")
def history_cmd(
    name: str = typer.Argument(..., metavar="LAYER.TABLE"),
    limit: int = typer.Option(20, "--limit", "-n", min=1),
    fmt: OutputFormat = typer.Option(OutputFormat.table, "--format", "-f"),
) -> None:
    """Print a table's commit history, newest first."""
    from lakehouse import io

    td = _table_def(name)
    records = [
        {
            "version": h.get("version"),
            "timestamp": h.get("timestamp"),
            "operation": h.get("operation"),
            "parameters": json.dumps(h.get("operationParameters") or {}, sort_keys=True),
        }
        for h in io.history(td, limit)
    ]
    typer.echo(render(["version", "timestamp", "operation", "parameters"], records, fmt, f"{name} history"))


@table_app.command("compact")
def compact_cmd(
    name: str = typer.Argument(..., metavar="LAYER.TABLE"),
    tenant: str = typer.Option(..., "--tenant", "-t", help="Tenant partition to compact"),
) -> None:
    """Bin-pack a tenant partition's small files (other tenants' files are untouched)."""
    from lakehouse import io
    from lakehouse.tenancy import TenantScope

    metrics = io.compact(_table_def(name), TenantScope.for_tenant(tenant))
    typer.echo(
        f"{name} tenant {tenant}: {metrics.get('numFilesRemoved', 0)} files compacted into "
        f"{metrics.get('numFilesAdded', 0)}"
    )


@table_app.command("vacuum")
def vacuum_cmd(
    name: str = typer.Argument(..., metavar="LAYER.TABLE"),
    retention_hours: int = typer.Option(
        168,
        "--retention-hours",
        min=0,
        help="Keep files needed by versions this recent (below 168 h disables time travel)",
    ),
    dry_run: bool = typer.Option(False, "--dry-run", help="List what would be deleted"),
) -> None:
    """Delete data files no longer referenced by recent versions."""
    from lakehouse import io

    files = io.vacuum(_table_def(name), retention_hours=retention_hours, dry_run=dry_run)
    typer.echo(f"{name}: {len(files)} file(s) {'would be ' if dry_run else ''}deleted")


@table_app.command("migrate-catalog-keys")
def migrate_catalog_keys_cmd() -> None:
    """Rewrite Partner Central silver stored before catalog joined its keys (every tenant; losing nothing).

    The opportunity children get each row's catalog from its opportunity; the silver watermarks are reset so
    the next `lakehouse pipeline run` re-reads bronze and restores rows an id in both catalogs had lost."""
    from lakehouse.engine import get_spark
    from lakehouse.partner_central.migrations import migrate_catalog_keys

    report = migrate_catalog_keys(get_spark())
    if not report.rewritten:
        typer.echo("nothing to migrate: the Partner Central silver tables already key on catalog")
        return
    for name, rows in report.rewritten.items():
        orphans = report.without_parent[name]
        typer.echo(
            f"{name}: {rows} rows rewritten with their catalog ({orphans} without a parent opportunity)"
        )
    typer.echo(
        f"{report.watermarks_reset} silver watermark(s) reset: run `lakehouse pipeline run --tenant T` for each "
        "tenant to re-read bronze under the new keys"
    )


def register(app: typer.Typer) -> None:
    app.add_typer(table_app, name="table")
