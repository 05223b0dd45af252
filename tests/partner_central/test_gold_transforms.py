"""Silver -> gold ACE marts on tiny inline frames, compared exactly (chispa)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from chispa import assert_df_equality

from lakehouse.partner_central.entities import gold
from lakehouse.partner_central.transforms import gold as tx

OPP = "tenant_id string, catalog string, opportunity_id string, stage string, review_status string, target_close_date date"
SPEND = "tenant_id string, catalog string, opportunity_id string, amount decimal(18,2), currency_code string, frequency string"


def test_ace_pipeline_counts_and_sums_usd_monthly_spend_per_stage_and_month(spark):
    opp = spark.createDataFrame(
        [
            ("acme", "AWS", "O1", "Prospect", "Approved", date(2025, 6, 1)),
            ("acme", "AWS", "O2", "Prospect", "Approved", date(2025, 6, 30)),
            ("acme", "AWS", "O3", "Prospect", "Approved", date(2025, 7, 1)),
            ("acme", "AWS", "O4", "Launched", "Approved", None),
            ("acme", "AWS", "O5", None, None, None),
        ],
        OPP,
    )
    spend = spark.createDataFrame(
        [
            ("acme", "AWS", "O1", Decimal("531.00"), "USD", "Monthly"),
            ("acme", "AWS", "O1", Decimal("0.50"), "USD", "Monthly"),
            ("acme", "AWS", "O2", Decimal("100.00"), "EUR", "Monthly"),  # not converted, not counted
            ("acme", "AWS", "O2", Decimal("7.25"), "USD", "Monthly"),
            ("acme", "AWS", "O3", Decimal("99.00"), "USD", None),  # not monthly
            ("acme", "AWS", "O4", None, "USD", "Monthly"),
            ("acme", "Sandbox", "O1", Decimal("1000.00"), "USD", "Monthly"),  # another catalog's O1
        ],
        SPEND,
    )
    expected = spark.createDataFrame(
        [
            ("acme", "Prospect", "2025-06", 2, Decimal("538.75")),
            ("acme", "Prospect", "2025-07", 1, Decimal("0.00")),
            ("acme", "Launched", None, 1, Decimal("0.00")),
            ("acme", None, None, 1, Decimal("0.00")),
        ],
        gold.ACE_PIPELINE.schema,
    )
    assert_df_equality(tx.ace_pipeline(opp, spend), expected, ignore_row_order=True, ignore_nullable=True)


def test_ace_win_rate_is_won_over_closed(spark):
    opp = spark.createDataFrame(
        [
            ("acme", "AWS", "O1", "Launched", None, None),
            ("acme", "AWS", "O2", "Launched", None, None),
            ("acme", "AWS", "O3", "Closed Lost", None, None),
            ("acme", "AWS", "O4", "Committed", None, None),
            ("acme", "AWS", "O5", None, None, None),
            ("beta", "AWS", "O1", "Prospect", None, None),
        ],
        OPP,
    )
    expected = spark.createDataFrame(
        [("acme", 2, 1, 2, 2 / 3), ("beta", 0, 0, 1, None)], gold.ACE_WIN_RATE.schema
    )
    assert_df_equality(tx.ace_win_rate(opp), expected, ignore_row_order=True, ignore_nullable=True)


def test_ace_pipeline_health_counts_stale_open_and_action_required(spark):
    as_of = date(2025, 3, 1)
    opp = spark.createDataFrame(
        [
            ("acme", "AWS", "O1", "Prospect", "Action Required", date(2025, 2, 28)),  # stale
            ("acme", "AWS", "O2", "Prospect", "Action Required", date(2025, 3, 1)),  # due today: not stale
            ("acme", "AWS", "O3", "Launched", "Approved", date(2024, 1, 1)),  # closed: never stale
            ("acme", "AWS", "O4", "Closed Lost", "Approved", date(2024, 1, 1)),
            ("acme", "AWS", "O5", "Committed", "Approved", date(2024, 12, 31)),  # stale
            ("acme", "AWS", "O6", None, None, date(2020, 1, 1)),  # no stage counts as open: stale
            ("acme", "AWS", "O7", "Qualified", None, None),  # no date: not stale
        ],
        OPP,
    )
    expected = spark.createDataFrame(
        [
            ("acme", "Action Required", 2, 1, 2, as_of),
            ("acme", "Approved", 3, 1, 0, as_of),
            ("acme", None, 2, 1, 0, as_of),
        ],
        gold.ACE_PIPELINE_HEALTH.schema,
    )
    got = tx.ace_pipeline_health(opp, as_of=as_of)
    assert_df_equality(got, expected, ignore_row_order=True, ignore_nullable=True)
