"""``lakehouse pipeline run``: bronze -> silver -> gold (-> platinum) for one tenant, then print its ACE KPIs."""

from __future__ import annotations

from datetime import date
from enum import Enum
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from lakehouse.errors import BadInput

pipeline_app = typer.Typer(
    help="Run the silver, gold and platinum steps of the lakehouse pipeline.", no_args_is_help=True
)


class Until(str, Enum):
    silver = "silver"
    gold = "gold"
    platinum = "platinum"


@pipeline_app.command("run")
def run(
    tenant: Annotated[str, typer.Option("--tenant", "-t", help="Tenant whose bronze rows to process")],
    until: Annotated[Until, typer.Option("--until", help="Last layer to build")] = Until.gold,
    as_of: Annotated[
        str | None,
        typer.Option("--as-of", help="Run date for staleness KPIs (YYYY-MM-DD, default today UTC)"),
    ] = None,
    run_id: Annotated[
        str | None,
        typer.Option("--run-id", help="Run id prefix (default: generated)"),
    ] = None,
) -> None:
    """Process the tenant's new bronze rows into silver (incrementally) and recompute its gold marts."""
    from lakehouse.engine import get_spark
    from lakehouse.partner_central import pipeline
    from lakehouse.tenancy import validate_tenant_id

    try:
        validate_tenant_id(tenant)
        day = date.fromisoformat(as_of) if as_of else None
    except ValueError as exc:
        raise BadInput(str(exc)) from None
    from lakehouse.commands.actions import quota_gate, release_warning
    from lakehouse.guardrails import guarded_run, new_run_id

    console = Console()
    # Quota before anything starts: over the concurrent-runs quota or the budget, this raises QuotaExceeded (exit 4).
    with guarded_run(
        quota_gate(tenant),
        tenant,
        "pipeline_run",
        run_id=run_id or new_run_id("pipeline"),
        source="pipeline",
        on_release_error=release_warning,
    ) as guard:
        spark = get_spark()
        with console.status(f"running the pipeline for tenant {tenant} until {until.value}..."):
            outcomes = pipeline.run_pipeline(spark, tenant, until=until.value, run_id=guard.run_id, as_of=day)
    for outcome in outcomes:
        written = (
            ", ".join(f"{t} v{w.version} ({w.rows} rows)" for t, w in outcome.writes.items()) or "nothing"
        )
        console.print(
            f"[bold]{outcome.job_name}[/] {outcome.status} · run {outcome.run_id} · wrote {written}",
            highlight=False,
        )
        for issue in outcome.issues:
            if issue.suite == "anomaly":  # lakehouse.quality.monitor: the message is the evidence
                text = f"  {issue.severity} anomaly: {issue.table_name}: {'; '.join(issue.sample_keys)}"
            else:
                text = f"  {issue.action}: {issue.table_name} {issue.expectation} ({issue.unexpected_count} row(s))"
            console.print(text, highlight=False)
    if until in (Until.gold, Until.platinum):
        print_kpis(console, tenant, pipeline.kpis(spark, tenant))


def print_kpis(console: Console, tenant: str, kpis: dict[str, list[dict[str, Any]]]) -> None:
    """Render the gold marts of one tenant as Rich tables."""
    for name, rows in kpis.items():
        table = Table(title=f"{name} · tenant {tenant}")
        columns = list(rows[0]) if rows else []
        for c in columns:
            table.add_column(c)
        for r in rows:
            table.add_row(*("" if r[c] is None else str(r[c]) for c in columns))
        if not rows:
            table.add_column("(no rows)")
        console.print(table)


def register(app: typer.Typer) -> None:
    """Add ``lakehouse pipeline ...``."""
    app.add_typer(pipeline_app, name="pipeline")
