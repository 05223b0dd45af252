"""Marketplace page: usage filters change the numbers, column clearance, tenants never see each other's rows,
empty states. The lake holds only the two Marketplace gold marts of acme and globex (written through
lakehouse.io); the expected numbers below are worked out by hand from the rows."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from tests.dashboards.conftest import columns_shown, frames, metrics, open_page, point_at, shown_values
from tests.dashboards.cpseed import Keys
from tests.dashboards.lakedata import frame

pytestmark = pytest.mark.slow  # over a second of work in all: left out of `make test-fast`

PAGE = "pages/03_Marketplace.py"
D1, D2, D3, D5 = date(2026, 6, 1), date(2026, 6, 2), date(2026, 6, 3), date(2026, 6, 5)

# (day, product code, dimension, sent, pending, dead-lettered, records sent, unit price, currency)
USAGE = {
    "acme": [
        (D1, "prod-analytics", "pipeline_hours", "10.5", "0", "0", 3, "0.40", "USD"),
        (D1, "prod-analytics", "storage_gb", "100", "0", "5", 2, "0.02", "USD"),
        (D2, "prod-analytics", "pipeline_hours", "4.25", "1.5", "0", 2, "0.40", "USD"),
        (D2, "prod-api", "api_calls", "12000", "0", "0", 4, "0.0005", "USD"),
        (D3, "prod-analytics", "pipeline_hours", "0", "2", "0.75", 0, "0.40", "USD"),
        (D3, "prod-analytics", "storage_gb", "50", "0", "0", 1, "0.02", "USD"),
    ],
    "globex": [
        (D1, "prod-globex-etl", "rows_processed", "5000", "0", "0", 1, "0.001", "EUR"),
        (D5, "prod-globex-etl", "rows_processed", "2500", "10", "0", 1, "0.001", "EUR"),
    ],
}
# (product id, title, active, pending cancellation, expired)
SUBSCRIPTIONS = {
    "acme": [("prod-aaaa1111", "Acme Analytics", 3, 1, 2), ("prod-aaaa2222", "Acme API", 1, 0, 0)],
    "globex": [("prod-gggg1111", "Globex ETL", 7, 2, 1)],
}
ACME_ONLY = {
    "prod-analytics",
    "prod-api",
    "pipeline_hours",
    "storage_gb",
    "api_calls",
    "Acme Analytics",
    "Acme API",
}
GLOBEX_ONLY = {"prod-globex-etl", "rows_processed", "Globex ETL", "prod-gggg1111"}
CONFIDENTIAL = {"quantity_sent", "quantity_pending", "quantity_dead_lettered", "estimated_revenue"}


def _gold_usage(tenant: str) -> list[dict]:
    return [
        {
            "tenant_id": tenant,
            "usage_date": day,
            "product_code": product,
            "dimension": dim,
            "quantity_sent": Decimal(sent),
            "quantity_pending": Decimal(pending),
            "quantity_dead_lettered": Decimal(dead),
            "records_sent": records,
            "estimated_revenue": Decimal(sent) * Decimal(price),
            "currency_code": currency,
        }
        for day, product, dim, sent, pending, dead, records, price, currency in USAGE[tenant]
    ]


def _gold_subscriptions(tenant: str) -> list[dict]:
    return [
        {
            "tenant_id": tenant,
            "product_id": pid,
            "product_title": title,
            "active": a,
            "pending_cancellation": p,
            "expired": e,
            "total": a + p + e,
            "as_of": datetime(2026, 6, 4, 12),
        }
        for pid, title, a, p, e in SUBSCRIPTIONS[tenant]
    ]


@pytest.fixture(scope="module")
def market_lake(spark, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A lake with gold.marketplace_usage and gold.marketplace_subscriptions of acme and globex."""
    from lakehouse import io
    from lakehouse.settings import get_settings
    from lakehouse.tenancy import TenantScope

    root = tmp_path_factory.mktemp("marketplace") / "lake"
    root.mkdir()
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("LAKEHOUSE_LAKE_ROOT", str(root))
        get_settings.cache_clear()
        try:
            for tenant in USAGE:
                scope = TenantScope.for_tenant(tenant)
                io.append(
                    spark,
                    "gold.marketplace_usage",
                    frame(spark, "gold.marketplace_usage", _gold_usage(tenant)),
                    scope,
                )
                io.append(
                    spark,
                    "gold.marketplace_subscriptions",
                    frame(spark, "gold.marketplace_subscriptions", _gold_subscriptions(tenant)),
                    scope,
                )
        finally:
            get_settings.cache_clear()
    return root


@pytest.fixture
def market_env(
    market_lake: Path, cp_keys: Keys, cp_api: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Keys]:
    from lakehouse.settings import get_settings

    point_at(monkeypatch, market_lake, cp_api)
    yield cp_keys
    get_settings.cache_clear()


