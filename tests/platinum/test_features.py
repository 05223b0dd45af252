"""Point-in-time features (no leakage from the future), the win model's backtest and the features step."""

from __future__ import annotations

from datetime import date, datetime

import numpy as np
import pandas as pd
import pytest
from chispa import assert_df_equality

from lakehouse import catalog, io
from lakehouse.partner_central.pipeline import RunContext
from lakehouse.platinum import entities as tables
from lakehouse.platinum import features, model, synthetic
from lakehouse.platinum.steps import run_features
from lakehouse.tenancy import TenantScope

from .conftest import opp, silver_frame

pytestmark = pytest.mark.slow  # over a second of work in all: left out of `make test-fast`

A = TenantScope.for_tenant("acme")
HISTORY_SCHEMA = (
    "tenant_id string, opportunity_id string, created_at timestamp, last_modified_at timestamp, stage string, "
    "target_close_date date, customer_industry string, opportunity_type string, "
    "project_delivery_models array<string>, related_solution_ids array<string>, "
    "related_aws_product_ids array<string>, primary_needs_from_aws array<string>, "
    "expected_monthly_spend_usd double"
)
COLS = [*features.HISTORY_COLUMNS, "expected_monthly_spend_usd"]


def version(
    opp_id: str, modified: datetime, stage: str, *, created: datetime = datetime(2025, 1, 2), spend=100.0
):  # type: ignore[no-untyped-def]
    return {
        "tenant_id": "acme",
        "catalog": "AWS",
        "opportunity_id": opp_id,
        "created_at": created,
        "last_modified_at": modified,
        "stage": stage,
        "target_close_date": date(2025, 3, 1),
        "customer_industry": "Retail",
        "related_solution_ids": ["S-1"],
        "expected_monthly_spend_usd": spend,
    }


def frame(spark, rows):  # type: ignore[no-untyped-def]
    return spark.createDataFrame([tuple(r.get(c) for c in COLS) for r in rows], HISTORY_SCHEMA)


def current_of(rows):  # type: ignore[no-untyped-def]
    return synthetic.SyntheticTenant("acme", list(rows)).current()


def test_weekly_snapshots_are_mondays() -> None:
    assert features.weekly_snapshots(date(2025, 1, 1), date(2025, 1, 20)) == [
        date(2025, 1, 6),
        date(2025, 1, 13),
        date(2025, 1, 20),
    ]


def test_each_snapshot_sees_the_latest_version_before_it_and_drops_closed_deals(spark) -> None:
    rows = [
        version("O-1", datetime(2025, 1, 2), "Prospect"),
        version("O-1", datetime(2025, 1, 20), "Qualified", spend=250.0),
        version("O-1", datetime(2025, 2, 5), "Launched"),
    ]
    snaps = [date(2025, 1, 6), date(2025, 1, 13), date(2025, 1, 27), date(2025, 2, 10)]
    got = features.point_in_time_features(
        frame(spark, rows), features.labels(frame(spark, current_of(rows))), snaps
    ).select(
        "opportunity_id",
        "snapshot_date",
        "stage",
        "stage_index",
        "age_days",
        "days_since_modified",
        "days_to_target_close",
        "solution_count",
        "expected_monthly_spend_usd",
        "outcome",
    )
    expected = spark.createDataFrame(
        [
            ("O-1", date(2025, 1, 6), "Prospect", 1, 4, 4, 54, 1, 100.0, "won"),
            ("O-1", date(2025, 1, 13), "Prospect", 1, 11, 11, 47, 1, 100.0, "won"),
            ("O-1", date(2025, 1, 27), "Qualified", 2, 25, 7, 33, 1, 250.0, "won"),
        ],
        got.schema,
    )
    assert_df_equality(got, expected, ignore_row_order=True, ignore_nullable=True)


def test_features_as_of_a_week_do_not_change_when_later_data_arrives(spark) -> None:
    week = date(2025, 1, 13)
    before = [
        version("O-1", datetime(2025, 1, 2), "Prospect"),
        version("O-2", datetime(2025, 1, 3), "Qualified", spend=50.0),
    ]
    later = [
        version("O-1", datetime(2025, 1, 14), "Technical Validation", spend=999.0),
        version("O-2", datetime(2025, 1, 20), "Closed Lost"),
        version("O-3", datetime(2025, 1, 15), "Prospect", created=datetime(2025, 1, 15)),
    ]
    columns = ["opportunity_id", "snapshot_date", *features.FEATURE_COLUMNS]

    def at_week(rows):  # type: ignore[no-untyped-def]
        pit = features.point_in_time_features(
            frame(spark, rows), features.labels(frame(spark, current_of(rows))), [week, date(2025, 1, 20)]
        )
        return pit.where(f"snapshot_date = '{week}'").select(*columns)

    first, second = at_week(before), at_week(before + later)
    assert first.count() == 2
    assert_df_equality(first, second, ignore_row_order=True, ignore_nullable=True)


