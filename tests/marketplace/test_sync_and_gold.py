"""Catalog / agreement / entitlement reads into bronze and silver, and the gold marts."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from chispa import assert_df_equality

from lakehouse import io
from lakehouse.marketplace import transforms as T
from lakehouse.marketplace.entities import MARKETPLACE_USAGE, METER_USAGE
from lakehouse.marketplace.sync import MarketplaceSync
from lakehouse.tenancy import TenantScope
from tests.marketplace.conftest import NOW

pytestmark = pytest.mark.slow  # over a second of work in all: left out of `make test-fast`

ACME = TenantScope.for_tenant("acme")


def rows(spark, table: str, scope=ACME) -> list[dict]:
    return [r.asDict(recursive=True) for r in io.read(spark, table, scope).collect()]


def sync(mp, spark, run_id: str, reader=None) -> MarketplaceSync:
    return MarketplaceSync(spark, reader or mp.reader("acme"), "acme", run_id=run_id, clock=lambda: NOW)


def test_catalog_sync_lands_raw_entities_and_builds_products_and_offers(mp, spark, lake):
    job = sync(mp, spark, "r1")
    job.sync_catalog()
    assert job.result.listed == {"SaaSProduct": 2, "Offer": 2, "ResaleAuthorization": 1}
    assert job.result.landed == 5
    job.build_silver()
    products = {r["product_id"]: r for r in rows(spark, "silver.marketplace_product")}
    first = mp.world.seller_products["acme"][0]
    assert set(products) == set(mp.world.seller_products["acme"])
    assert products[first]["title"] == "Acme Insights 1"
    assert products[first]["product_code"] == mp.state.catalog.entity(first).product_code
    assert [(d["key"], d["unit"], d["types"]) for d in products[first]["dimensions"]] == [
        ("users", "Users", ["Metered"]),
        ("tier_enterprise", "Units", ["Entitled"]),
    ]
    assert products[first]["fulfillment_url"] == "https://app.example.com/marketplace/register"
    offers = {r["product_id"]: r for r in rows(spark, "silver.marketplace_offer")}
    assert offers[first]["state"] == "Released"
    assert offers[first]["rate_card"] == [{"dimension_key": "users", "price": Decimal("1.250000")}]
    assert offers[mp.world.seller_products["acme"][1]]["rate_card"][0]["price"] == Decimal("2.250000")


def test_a_second_catalog_sync_describes_only_changed_entities(mp, spark, lake):
    reader = mp.reader("acme")
    sync(mp, spark, "r1", reader).sync_catalog()
    described = mp.sandbox.count("BatchDescribeEntities")
    second = sync(mp, spark, "r2", reader)
    second.sync_catalog()
    assert mp.sandbox.count("BatchDescribeEntities") == described
    assert second.result.fetched == {"SaaSProduct": 0, "Offer": 0, "ResaleAuthorization": 0}
    product = mp.world.seller_products["acme"][0]
    mp.clock.advance(timedelta(minutes=3))
    mp.state.catalog.apply_now(
        mp.state.seller_by_name("acme").account_id,
        [
            {
                "ChangeType": "UpdateInformation",
                "Entity": {"Type": "SaaSProduct@1.0", "Identifier": product},
                "DetailsDocument": {"ProductTitle": "Acme Insights One"},
            }
        ],
    )
    mp.state.catalog.entities[product].last_modified = NOW + timedelta(minutes=3)
    third = sync(mp, spark, "r3", reader)
    third.sync_catalog()
    assert third.result.fetched["SaaSProduct"] == 1 and third.result.landed == 1
    third.build_silver()
    titles = {r["product_id"]: r["title"] for r in rows(spark, "silver.marketplace_product")}
    assert titles[product] == "Acme Insights One"


def test_agreements_sync_from_the_watermark_and_feed_the_subscriptions_mart(mp, spark, lake):
    reader = mp.reader("acme")
    first = sync(mp, spark, "r1", reader)
    first.sync_catalog()
    first.sync_agreements()
    assert first.result.fetched["Agreement"] == 5
    terms_calls = mp.sandbox.count("GetAgreementTerms")
    nothing = sync(mp, spark, "r2", reader)
    nothing.sync_agreements()
    assert mp.sandbox.count("GetAgreementTerms") == terms_calls  # overlap re-lists, never re-fetches
    main_product = mp.world.seller_products["acme"][0]
    target = next(
        a
        for a in mp.state.commerce.agreements.values()
        if a.product_id == main_product and a.status == "ACTIVE" and a.end_behavior_type == "RENEW"
    )
    mp.clock.advance(timedelta(hours=1))
    mp.state.commerce.update(target.agreement_id, status="EXPIRED")
    later = MarketplaceSync(spark, reader, "acme", run_id="r3", clock=lambda: NOW + timedelta(hours=1))
    later.sync_agreements()
    assert later.result.fetched["Agreement"] == 1
    later.build_silver()
    statuses = {r["agreement_id"]: r["status"] for r in rows(spark, "silver.marketplace_agreement")}
    assert statuses[target.agreement_id] == "EXPIRED" and len(statuses) == 5
    agreement = next(
        r for r in rows(spark, "silver.marketplace_agreement") if r["agreement_id"] == target.agreement_id
    )
    assert agreement["rate_card"] == [{"dimension_key": "users", "price": Decimal("1.250000")}]
    assert agreement["license_arns"] == [target.license_arn]
    later.build_subscriptions()
    marts = {
        r["product_id"]: (r["active"], r["pending_cancellation"], r["expired"], r["total"])
        for r in rows(spark, "gold.marketplace_subscriptions")
    }
    # main product: 4 buyers, buyer #1 turned auto-renew off, one now expired; second product: 1 buyer
    assert marts == {main_product: (2, 1, 1, 4), mp.world.seller_products["acme"][1]: (1, 0, 0, 1)}


def test_entitlements_replace_the_tenants_partition(mp, spark, lake):
    code = mp.world.platform_product_code
    reader = mp.reader("platform")
    job = MarketplaceSync(spark, reader, "acme", run_id="e1", clock=lambda: NOW)
    job.sync_entitlements([code], customer_aws_account_id="210000000001")
    (row,) = rows(spark, "silver.entitlement")
    assert (row["dimension"], row["value_type"], row["integer_value"], row["customer_aws_account_id"]) == (
        "plan_pro",
        "integer",
        1,
        "210000000001",
    )
    assert row["license_arn"] == mp.buyer("acme")["license_arn"]
    mp.state.commerce.update(mp.buyer("acme")["agreement_id"], status="CANCELLED")
    MarketplaceSync(spark, reader, "acme", run_id="e2", clock=lambda: NOW).sync_entitlements(
        [code], customer_aws_account_id="210000000001"
    )
    assert rows(spark, "silver.entitlement") == []


def test_gold_usage_sums_sent_quantities_per_day_and_prices_them(spark):
    def ts(day: int, hour: int) -> datetime:
        return datetime(2026, 3, day, hour, tzinfo=UTC)

    def row(key, day, hour, dim, qty, state, price):
        return (
            "acme",
            key,
            "P",
            None,
            None,
            None,
            dim,
            ts(day, hour),
            Decimal(qty),
            [],
            "{}",
            state,
            None,
            None,
            None,
            1,
            Decimal(price) if price else None,
            "USD" if price else None,
            [],
            "m",
            ts(day, hour),
            None,
            ts(day, hour),
        )

    meter = spark.createDataFrame(
        [
            row("a", 9, 10, "api_calls", "100", "sent", "0.002"),
            row("b", 9, 11, "api_calls", "50.5", "sent", "0.002"),
            row("c", 9, 12, "api_calls", "7", "dead_lettered", "0.002"),
            row("d", 10, 1, "api_calls", "3", "pending", "0.002"),
            row("e", 9, 23, "pipeline_hours", "2", "sent", None),
        ],
        METER_USAGE.schema,
    )
    expected = spark.createDataFrame(
        [
            (
                "acme",
                date(2026, 3, 9),
                "P",
                "api_calls",
                Decimal("150.5"),
                Decimal(0),
                Decimal(7),
                2,
                Decimal("0.301"),
                "USD",
            ),
            (
                "acme",
                date(2026, 3, 10),
                "P",
                "api_calls",
                Decimal(0),
                Decimal(3),
                Decimal(0),
                0,
                Decimal(0),
                "USD",
            ),
            (
                "acme",
                date(2026, 3, 9),
                "P",
                "pipeline_hours",
                Decimal(2),
                Decimal(0),
                Decimal(0),
                1,
                Decimal(0),
                None,
            ),
        ],
        MARKETPLACE_USAGE.schema,
    )
    assert_df_equality(T.gold_usage(meter), expected, ignore_row_order=True, ignore_nullable=True)
