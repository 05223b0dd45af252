"""The packaged Marketplace quality suites: they pass on what the sync and marts build, and catch broken rows."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from pyspark.sql import DataFrame

from lakehouse import io
from lakehouse.marketplace import transforms as T
from lakehouse.marketplace.entities import METER_USAGE
from lakehouse.marketplace.sync import MarketplaceSync
from lakehouse.quality.gate import GateResult, run_gate
from lakehouse.quality.suites import load_suite
from lakehouse.tenancy import TenantScope
from tests.marketplace.conftest import NOW

pytestmark = pytest.mark.slow  # over a second of work in all: left out of `make test-fast`

ACME = TenantScope.for_tenant("acme")


def gate(df: DataFrame, table: str) -> GateResult:
    return run_gate(df, load_suite(table), tenant_id="acme", run_id="suite-test")


def failed(result: GateResult) -> list[str]:
    return [o.spec.name for o in result.failures]


def test_synced_catalog_agreements_and_subscriptions_pass_their_suites(mp, spark, lake):
    job = MarketplaceSync(spark, mp.reader("acme"), "acme", run_id="r1", clock=lambda: NOW)
    job.sync_catalog()
    job.sync_agreements()
    job.build_silver()
    job.build_subscriptions()
    for table in (
        "silver.marketplace_product",
        "silver.marketplace_offer",
        "silver.marketplace_agreement",
        "gold.marketplace_subscriptions",
    ):
        df = io.read(spark, table, ACME)
        result = gate(df, table)
        assert df.count() > 0, table
        assert len(result.outcomes) == len(load_suite(table).expectations) >= 4, table
        assert failed(result) == [], table

    products = io.read(spark, "silver.marketplace_product", ACME)
    assert failed(gate(products.unionByName(products.limit(1)), "silver.marketplace_product")) == [
        "product_id_unique"
    ]
    subscriptions = io.read(spark, "gold.marketplace_subscriptions", ACME)
    broken = subscriptions.withColumn("active", subscriptions["total"] + 1)
    assert failed(gate(broken, "gold.marketplace_subscriptions")) == ["total_covers_active"]


def test_synced_entitlements_pass_their_suite(mp, spark, lake):
    job = MarketplaceSync(spark, mp.reader("platform"), "acme", run_id="e1", clock=lambda: NOW)
    job.sync_entitlements([mp.world.platform_product_code], customer_aws_account_id="210000000001")
    entitlements = io.read(spark, "silver.entitlement", ACME)
    assert entitlements.count() == 1
    assert failed(gate(entitlements, "silver.entitlement")) == []
    odd = entitlements.withColumn("value_type", entitlements["dimension"])
    assert failed(gate(odd, "silver.entitlement")) == ["value_type_is_known"]


def meter_row(key: str, hour: int, state: str, qty: str) -> tuple[object, ...]:
    at = datetime(2026, 3, 9, hour, tzinfo=UTC)
    return (
        *("acme", key, "P", None, None, None, "api_calls", at, Decimal(qty), [], "{}", state),
        *(None, None, None, 1, Decimal("0.002"), "USD", [], "m", at, None, at),
    )


def test_metering_rows_and_the_usage_mart_pass_their_suites_and_a_bad_state_fails(spark):
    meter = spark.createDataFrame(
        [meter_row("a", 10, "sent", "100"), meter_row("b", 11, "pending", "5")], METER_USAGE.schema
    )
    assert failed(gate(meter, "silver.meter_usage")) == []
    assert failed(gate(T.gold_usage(meter), "gold.marketplace_usage")) == []
    bad = spark.createDataFrame(
        [meter_row("a", 10, "billed", "100"), meter_row("a", 11, "sent", "-1")], METER_USAGE.schema
    )
    assert failed(gate(bad, "silver.meter_usage")) == [
        "record_key_unique",
        "state_is_known",
        "quantity_non_negative",
    ]
