"""Anomaly detection: planted volume drops, freshness gaps and distribution shifts are flagged; weekly
seasonality and noise stay quiet (deterministic seeds, pure functions, no Spark)."""

from __future__ import annotations

import json
import math
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from bench import dq_bench
from lakehouse.quality.anomaly import (
    QUANTILE_PROBS,
    AnomalyConfig,
    ColumnProfile,
    Profile,
    cdf_from_quantiles,
    detect,
    detect_drift,
    detect_freshness,
    detect_volume,
    overdue,
    psi,
    robust_z,
)

MONDAY = datetime(2026, 3, 2, 6, tzinfo=UTC)


def _profile(
    at: datetime, rows: int, columns: dict[str, ColumnProfile] | None = None, table: str = "silver.t"
):
    return Profile("acme", table, f"run-{at:%Y%m%d%H}", at, None, rows, rows, columns or {})


def _weekly_history(weeks: int = 4, *, weekends: bool = True) -> list[Profile]:
    """Daily writes at 06:00: Mondays 1,200 rows, other weekdays ~1,000, weekends 300 (small fixed wobble)."""
    out = []
    wobble = [0.98, 1.01, 1.0, 1.02, 0.99, 1.0, 0.97]
    for d in range(weeks * 7):
        at = MONDAY - timedelta(days=weeks * 7 - d)
        if not weekends and at.weekday() >= 5:
            continue
        base = 1200 if at.weekday() == 0 else 300 if at.weekday() >= 5 else 1000
        out.append(_profile(at, int(base * wobble[d % 7])))
    return out


def test_psi_of_known_distributions():
    assert psi([0.5, 0.5], [0.5, 0.5]) == 0.0
    expected = (0.25 - 0.5) * math.log(0.25 / 0.5) + (0.75 - 0.5) * math.log(0.75 / 0.5)
    assert psi([0.5, 0.5], [0.25, 0.75]) == pytest.approx(expected)


def test_robust_z_ignores_an_outlier_in_the_history():
    z, median, scale = robust_z(50, [100, 101, 99, 100, 102, 98, 10_000])
    assert median == 100
    assert scale == pytest.approx(5.0)  # MAD is 1; floored at 5 % of the median
    assert z == pytest.approx(-10.0)


def test_cdf_from_quantiles_of_a_uniform_distribution():
    quantiles = [100 * p for p in QUANTILE_PROBS]
    cdf = cdf_from_quantiles([0, 25, 50, 97.5, 100, 120], quantiles, 0.0, 100.0)
    assert cdf.tolist() == pytest.approx([0.0, 0.25, 0.5, 0.975, 1.0, 1.0])


def test_monday_volume_is_compared_with_mondays():
    history = _weekly_history()
    config = AnomalyConfig()
    normal_monday = _profile(MONDAY, 1180)
    assert detect_volume(normal_monday, history, config) is None  # 1,180 would be +18 % on a Tuesday
    drop = detect_volume(_profile(MONDAY, 500), history, config)
    assert drop is not None and drop.kind == "volume" and drop.severity == "critical"
    assert drop.expected == pytest.approx(1200 * 0.98, rel=0.05)
    assert "drop" in drop.message


def test_quiet_saturday_is_not_a_drop_but_an_empty_one_is():
    history = _weekly_history()
    saturday = MONDAY + timedelta(days=5)
    assert detect_volume(_profile(saturday, 290), history, AnomalyConfig()) is None
    empty = detect_volume(_profile(saturday, 0), history, AnomalyConfig())
    assert empty is not None and empty.severity == "critical"


def test_too_little_history_gives_no_verdict():
    history = _weekly_history()[-5:]
    assert detect(_profile(MONDAY, 1), history) == []


def test_weekend_gap_of_a_weekday_table_is_on_time_and_a_missed_day_is_late():
    history = _weekly_history(weekends=False)
    config = AnomalyConfig()
    assert detect_freshness(_profile(MONDAY, 1200), history, config) is None  # 72 h since Friday, as usual
    tuesday_after_missed_monday = MONDAY + timedelta(days=1)
    late = detect_freshness(_profile(tuesday_after_missed_monday, 1000), history, config)
    assert late is not None and late.kind == "freshness"
    assert late.observed == pytest.approx(96.0) and late.expected == pytest.approx(24.0)


def test_overdue_at_any_instant():
    history = _weekly_history()
    last = history[-1].profiled_at
    assert overdue(history, last + timedelta(hours=25)) is None
    late = overdue(history, last + timedelta(hours=60))
    assert late is not None and late.severity == "warning"  # past expected + half a cadence (36 h)
    very_late = overdue(history, last + timedelta(hours=80))
    assert very_late is not None and very_late.severity == "critical"  # past expected + two cadences (72 h)


def _stage_column(shares: dict[str, float], rows: int, nulls: int = 0) -> ColumnProfile:
    top = tuple(sorted(((v, round(s * (rows - nulls))) for v, s in shares.items()), key=lambda vc: -vc[1]))
    return ColumnProfile("stage", "string", nulls, len(shares), None, None, None, top)


def _amount_column(scale: float, rows: int) -> ColumnProfile:
    quantiles = tuple(scale * p for p in QUANTILE_PROBS)
    return ColumnProfile("amount", "double", 0, rows, "0.0", str(scale), quantiles)


