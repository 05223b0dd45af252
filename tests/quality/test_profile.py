"""Profiles computed by Spark (exact counts, ranges, quantiles and top values of tiny frames) and the hook
that stores them in ops.dq_profile and raises anomalies as DataQualityIssue rows in ops.dq_issue."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from pyspark.sql.types import DoubleType, StringType

from lakehouse import io, ops
from lakehouse.catalog import declare
from lakehouse.io import WriteResult
from lakehouse.quality import monitor
from lakehouse.quality.anomaly import QUANTILE_PROBS
from lakehouse.quality.profile import profile_frame, profiles_from_rows
from lakehouse.tenancy import TenantScope

MONDAY = datetime(2026, 3, 2, 6, tzinfo=UTC)
PROBE = declare(
    "bronze",
    "dq_probe",
    [
        ("tenant_id", StringType(), "internal"),
        ("item_id", StringType(), "internal"),
        ("stage", StringType(), "internal"),
        ("amount", DoubleType(), "internal"),
    ],
    keys=("tenant_id", "item_id"),
    grain="one row per item (a probe table of the data-quality tests)",
)


def test_profile_of_a_tiny_frame(spark):
    df = spark.createDataFrame(
        [
            ("acme", "I1", "won", 10.0),
            ("acme", "I2", "won", 20.0),
            ("acme", "I3", "lost", None),
            ("acme", "I4", None, 40.0),
        ],
        "tenant_id string, item_id string, stage string, amount double",
    )
    p = profile_frame(df, tenant_id="acme", table_name="bronze.dq_probe", run_id="r1", profiled_at=MONDAY)
    assert (p.row_count, p.rows_written) == (4, 4)
    stage, amount = p.columns["stage"], p.columns["amount"]
    assert (stage.null_count, stage.distinct_count, stage.min_value, stage.max_value) == (1, 2, "lost", "won")
    assert stage.top_values == (("won", 2), ("lost", 1))
    assert (amount.null_count, amount.distinct_count, amount.min_value, amount.max_value) == (
        1,
        3,
        "10.0",
        "40.0",
    )
    assert amount.quantiles is not None and len(amount.quantiles) == len(QUANTILE_PROBS)
    assert amount.quantiles[QUANTILE_PROBS.index(0.5)] == pytest.approx(20.0)
    assert list(amount.quantiles) == sorted(amount.quantiles)
    assert amount.top_values == ()  # numeric columns are compared by quantiles
    assert p.columns["item_id"].distinct_count == 4
    hidden = profile_frame(
        df, tenant_id="acme", table_name="t", run_id="r1", profiled_at=MONDAY, counts_only=("stage", "amount")
    )
    assert hidden.columns["stage"] == replace(stage, min_value=None, max_value=None, top_values=())
    assert hidden.columns["amount"] == replace(amount, min_value=None, max_value=None, quantiles=None)


def _frame(spark, n: int, *, won_share: float = 0.5):
    won = int(n * won_share)
    rows = [("acme", f"I{i}", "won" if i < won else "lost", float(i % 20)) for i in range(n)]
    return spark.createDataFrame(rows, PROBE.schema)


def test_hook_records_profiles_and_flags_a_volume_drop_and_a_shift(spark, lake):
    scope = TenantScope.for_tenant("acme")
    for day in range(8):  # a week of ~300-row writes, then a day with 60 rows that are nearly all "lost"
        n, share = (300 + 7 * (day % 3), 0.5) if day < 7 else (60, 0.05)
        written = io.overwrite_partition(spark, PROBE, _frame(spark, n, won_share=share), scope)
        seen = monitor.observe_writes(
            spark,
            "acme",
            f"run-{day}",
            {PROBE.qualified_name: written},
            now=MONDAY + timedelta(days=day),
            config=monitor.AnomalyConfig(min_rows_for_drift=50),
        )
        if day < 7:
            assert seen.anomalies == ()
    assert {a.kind for a in seen.anomalies} == {"volume", "distribution"}
    stored = io.read(spark, ops.DQ_PROFILE, scope).toPandas()
    assert len(stored) == 8 * 4  # one row per column per run
    history = profiles_from_rows(stored)
    assert [p.rows_written for p in history][-1] == 60
    assert history[-1].columns["stage"].top_values == (("lost", 57), ("won", 3))
    issues = io.read(spark, ops.DQ_ISSUE, scope).toPandas().sort_values("expectation")
    assert issues["expectation"].tolist() == ["distribution_anomaly.stage", "volume_anomaly"]
    assert set(issues["suite"]) == {"anomaly"} and set(issues["run_id"]) == {"run-7"}
    volume = issues[issues["expectation"] == "volume_anomaly"].iloc[0]
    assert volume["severity"] == "critical"
    evidence = json.loads(volume["details"])
    assert evidence["observed"] == 60 and evidence["expected"] == pytest.approx(307, abs=8)


def test_hook_skips_ops_tables_unchanged_writes_and_can_be_switched_off(spark, lake, monkeypatch):
    scope = TenantScope.for_tenant("acme")
    written = io.overwrite_partition(spark, PROBE, _frame(spark, 5), scope)
    unchanged = WriteResult(PROBE.qualified_name, written.version, 5, committed=False)
    assert monitor.observe_writes(spark, "acme", "r0", {PROBE.qualified_name: unchanged}).profiles == ()
    monkeypatch.setenv(monitor.ENABLED_ENV, "0")
    assert monitor.observe_writes(spark, "acme", "r1", {PROBE.qualified_name: written}).profiles == ()
    assert not io.exists(ops.DQ_PROFILE)
    monkeypatch.delenv(monitor.ENABLED_ENV)
    ops_write = WriteResult(ops.DQ_RESULT.qualified_name, 0, 1)
    seen = monitor.observe_writes(
        spark, "acme", "r2", {PROBE.qualified_name: written, ops.DQ_RESULT.qualified_name: ops_write}
    )
    assert [p.table_name for p in seen.profiles] == [PROBE.qualified_name]


def test_quantiles_of_a_large_table_come_from_a_seeded_sample(spark, monkeypatch):
    from lakehouse.quality import profile

    monkeypatch.setattr(profile, "QUANTILE_SAMPLE_ROWS", 2_000)
    df = spark.range(20_000).selectExpr("'acme' AS tenant_id", "CAST(id AS DOUBLE) AS amount")

    def run():
        return profile_frame(df, tenant_id="acme", table_name="t", run_id="r", profiled_at=MONDAY)

    first, second = run(), run()
    assert first.row_count == 20_000 and first.columns["amount"].max_value == "19999.0"  # exact, not sampled
    median = first.columns["amount"].quantiles[QUANTILE_PROBS.index(0.5)]
    assert median == pytest.approx(10_000, rel=0.05)
    assert first.columns["amount"].quantiles == second.columns["amount"].quantiles  # the sample is seeded
