"""End-to-end Marketplace demo against a Marketplace endpoint: register buyers, meter usage, build the marts.

``lakehouse marketplace demo`` and ``lakehouse demo`` start the Marketplace emulator (the CLI is the only place
that loads one) and call ``run_demo`` with its ``MarketplaceEndpoint``: it registers each tenant's buyer from its
``x-amzn-marketplace-token`` (ResolveCustomer), meters the usage the ledger reports for the last hours
(synthetic usage when no source is given), syncs the platform seller's catalog and agreements, and rebuilds
gold.marketplace_usage / gold.marketplace_subscriptions.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
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


@dataclass(frozen=True)
class MarketplaceEndpoint:
    """Where the demo's Marketplace answers, as whom (the platform seller) and what its buyers were given.

    ``registration_tokens`` maps a tenant to the ``x-amzn-marketplace-token`` its buyer signed up with;
    ``billed_records`` counts the usage records the Marketplace has accepted (0 when it cannot tell).
    """

    url: str
    aws_access_key_id: str
    aws_secret_access_key: str
    registration_tokens: Mapping[str, str]
    billed_records: Callable[[], int] = lambda: 0


@dataclass
class DemoReport:
    """What the demo did, per tenant."""

    endpoint_url: str
    metering: dict[str, str] = field(default_factory=dict)
    gold_usage_rows: dict[str, int] = field(default_factory=dict)
    billed_records: int = 0
    subscriptions_rows: int = 0

    def lines(self) -> list[str]:
        out = [f"Marketplace endpoint: {self.endpoint_url}"]
        out += [f"  {summary}" for summary in self.metering.values()]
        out.append(f"  billed by the Marketplace: {self.billed_records} usage record(s)")
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
    endpoint: MarketplaceEndpoint,
    tenants: Sequence[str] = ("acme", "globex"),
    *,
    usage: UsageSource | None = None,
    now: datetime | None = None,
) -> DemoReport:
    """Run the Marketplace flow end to end against ``endpoint`` (tenants without a buyer token are skipped)."""
    from lakehouse.marketplace.connector import MarketplaceConfig, MarketplaceReader, MeteringSender
    from lakehouse.marketplace.metering import MeteringConfig, MeteringRun
    from lakehouse.marketplace.registration import register_buyer
    from lakehouse.marketplace.sync import MarketplaceSync, build_usage_gold

    now = now or datetime.now(UTC)
    config = MarketplaceConfig(
        endpoint_url=endpoint.url,
        aws_access_key_id=endpoint.aws_access_key_id,
        aws_secret_access_key=endpoint.aws_secret_access_key,
    )
    reader = MarketplaceReader.from_config(config)
    sender = MeteringSender.from_config(config)
    buyers = MemoryBuyerDirectory()
    known = [t for t in tenants if t in endpoint.registration_tokens]
    for tenant in known:
        register_buyer(
            endpoint.registration_tokens[tenant], tenant_id=tenant, reader=reader, directory=buyers
        )
    source = usage or synthetic_usage(known, now)
    report = DemoReport(endpoint.url)
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
    report.billed_records = endpoint.billed_records()
    sync = MarketplaceSync(spark, reader, PLATFORM_TENANT, run_id=f"demo-{now:%Y%m%dT%H%M%S}")
    sync.sync_catalog()
    sync.sync_agreements()
    sync.build_silver()
    report.subscriptions_rows = sync.build_subscriptions()
    return report
