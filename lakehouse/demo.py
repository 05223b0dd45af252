"""``lakehouse demo``: the whole pipeline end to end on embedded defaults.

For each tenant it is given a Partner Central connection for: sync → bronze, bronze → silver → gold, and reads
the KPIs back from the gold Delta tables it wrote. The CLI (``lakehouse.commands.demo``) starts the emulators
and passes their endpoints in; this module never loads an emulator.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from lakehouse.settings import get_settings

if TYPE_CHECKING:
    from lakehouse.marketplace.demo import MarketplaceEndpoint


@dataclass
class TenantSummary:
    """What the demo did for one tenant, read back from the lake."""

    tenant_id: str
    fetched: int
    landed: int
    api_calls: int
    silver_opportunities: int
    quarantined: int
    pipeline_groups: int
    expected_monthly_spend_usd: Decimal
    win_rate: float | None
    open_count: int
    statuses: list[str] = field(default_factory=list)
    ingestion_run_id: str = ""
    compute_seconds: Decimal = Decimal(0)
    metered_hours: int = 0
    # co-sell (gold.ace_lead_funnel, gold.ace_engagement_health)
    leads: int = 0
    converted: int = 0
    won_from_leads: int = 0
    aws_summaries: int = 0
    stage_mismatches: int = 0
    next_best_actions: int = 0


# Records the demo runs' usage in the cost ledger and returns a marketplace UsageSource over it (the control
# plane provides one: control_plane.costs.demo.record_demo_usage); the library never imports the control plane.
UsageRecorder = Callable[[Sequence[Any]], Any]


def run_demo(
    connections: Mapping[str, Mapping[str, str]],
    progress: Callable[[str], None] | None = None,
    *,
    usage_recorder: UsageRecorder | None = None,
    marketplace: MarketplaceEndpoint | None = None,
) -> list[TenantSummary]:
    """Run Partner Central → bronze → silver → gold for every tenant of ``connections``; return summaries.

    ``connections`` maps a tenant to its ``ConnectorConfig`` keywords (``endpoint_url`` and the tenant's keys).
    With ``usage_recorder`` and ``marketplace``, each tenant's usage (API calls, rows, compute seconds) goes to
    the cost ledger and the hourly metering job bills it to that Marketplace, which lands in
    ``gold.marketplace_usage``.
    """
    from lakehouse import io
    from lakehouse.engine import get_spark
    from lakehouse.partner_central import pipeline
    from lakehouse.partner_central.connector import ENTITIES, ConnectorConfig, PartnerCentralReader
    from lakehouse.partner_central.demo_seed import seed_selling_bronze
    from lakehouse.partner_central.ingest import land_engagement_extras, sync_partner_central
    from lakehouse.tenancy import TenantScope

    say = progress or (lambda _msg: None)
    spark = get_spark()
    summaries: list[TenantSummary] = []
    for tenant, connection in connections.items():
        scope = TenantScope.for_tenant(tenant)
        say(f"{tenant}: syncing Partner Central (Sandbox catalog) into bronze")
        started = datetime.now(UTC)
        config = ConnectorConfig(
            endpoint_url=connection["endpoint_url"],
            aws_access_key_id=connection["aws_access_key_id"],
            aws_secret_access_key=connection["aws_secret_access_key"],
            rate_per_second=None,
        )
        reader = PartnerCentralReader.from_config(config)
        run = sync_partner_central(
            spark,
            scope,
            reader,
            catalog="Sandbox",
            rate_per_second=None,
            entities=(*ENTITIES, "engagement", "customer_account"),
            aws_summaries=True,
        )
        land_engagement_extras(spark, scope, reader, "Sandbox", f"{run.ingestion_run_id}-extras")
        # only when the emulator served no engagements, AWS summaries or accounts (an older emulator)
        seeded = seed_selling_bronze(spark, tenant, f"{run.ingestion_run_id}-selling-seed")
        if seeded:
            say(
                f"{tenant}: seeded demo engagements, leads and AWS summaries into bronze ({sum(seeded.values())} rows)"
            )
        say(f"{tenant}: bronze → silver → gold")
        outcomes = pipeline.run_pipeline(spark, tenant, until="gold")
        marts = pipeline.kpis(spark, tenant)
        win = (marts.get("gold.ace_win_rate") or [{}])[0]
        funnel = marts.get("gold.ace_lead_funnel", [])
        health = marts.get("gold.ace_engagement_health", [])
        summaries.append(
            TenantSummary(
                tenant_id=tenant,
                fetched=run.fetched,
                landed=run.landed,
                api_calls=run.api_calls,
                silver_opportunities=io.read(spark, "silver.opportunity", scope).count(),
                quarantined=io.read(spark, "silver.opportunity_quarantine", scope).count(),
                pipeline_groups=len(marts.get("gold.ace_pipeline", [])),
                expected_monthly_spend_usd=sum(
                    (
                        Decimal(r["expected_monthly_spend_usd"] or 0)
                        for r in marts.get("gold.ace_pipeline", [])
                    ),
                    Decimal("0.00"),
                ),
                win_rate=win.get("win_rate"),
                open_count=int(win.get("open_count") or 0),
                statuses=[f"{o.job_name}:{o.status}" for o in outcomes],
                ingestion_run_id=run.ingestion_run_id,
                compute_seconds=Decimal(str(round((datetime.now(UTC) - started).total_seconds(), 3))),
                leads=sum(int(r["lead_count"]) for r in funnel),
                converted=sum(int(r["converted_count"]) for r in funnel),
                won_from_leads=sum(int(r["won_count"]) for r in funnel),
                aws_summaries=sum(int(r["opportunity_count"]) for r in health),
                stage_mismatches=sum(int(r["stage_mismatch_count"]) for r in health),
                next_best_actions=sum(int(r["next_best_action_count"]) for r in health),
            )
        )
    if usage_recorder is not None and marketplace is not None:
        _meter(spark, summaries, usage_recorder, marketplace, say)
    return summaries


def _meter(
    spark: Any,
    summaries: list[TenantSummary],
    recorder: UsageRecorder,
    marketplace: MarketplaceEndpoint,
    say: Callable[[str], None],
) -> None:
    """Ledger → hourly metering → Marketplace → gold.marketplace_usage, for the demo tenants."""
    from lakehouse import io
    from lakehouse.guardrails import RecordedRun, Usage
    from lakehouse.marketplace.demo import run_demo as marketplace_demo
    from lakehouse.tenancy import TenantScope

    say("recording usage in the cost ledger and metering it to AWS Marketplace (sandbox)")
    now = datetime.now(UTC)
    runs = [
        RecordedRun(
            s.tenant_id,
            s.ingestion_run_id,
            Usage(compute_seconds=s.compute_seconds, api_calls=s.api_calls, rows_ingested=s.landed),
            now,
        )
        for s in summaries
    ]
    # An hour is billed once it has closed and settled (10 min); the demo's usage is in the current hour, so the
    # metering job runs as it will after that hour: with its clock 70 minutes ahead. Usage keeps its real time.
    metering_clock = now + timedelta(minutes=70)
    marketplace_demo(
        spark,
        marketplace,
        tenants=[s.tenant_id for s in summaries],
        usage=recorder(runs),
        now=metering_clock,
    )
    for s in summaries:
        s.metered_hours = io.read(
            spark, "gold.marketplace_usage", TenantScope.for_tenant(s.tenant_id)
        ).count()


def next_steps() -> list[str]:
    """Commands to look further, printed after the summary."""
    root = get_settings().lake_root
    return [
        f"lake root: {root}",
        "lakehouse table show gold.ace_pipeline --tenant acme",
        "lakehouse table show gold.ace_lead_funnel --tenant acme   (leads by source and status -> converted -> won)",
        "lakehouse table show gold.ace_engagement_health --tenant acme   (AWS engagement scores, stage mismatches)",
        "lakehouse table show silver.opportunity --tenant globex --format csv --limit 5",
        "lakehouse pipeline run --tenant acme   (incremental: no new bronze rows, no new Delta versions)",
        "lakehouse api create-admin-key --reason demo   (prints a platform-admin key once)",
        "lakehouse dashboards   (http://127.0.0.1:8501: sign in with that key, switch between the demo tenants)",
        "lakehouse api   (control plane on http://127.0.0.1:8000/docs)",
        (
            "lakehouse table show gold.marketplace_usage --tenant acme   (usage billed to the Marketplace sandbox; "
            "the metering clock ran 70 min ahead so the demo's own hour counts as closed)"
        ),
    ]


def as_rows(summaries: list[TenantSummary]) -> list[dict[str, Any]]:
    """Summary rows with short column names, for the terminal."""
    return [
        {
            "tenant": s.tenant_id,
            "fetched": s.fetched,
            "bronze": s.landed,
            "API calls": s.api_calls,
            "silver opps": s.silver_opportunities,
            "quarantined": s.quarantined,
            "groups": s.pipeline_groups,
            "monthly USD": f"{s.expected_monthly_spend_usd:,.2f}",
            "win rate": "n/a" if s.win_rate is None else f"{s.win_rate:.1%}",
            "open": s.open_count,
            "billed (gold rows)": s.metered_hours,
        }
        for s in summaries
    ]


def cosell_rows(summaries: list[TenantSummary]) -> list[dict[str, Any]]:
    """Co-sell rows per tenant (from gold.ace_lead_funnel and gold.ace_engagement_health), for the terminal."""
    return [
        {
            "tenant": s.tenant_id,
            "leads": s.leads,
            "converted": s.converted,
            "won from leads": s.won_from_leads,
            "AWS summaries": s.aws_summaries,
            "AWS stage differs": s.stage_mismatches,
            "next best actions": s.next_best_actions,
            "lead conversion": "n/a" if not s.leads else f"{s.converted / s.leads:.1%}",
        }
        for s in summaries
    ]
