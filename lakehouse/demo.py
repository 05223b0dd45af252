"""``lakehouse demo``: the whole pipeline end to end on embedded defaults.

Starts the seeded Partner Central sandbox in-process, then for each demo tenant: sync → bronze, bronze →
silver → gold, and reads the KPIs back from the gold Delta tables it wrote.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Callable

from lakehouse.settings import get_settings


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


def run_demo(progress: Callable[[str], None] | None = None) -> list[TenantSummary]:
    """Run sandbox → bronze → silver → gold for every demo tenant; return per-tenant summaries."""
    from lakehouse import io, pipeline
    from lakehouse.connectors.partner_central import ConnectorConfig, PartnerCentralReader
    from lakehouse.connectors.sandbox import DEMO_TENANTS, start_demo_sandbox
    from lakehouse.engine import get_spark
    from lakehouse.ingest import sync_partner_central
    from lakehouse.tenancy import TenantScope

    say = progress or (lambda _msg: None)
    spark = get_spark()
    server = start_demo_sandbox()
    summaries: list[TenantSummary] = []
    try:
        for tenant in DEMO_TENANTS:
            scope = TenantScope.for_tenant(tenant)
            say(f"{tenant}: syncing Partner Central (Sandbox catalog) into bronze")
            reader = PartnerCentralReader.from_config(
                ConnectorConfig(**server.connector_settings(tenant), rate_per_second=None)
            )
            run = sync_partner_central(spark, scope, reader, catalog="Sandbox", rate_per_second=None)
            say(f"{tenant}: bronze → silver → gold")
            outcomes = pipeline.run_pipeline(spark, tenant, until="gold")
            marts = pipeline.kpis(spark, tenant)
            win = (marts.get("gold.ace_win_rate") or [{}])[0]
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
                        (Decimal(r["expected_monthly_spend_usd"] or 0) for r in marts.get("gold.ace_pipeline", [])),
                        Decimal("0.00"),
                    ),
                    win_rate=win.get("win_rate"),
                    open_count=int(win.get("open_count") or 0),
                    statuses=[f"{o.job_name}:{o.status}" for o in outcomes],
                )
            )
    finally:
        server.stop()
    return summaries


def next_steps() -> list[str]:
    """Commands to look further, printed after the summary."""
    root = get_settings().lake_root
    return [
        f"lake root: {root}",
        "lakehouse table show gold.ace_pipeline --tenant acme",
        "lakehouse table show silver.opportunity --tenant globex --format csv --limit 5",
        "lakehouse pipeline run --tenant acme   (incremental: no new bronze rows, no new Delta versions)",
        "lakehouse dashboards   (Streamlit KPI packs on http://127.0.0.1:8501)",
        "lakehouse api   (control plane on http://127.0.0.1:8000/docs)",
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
        }
        for s in summaries
    ]
