"""``lakehouse ingest``: land source data in bronze (Partner Central API sync, bulk files)."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import Enum
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from lakehouse.errors import BadInput, LakehouseError

ingest_app = typer.Typer(help="Land source data in bronze.", no_args_is_help=True)
console = Console()


class Catalog(str, Enum):
    Sandbox = "Sandbox"
    AWS = "AWS"


def _since(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        raise BadInput(
            f"--since {value!r} is not an ISO-8601 timestamp (e.g. 2025-01-31T00:00:00Z)"
        ) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _scope(tenant: str) -> Any:
    from lakehouse.tenancy import TenantScope

    try:
        return TenantScope.for_tenant(tenant)
    except ValueError as exc:
        raise BadInput(str(exc)) from None


def _summary(run: Any) -> Table:
    table = Table(title=f"ingestion run {run.ingestion_run_id} — {run.status}")
    for col in ("entity", "listed", "fetched", "landed", "duplicates"):
        table.add_column(col, justify="left" if col == "entity" else "right")
    for entity, stats in (run.details.get("entities") or {}).items():
        table.add_row(
            entity,
            str(stats["listed"]),
            str(stats["fetched"]),
            str(stats["landed"]),
            str(stats["duplicates"]),
        )
    return table


@ingest_app.command("partner-central")
def partner_central(
    tenant: str = typer.Option(..., "--tenant", help="Tenant id whose Partner Central account is synced."),
    catalog: Catalog = typer.Option(Catalog.Sandbox, "--catalog", help="Partner Central catalog."),
    since: str | None = typer.Option(
        None, "--since", help="Sync changes after this ISO-8601 time instead of the stored watermark."
    ),
    endpoint_url: str | None = typer.Option(
        None,
        "--endpoint-url",
        envvar="LAKEHOUSE_PARTNER_CENTRAL_ENDPOINT_URL",
        help="Partner Central endpoint (e.g. the local sandbox).",
    ),
    role_arn: str | None = typer.Option(
        None,
        "--role-arn",
        envvar="LAKEHOUSE_PARTNER_CENTRAL_ROLE_ARN",
        help="The tenant's linked-account role to assume.",
    ),
    external_id: str | None = typer.Option(
        None, "--external-id", envvar="LAKEHOUSE_PARTNER_CENTRAL_EXTERNAL_ID"
    ),
    sts_endpoint_url: str | None = typer.Option(
        None, "--sts-endpoint-url", envvar="LAKEHOUSE_PARTNER_CENTRAL_STS_ENDPOINT_URL"
    ),
    region: str = typer.Option("us-east-1", "--region"),
    rate_limit: bool = typer.Option(
        True, "--rate-limit/--no-rate-limit", help="Client-side limit at the documented 10 reads/s."
    ),
    daily_budget: int = typer.Option(
        100_000, "--daily-budget", min=1, help="API calls this tenant may spend in a rolling 24 hours."
    ),
    entity: list[str] = typer.Option(
        [],
        "--entity",
        help="Entities to sync (repeatable): opportunity, solution, engagement_invitation (the default set), "
        "engagement, customer_account.",
    ),
    aws_summaries: bool = typer.Option(
        True,
        "--aws-summaries/--no-aws-summaries",
        help="Also fetch AWS's summary (GetAwsOpportunitySummary) of each fetched opportunity AWS engaged on.",
    ),
) -> None:
    """Incrementally sync opportunities, solutions and engagement invitations into bronze."""
    from lakehouse.commands.actions import quota_gate, release_warning
    from lakehouse.engine import get_spark
    from lakehouse.guardrails import Usage, guarded_run
    from lakehouse.partner_central.connector import (
        ALL_ENTITIES,
        ENTITIES,
        ConnectorConfig,
        PartnerCentralReader,
    )
    from lakehouse.partner_central.ingest import new_run_id, sync_partner_central

    unknown = sorted(set(entity) - set(ALL_ENTITIES))
    if unknown:
        raise BadInput(f"unknown Partner Central entity {unknown}: use {', '.join(ALL_ENTITIES)}")
    scope = _scope(tenant)
    since_at = _since(since)
    # Quota before anything starts: over the rows-per-day quota or the budget, this raises QuotaExceeded (exit 4).
    with guarded_run(
        quota_gate(tenant),
        tenant,
        "connector_sync",
        run_id=new_run_id(tenant),
        source="partner_central_sync",
        on_release_error=release_warning,
    ) as guard:
        config = ConnectorConfig(
            region=region,
            endpoint_url=endpoint_url,
            role_arn=role_arn,
            external_id=external_id,
            sts_endpoint_url=(sts_endpoint_url or endpoint_url) if role_arn else None,
            rate_per_second=guard.reservation.api_rate_per_second(10.0 if rate_limit else None),
        )
        reader = PartnerCentralReader.from_config(config)
        spark = get_spark()
        with Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            TimeElapsedColumn(),
            console=console,
            transient=True,
        ) as bar:
            tasks: dict[str, Any] = {}

            def progress(entity: str, listed: int, fetched: int) -> None:
                if entity not in tasks:
                    tasks[entity] = bar.add_task(entity, total=None)
                bar.update(tasks[entity], description=f"{entity}: listed {listed}, fetched {fetched}")

            try:
                run = sync_partner_central(
                    spark,
                    scope,
                    reader,
                    catalog=catalog.value,
                    since=since_at,
                    progress=progress,
                    daily_call_budget=daily_budget,
                    run_id=guard.run_id,
                    aws_summaries=aws_summaries,
                    entities=tuple(entity) or ENTITIES,
                )
            finally:
                guard.usage = Usage(api_calls=reader.stats.total)
        guard.usage = Usage(
            compute_seconds=Usage.seconds_between(run.started_at, run.finished_at or run.started_at),
            api_calls=run.api_calls,
            rows_ingested=run.landed,
        )
    console.print(_summary(run))
    console.print(
        f"API calls {run.api_calls}; watermark {run.watermark_before} -> {run.watermark_after}",
        soft_wrap=True,
    )
    plan = run.details.get("plan")
    if plan:
        console.print(
            f"plan: {plan['listed']} listed, {plan['to_fetch']} to fetch, {plan['aws_summaries']} AWS summaries, "
            f"{plan['total_calls']} calls ({plan['remaining_today']} left today); expected completion "
            f"{plan['expected_completion']}",
            soft_wrap=True,
        )
    if run.status == "partial":
        console.print(f"[yellow]stopped early[/]: {run.error}", soft_wrap=True)
    elif run.status == "failed":
        raise LakehouseError(
            f"Partner Central sync for {tenant} failed (run {run.ingestion_run_id} recorded; "
            f"a rerun resumes from the watermark): {run.error}"
        )


@ingest_app.command("file")
def file(
    path: Path = typer.Argument(..., help="JSON Lines file or JSON array of GetOpportunity-shaped objects."),
    tenant: str = typer.Option(..., "--tenant"),
    source: str = typer.Option("partner-central", "--source"),
    entity: str = typer.Option("opportunity", "--entity"),
) -> None:
    """Load a bulk export file into bronze; lines that are not opportunities go to the _rejected table."""
    from lakehouse.engine import get_spark
    from lakehouse.partner_central.ingest import ingest_file

    scope = _scope(tenant)
    spark = get_spark()
    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    ) as bar:
        task = bar.add_task(f"reading {path.name}", total=None)
        run = ingest_file(
            spark,
            scope,
            path,
            source=source,
            entity=entity,
            progress=lambda lines: bar.update(task, description=f"{path.name}: {lines} lines"),
        )
    console.print(
        f"run {run.ingestion_run_id}: {run.details['lines']} lines, {run.landed} landed, "
        f"{run.duplicates} duplicates, {run.rejected} rejected"
        + (" (see bronze.partner_central_opportunity_rejected)" if run.rejected else ""),
        soft_wrap=True,
    )


def register(app: typer.Typer) -> None:
    """Add ``lakehouse ingest ...``."""
    app.add_typer(ingest_app, name="ingest")
