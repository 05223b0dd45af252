"""End-to-end Marketplace demo on the local sandbox: register buyers, meter usage, build the marts.

``lakehouse marketplace demo`` (and ``lakehouse demo``, once wired) calls ``run_demo``: it starts a seeded
sandbox, registers each tenant's buyer from its ``x-amzn-marketplace-token`` (ResolveCustomer), meters the usage
the ledger reports for the last hours (synthetic usage when no source is given), syncs the platform seller's
catalog and agreements, and rebuilds gold.marketplace_usage / gold.marketplace_subscriptions.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from lakehouse.marketplace.interfaces import (
    MemoryBuyerDirectory,
    MemoryUsageSource,
    UsageRow,
    UsageSource,
    hour_of,
)

PLATFORM_TENANT = "platform"


@dataclass
class DemoReport:
    """What the demo did, per tenant."""

    sandbox_url: str
    metering: dict[str, str] = field(default_factory=dict)
    gold_usage_rows: dict[str, int] = field(default_factory=dict)
    billed_records: int = 0
    subscriptions_rows: int = 0

    def lines(self) -> list[str]:
        out = [f"Marketplace sandbox: {self.sandbox_url}"]
        out += [f"  {summary}" for summary in self.metering.values()]
        out.append(f"  billed in the sandbox: {self.billed_records} usage record(s)")
        out.append(
            f"  gold.marketplace_usage rows: {self.gold_usage_rows}; "
            f"gold.marketplace_subscriptions rows (tenant {PLATFORM_TENANT}): {self.subscriptions_rows}"
        )
        return out


def synthetic_usage(tenants: Sequence[str], now: datetime, hours: int = 3) -> MemoryUsageSource:
    """A few hours of ledger-like usage per tenant (two workspaces, three dimensions)."""
    source = MemoryUsageSource()
    for t, tenant in enumerate(tenants):
        for h in range(2, 2 + hours):
            at = hour_of(now) - timedelta(hours=h) + timedelta(minutes=7)
            for dimension, amount in (
                ("pipeline_hours", "0.75"),
                ("api_calls", "120"),
                ("rows_ingested", "0.2"),
            ):
                for w in range(2):
                    qty = Decimal(amount) * (t + 1) * (w + 1)
                    source.add(UsageRow(tenant, f"{tenant}-ws{w + 1}", dimension, at, qty, f"demo-run-{h}"))
    return source


def run_demo(
    spark: Any,
    tenants: Sequence[str] = ("acme", "globex"),
    *,
    usage: UsageSource | None = None,
    now: datetime | None = None,
) -> DemoReport:
    """Run the Marketplace flow end to end on a fresh in-process sandbox."""
    from lakehouse.connectors.marketplace_sandbox import DEMO_BUYERS, PLATFORM_SELLER, start_demo_sandbox
    from lakehouse.marketplace.connector import MarketplaceConfig, MarketplaceReader, MeteringSender
    from lakehouse.marketplace.metering import MeteringConfig, MeteringRun
    from lakehouse.marketplace.registration import register_buyer
    from lakehouse.marketplace.sync import MarketplaceSync, build_usage_gold

    now = now or datetime.now(UTC)
    sandbox = start_demo_sandbox()
    try:
        creds = sandbox.credentials(PLATFORM_SELLER)
        config = MarketplaceConfig(
            endpoint_url=creds["endpoint_url"],
            aws_access_key_id=creds["aws_access_key_id"],
            aws_secret_access_key=creds["aws_secret_access_key"],
        )
        reader = MarketplaceReader.from_config(config)
        sender = MeteringSender.from_config(config)
        buyers = MemoryBuyerDirectory()
        world = sandbox.world  # type: ignore[attr-defined]
        known = [t for t in tenants if t in DEMO_BUYERS]
        for tenant in known:
            register_buyer(
                world.buyers[tenant]["registration_token"], tenant_id=tenant, reader=reader, directory=buyers
            )
        source = usage or synthetic_usage(known, now)
        report = DemoReport(sandbox.url)
        run = MeteringRun(
            spark,
            usage=source,
            buyers=buyers,
            sender=sender,
            config=MeteringConfig(dimensions=frozenset({"pipeline_hours", "api_calls", "rows_ingested"})),
            clock=lambda: now,
        )
        for tenant in known:
            result = run.run(tenant)
            report.metering[tenant] = result.summary()
            report.gold_usage_rows[tenant] = build_usage_gold(spark, tenant)
        report.billed_records = len(sandbox.state.metering.billed())
        sync = MarketplaceSync(spark, reader, PLATFORM_TENANT, run_id=f"demo-{now:%Y%m%dT%H%M%S}")
        sync.sync_catalog()
        sync.sync_agreements()
        sync.build_silver()
        report.subscriptions_rows = sync.build_subscriptions()
        return report
    finally:
        sandbox.stop()