def _drift_history(rows: int = 1000) -> list[Profile]:
    stable = {"Prospect": 0.5, "Qualified": 0.3, "Launched": 0.2}
    return [
        _profile(
            MONDAY - timedelta(days=10 - d),
            rows,
            {"stage": _stage_column(stable, rows), "amount": _amount_column(100, rows)},
        )
        for d in range(10)
    ]


def test_category_takeover_and_scale_shift_are_flagged_and_a_stable_run_is_quiet():
    history = _drift_history()
    config = AnomalyConfig()
    same = _profile(
        MONDAY,
        1000,
        {
            "stage": _stage_column({"Prospect": 0.48, "Qualified": 0.32, "Launched": 0.2}, 1000),
            "amount": _amount_column(103, 1000),
        },
    )
    assert detect_drift(same, history, config) == []
    shifted = _profile(
        MONDAY,
        1000,
        {
            "stage": _stage_column({"Prospect": 0.1, "Qualified": 0.1, "Launched": 0.8}, 1000),
            "amount": _amount_column(250, 1000),
        },
    )
    found = {a.column_name: a for a in detect_drift(shifted, history, config)}
    assert set(found) == {"stage", "amount"}
    assert all(a.score >= config.psi_threshold for a in found.values())
    assert found["stage"].name == "distribution_anomaly.stage"


def test_null_rate_jump_is_a_distribution_shift():
    history = _drift_history()
    stable = {"Prospect": 0.5, "Qualified": 0.3, "Launched": 0.2}
    nulls = _profile(
        MONDAY, 1000, {"stage": _stage_column(stable, 1000, nulls=400), "amount": _amount_column(100, 1000)}
    )
    found = detect_drift(nulls, history, AnomalyConfig())
    assert [a.column_name for a in found] == ["stage"]


def test_high_cardinality_columns_and_small_runs_are_not_compared():
    config = AnomalyConfig()
    ids = ColumnProfile("opportunity_id", "string", 0, 1000, None, None, None, (("O1", 1),))
    history = [_profile(MONDAY - timedelta(days=10 - d), 1000, {"opportunity_id": ids}) for d in range(10)]
    other_ids = ColumnProfile("opportunity_id", "string", 0, 1000, None, None, None, (("O9", 1),))
    assert detect_drift(_profile(MONDAY, 1000, {"opportunity_id": other_ids}), history, config) == []
    small = _drift_history(rows=50)
    takeover = _stage_column({"Prospect": 0.0, "Qualified": 0.0, "Launched": 1.0}, 50)
    assert detect_drift(_profile(MONDAY, 50, {"stage": takeover}), small, config) == []


@pytest.mark.slow
@pytest.mark.parametrize("seed", [1, 2])
def test_normal_variation_stays_quiet(seed):
    score = dq_bench.evaluate(tables=8, days=70, seed=seed, rate=0.0)
    assert score.runs > 300
    assert sum(score.fp.values()) <= 0.01 * score.runs, dict(score.fp)


@pytest.mark.slow
@pytest.mark.parametrize("seed", [3, 4])
def test_planted_anomalies_are_flagged(seed):
    score = dq_bench.evaluate(tables=12, days=70, seed=seed, rate=0.1)
    for kind in dq_bench.KINDS:
        planted = score.tp[kind] + score.fn[kind]
        assert planted >= 5, (kind, planted)
        assert score.recall(kind) >= 0.9, (kind, score.tp[kind], score.fn[kind])
        assert score.precision(kind) >= 0.85, (kind, score.tp[kind], score.fp[kind])


def test_bench_is_deterministic_for_a_seed():
    a = dq_bench.evaluate(tables=3, days=35, seed=9, rate=0.1)
    b = dq_bench.evaluate(tables=3, days=35, seed=9, rate=0.1)
    assert (a.tp, a.fp, a.fn, a.runs) == (b.tp, b.fp, b.fn, b.runs)
    assert a.runs > 0


def test_a_quarantine_table_written_after_a_quiet_spell_is_not_late():
    history = [
        _profile(MONDAY - timedelta(days=30 - d), 10, table="silver.opportunity_quarantine") for d in range(8)
    ]
    written_again = _profile(MONDAY, 10, table="silver.opportunity_quarantine")
    assert detect(written_again, history) == []
    same_gap_elsewhere = [replace(p, table_name="silver.t") for p in history]
    assert [a.kind for a in detect(replace(written_again, table_name="silver.t"), same_gap_elsewhere)] == [
        "freshness"
    ]


def test_issue_rows_carry_severity_and_evidence():
    from lakehouse.quality.gate import DataQualityIssue
    from lakehouse.quality.monitor import to_issue

    def gate_issue(action: str) -> DataQualityIssue:
        return DataQualityIssue("acme", "r", "silver.t", "s", "e", "t", "c", action, 1, 2, ("k",), MONDAY)

    severities = {a: gate_issue(a).as_row()[-2] for a in ("fail", "quarantine", "warn")}
    assert severities == {"fail": "critical", "quarantine": "warning", "warn": "warning"}
    drop = detect_volume(_profile(MONDAY, 500), _weekly_history(), AnomalyConfig())
    assert drop is not None
    row = to_issue(drop, tenant_id="acme", run_id="r", observed_at=MONDAY).as_row()
    assert row[:8] == ("acme", "r", "silver.t", "anomaly", "volume_anomaly", "volume_anomaly", None, "warn")
    assert row[-2] == "critical"
    evidence = json.loads(row[-1])
    assert evidence["observed"] == 500 and evidence["threshold"] == 3.5 and evidence["score"] < -7