def test_stage_baseline_is_the_smoothed_win_rate_of_the_stage() -> None:
    train = pd.DataFrame(
        {"stage": ["Prospect", "Prospect", "Prospect", "Committed", None], "won": [1, 0, 0, 1, 1]}
    )
    base = model.StageBaseline().fit(train)
    got = base.predict(pd.DataFrame({"stage": ["Prospect", "Committed", "Unknown", None]}))
    assert got.tolist() == pytest.approx([2 / 5, 2 / 3, 4 / 7, 2 / 3])


def test_metrics_reliability_table_and_brier() -> None:
    m = model.metrics(np.array([0, 1, 1, 0]), np.array([0.05, 0.95, 0.55, 0.45]))
    assert m.auc == 1.0
    assert m.brier == pytest.approx((0.05**2 + 0.05**2 + 0.45**2 + 0.45**2) / 4)
    assert m.reliability == [(0.05, 0.0, 1), (0.45, 0.0, 1), (0.55, 1.0, 1), (0.95, 1.0, 1)]


@pytest.fixture(scope="module")
def synthetic_features(spark):  # type: ignore[no-untyped-def]
    tenant = synthetic.generate("acme", 1500, seed=11)
    history = frame(spark, tenant.versions)
    current = frame(spark, tenant.current())
    snaps = features.weekly_snapshots(date(2023, 7, 1), date(2025, 7, 1))
    return tenant, features.point_in_time_features(history, features.labels(current), snaps).toPandas()


def test_win_model_beats_the_stage_only_baseline_in_a_time_split_backtest(synthetic_features) -> None:
    _, pit = synthetic_features
    bt = model.backtest(pit, date(2025, 1, 6))
    assert bt.train_rows > 1000 and bt.test_rows > 500
    assert bt.model.auc > bt.baseline.auc
    assert bt.model.brier < bt.baseline.brier
    assert bt.beats_baseline


def test_training_rows_were_all_known_before_the_cutoff(synthetic_features) -> None:
    _, pit = synthetic_features
    cutoff = date(2025, 1, 6)
    train, test = model.split(pit, cutoff)
    assert (pd.to_datetime(train["closed_at"]) < pd.Timestamp(cutoff)).all()
    assert (pd.to_datetime(test["snapshot_date"]) >= pd.Timestamp(cutoff)).all()


def test_forecast_backtest_actuals_are_the_won_spend_of_deals_open_then(synthetic_features) -> None:
    tenant, pit = synthetic_features
    fc = model.forecast_backtest(pit, date(2025, 1, 6))
    assert fc.snapshot == date(2025, 1, 6) and fc.months == ["2025-01", "2025-02", "2025-03"]
    open_then = {r["opportunity_id"] for r in tenant.versions if r["created_at"] < datetime(2025, 1, 6)}
    by_month: dict[str, float] = {}
    for row in tenant.current():
        if row["stage"] == "Launched" and row["opportunity_id"] in open_then:
            closed = row["last_modified_at"]
            if closed >= datetime(2025, 1, 6):
                key = closed.strftime("%Y-%m")
                by_month[key] = by_month.get(key, 0.0) + row["expected_monthly_spend_usd"]
    assert fc.actual == pytest.approx([by_month.get(m, 0.0) for m in fc.months])
    assert all(v >= 0 for v in fc.model + fc.naive)


def _land(spark, rows) -> None:  # type: ignore[no-untyped-def]
    """Merge versions into silver.opportunity as a sync run would: one Delta version per call."""
    td = catalog.get("silver.opportunity")
    full = [
        opp(
            "acme",
            r["opportunity_id"],
            **{
                k: v
                for k, v in r.items()
                if k in td.schema.fieldNames() and k not in ("tenant_id", "opportunity_id")
            },
            file_cluster="c",
        )
        for r in rows
    ]
    io.merge(spark, td, silver_frame(spark, "silver.opportunity", full), A)