@pytest.fixture
def subscriptions_only_env(
    spark, tmp_path: Path, cp_keys: Keys, cp_api: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Keys]:
    """A lake where acme has subscriptions but no metered usage yet."""
    from lakehouse import io
    from lakehouse.settings import get_settings
    from lakehouse.tenancy import TenantScope

    lake = tmp_path / "lake"
    lake.mkdir()
    point_at(monkeypatch, lake, cp_api)
    io.append(
        spark,
        "gold.marketplace_subscriptions",
        frame(spark, "gold.marketplace_subscriptions", _gold_subscriptions("acme")),
        TenantScope.for_tenant("acme"),
    )
    yield cp_keys
    get_settings.cache_clear()


def _usage_kpis(revenue: str, records: int, days: int, dims: int) -> dict[str, str]:
    return {
        "Estimated revenue": revenue,
        "Records sent": str(records),
        "Days with usage": str(days),
        "Dimensions": str(dims),
    }


def _frame_with(at, column: str):
    return next(f for f in frames(at) if column in f.columns)


def _by_dimension(at):
    return next(f for f in frames(at) if "days" in f.columns)


def _usage_rows(at):
    return next(f for f in frames(at) if "usage_date" in f.columns)


def test_unfiltered_usage_and_subscriptions_equal_the_hand_computed_numbers(market_env):
    at = open_page(PAGE, market_env.acme_analyst)
    # revenue: 10.5*0.40 + 100*0.02 + 4.25*0.40 + 12000*0.0005 + 0 + 50*0.02 = 4.20+2.00+1.70+6.00+1.00 = 14.90
    assert metrics(at) == {
        **_usage_kpis("$14.90", 12, 3, 3),
        "Active": "4",
        "Pending cancellation": "1",
        "Expired": "2",
    }
    usage = _usage_rows(at)
    assert len(usage) == 6 and "tenant_id" not in usage.columns
    assert usage["estimated_revenue"].sum() == pytest.approx(14.90)
    by_dim = _by_dimension(at).set_index(["product_code", "dimension"])
    hours = by_dim.loc[("prod-analytics", "pipeline_hours")]
    assert hours["currency_code"] == "USD"
    assert hours.drop("currency_code").astype(float).to_dict() == pytest.approx(
        {
            "days": 3,
            "quantity_sent": 14.75,
            "quantity_pending": 3.5,
            "quantity_dead_lettered": 0.75,
            "records_sent": 5,
            "estimated_revenue": 5.90,
        }
    )
    assert by_dim.loc[("prod-analytics", "storage_gb"), "quantity_dead_lettered"] == 5.0
    subs = _frame_with(at, "pending_cancellation")
    assert subs[["product_title", "active", "pending_cancellation", "expired", "total"]].values.tolist() == [
        ["Acme API", 1, 0, 0, 1],
        ["Acme Analytics", 3, 1, 2, 6],
    ]
    # usage: quantity (one series), estimated revenue, records sent (one per tab); subscriptions by product
    assert len(at.get("vega_lite_chart")) == 4
    assert at.selectbox(key="m_series_acme").options == [
        "prod-analytics / pipeline_hours",
        "prod-analytics / storage_gb",
        "prod-api / api_calls",
    ]
    assert '"prod-api / api_calls"' not in at.get("vega_lite_chart")[0].proto.spec
    at.selectbox(key="m_series_acme").select("prod-api / api_calls").run()
    assert '"prod-api / api_calls"' in at.get("vega_lite_chart")[0].proto.spec  # the quantity chart's title


def test_dimension_filter_changes_the_numbers(market_env):
    at = open_page(PAGE, market_env.acme_analyst)
    at.multiselect(key="m_dims_acme").select("pipeline_hours").run()
    # pipeline_hours: 4.20 + 1.70 + 0 on D1, D2, D3; 3 + 2 + 0 records
    assert metrics(at) == {
        **_usage_kpis("$5.90", 5, 3, 1),
        "Active": "4",
        "Pending cancellation": "1",
        "Expired": "2",
    }
    assert set(_usage_rows(at)["dimension"]) == {"pipeline_hours"}
    assert at.selectbox(key="m_series_acme").options == ["prod-analytics / pipeline_hours"]
    at.multiselect(key="m_dims_acme").select("storage_gb").run()
    # + storage_gb: 2.00 + 1.00; 2 + 1 records
    assert {k: metrics(at)[k] for k in ("Estimated revenue", "Records sent", "Dimensions")} == {
        "Estimated revenue": "$8.90",
        "Records sent": "8",
        "Dimensions": "2",
    }


def test_date_range_and_product_filters_change_the_numbers(market_env):
    at = open_page(PAGE, market_env.acme_analyst)
    at.date_input(key="m_dates_acme").set_value((D2, D3)).run()
    assert not at.exception, [e.value for e in at.exception]
    # D2..D3: 1.70 + 6.00 + 0 + 1.00; 2 + 4 + 0 + 1 records
    assert {
        k: metrics(at)[k] for k in ("Estimated revenue", "Records sent", "Days with usage", "Dimensions")
    } == _usage_kpis("$8.70", 7, 2, 3)
    assert set(_usage_rows(at)["usage_date"].astype(str)) == {"2026-06-02", "2026-06-03"}
    at.multiselect(key="m_products_acme").select("prod-api").run()
    assert {
        k: metrics(at)[k] for k in ("Estimated revenue", "Records sent", "Days with usage", "Dimensions")
    } == _usage_kpis("$6.00", 4, 1, 1)
    at.date_input(key="m_dates_acme").set_value((D3, D3)).run()
    assert any("No usage matches these filters" in i.value for i in at.info)
    assert metrics(at)["Estimated revenue"] == "$0.00" and metrics(at)["Records sent"] == "0"


def test_viewer_sees_no_quantities_or_revenue(market_env):
    at = open_page(PAGE, market_env.acme_viewer)
    shown = metrics(at)
    assert shown["Estimated revenue"] == "restricted"
    assert shown["Records sent"] == "12" and shown["Active"] == "4"
    columns = columns_shown(at)
    assert {"usage_date", "dimension", "records_sent", "product_title", "active"} <= columns
    assert not columns & CONFIDENTIAL
    assert not any(v in shown_values(at) for v in ("14.9", "14.90", "$14.90", "12000.0", "14.75"))
    charts = at.get("vega_lite_chart")
    assert len(charts) == 2  # records sent per day, subscriptions by product
    # the charts' specs and embedded Arrow data carry no confidential column either
    payload = b"".join(
        c.proto.spec.encode() + c.proto.data.data + b"".join(d.data.data for d in c.proto.datasets)
        for c in charts
    )
    assert b"records_sent" in payload
    assert not any(c.encode() in payload for c in CONFIDENTIAL)


def test_acme_viewer_never_sees_globex_rows(market_env):
    at = open_page(PAGE, market_env.acme_viewer)
    values = shown_values(at)
    assert ACME_ONLY <= values
    assert not any(g in v for v in values for g in GLOBEX_ONLY)
    assert not any("globex" in v.lower() for v in values)
    assert [s for s in at.selectbox if s.key == "tenant_picker"] == []


def test_globex_analyst_sees_only_globex_usage_in_its_currency(market_env):
    at = open_page(PAGE, market_env.globex_analyst)
    # 5000*0.001 + 2500*0.001 EUR; D1 and D5
    assert metrics(at) == {
        **_usage_kpis("EUR 7.50", 2, 2, 1),
        "Active": "7",
        "Pending cancellation": "2",
        "Expired": "1",
    }
    values = shown_values(at)
    assert not any(a in v for v in values for a in ACME_ONLY)
    assert set(_usage_rows(at)["product_code"]) == {"prod-globex-etl"}


def test_platform_admin_switches_tenant_and_the_numbers_follow(market_env):
    at = open_page(PAGE, market_env.platform_admin, tenant="globex")
    assert metrics(at)["Estimated revenue"] == "EUR 7.50"
    at.selectbox(key="tenant_picker").select("acme").run()
    assert metrics(at)["Estimated revenue"] == "$14.90"
    assert set(_usage_rows(at)["product_code"]) == {"prod-analytics", "prod-api"}


def test_empty_lake_shows_the_empty_state(empty_env):
    at = open_page(PAGE, empty_env.acme_analyst)
    assert not at.exception
    assert not at.metric
    assert any("No Marketplace data for tenant `acme` yet" in i.value for i in at.info)


def test_subscriptions_without_usage_show_the_usage_empty_state(subscriptions_only_env):
    at = open_page(PAGE, subscriptions_only_env.acme_analyst)
    assert not at.exception
    assert metrics(at) == {"Active": "4", "Pending cancellation": "1", "Expired": "2"}
    assert any("No metered usage for tenant `acme` yet" in i.value for i in at.info)


def test_revenue_is_summed_per_currency_never_across_currencies():
    import pandas as pd

    from dashboards.lib import marketplace as M

    rows = pd.DataFrame(
        {"estimated_revenue": [1.25, 2.0, 3.5, 0.0], "currency_code": ["USD", "EUR", "USD", None]}
    )
    assert M.revenue_by_currency(rows) == {"USD": 4.75, "EUR": 2.0}
    assert M.format_money(M.revenue_by_currency(rows)) == "EUR 2.00 + $4.75"
    assert M.format_money({}) == "$0.00"
    assert M.format_money(None) == "restricted"