def test_features_step_reads_silver_history_so_a_later_change_leaves_past_weeks_alone(
    spark, platinum_lake
) -> None:
    _land(
        spark,
        [version("O-1", datetime(2025, 1, 2), "Prospect"), version("O-2", datetime(2025, 1, 3), "Qualified")],
    )
    as_of = date(2025, 1, 20)
    step = lambda: run_features(RunContext.create(spark, "acme", job_name="platinum_features", as_of=as_of))  # noqa: E731
    first = step()
    assert first.counts["opportunity_score.skipped"] == 1  # two deals: too little history for a model
    cols = ["opportunity_id", "snapshot_date", *features.FEATURE_COLUMNS]
    week = "snapshot_date = '2025-01-13'"
    before = io.read(spark, tables.OPPORTUNITY_FEATURES, A).where(week).select(*cols)
    assert before.count() == 2
    assert step().status == "nothing_new"

    _land(
        spark,
        [
            version("O-1", datetime(2025, 1, 15), "Launched"),
            version("O-3", datetime(2025, 1, 16), "Prospect", created=datetime(2025, 1, 16)),
        ],
    )
    step()
    stored = io.read(spark, tables.OPPORTUNITY_FEATURES, A)
    assert_df_equality(stored.where(week).select(*cols), before, ignore_row_order=True, ignore_nullable=True)
    labelled = {r["opportunity_id"]: r["outcome"] for r in stored.where(week).collect()}
    assert labelled == {"O-1": "won", "O-2": None}
    latest = {r["opportunity_id"] for r in stored.where("snapshot_date = '2025-01-20'").collect()}
    assert latest == {"O-2", "O-3"}


def test_features_step_scores_open_deals_with_enough_history(spark, platinum_lake) -> None:
    tenant = synthetic.generate("acme", 300, start=date(2024, 1, 1), end=date(2024, 12, 30), seed=3)
    batches = [datetime(2024, m, 1) for m in (3, 5, 7, 9, 11)] + [datetime(2024, 12, 30)]
    landed: set[tuple[str, datetime]] = set()
    for cut in batches:
        latest: dict[str, dict] = {}
        for v in tenant.versions:
            if v["last_modified_at"] < cut:
                seen = latest.get(v["opportunity_id"])
                if seen is None or v["last_modified_at"] > seen["last_modified_at"]:
                    latest[v["opportunity_id"]] = v
        new = [v for v in latest.values() if (v["opportunity_id"], v["last_modified_at"]) not in landed]
        landed |= {(v["opportunity_id"], v["last_modified_at"]) for v in new}
        _land(spark, new)
    outcome = run_features(
        RunContext.create(spark, "acme", job_name="platinum_features", as_of=date(2024, 12, 30))
    )
    assert "opportunity_score.skipped" not in outcome.counts
    scores = io.read(spark, tables.OPPORTUNITY_SCORE, A).toPandas()
    open_now = {
        v["opportunity_id"] for v in tenant.current() if v["stage"] not in ("Launched", "Closed Lost")
    }
    assert (
        set(scores["opportunity_id"]) <= open_now
        and len(scores) == outcome.counts["opportunity_score.rows"] > 0
    )
    assert scores["win_probability"].between(0, 1).all()
    assert (scores["snapshot_date"] == date(2024, 12, 30)).all()


def test_version_history_keeps_each_silver_version_once_with_its_usd_monthly_spend(
    spark, platinum_lake
) -> None:
    from decimal import Decimal

    t1, t2 = datetime(2025, 1, 2), datetime(2025, 1, 9)
    spend_td = catalog.get("silver.opportunity_spend")

    def spend(modified, rows):  # type: ignore[no-untyped-def]
        return silver_frame(
            spark,
            "silver.opportunity_spend",
            [
                {
                    "tenant_id": "acme",
                    "catalog": "AWS",
                    "opportunity_id": "O-1",
                    "spend_index": i,
                    "amount": Decimal(a),
                    "currency_code": c,
                    "frequency": f,
                    "last_modified_at": modified,
                    "file_cluster": "c",
                }
                for i, (a, c, f) in enumerate(rows)
            ],
        )

    _land(spark, [version("O-1", t1, "Prospect")])
    io.merge(spark, spend_td, spend(t1, [("100", "USD", "Monthly"), ("7", "EUR", "Monthly")]), A)
    _land(spark, [version("O-1", t2, "Qualified")])
    io.merge(spark, spend_td, spend(t2, [("300", "USD", "Monthly"), ("50", "USD", "Annual")]), A)
    _land(spark, [version("O-1", t2, "Qualified")])  # the same version again: kept once
    got = sorted(
        (r["last_modified_at"], r["stage"], r["expected_monthly_spend_usd"])
        for r in features.version_history(spark, A).collect()
    )
    assert got == [(t1, "Prospect", 100.0), (t2, "Qualified", 300.0)]
