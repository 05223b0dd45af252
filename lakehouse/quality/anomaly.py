"""Anomaly detection on a table's own profile history: volume, freshness and distribution drift.

Pure functions over ``Profile`` records (what ``ops.dq_profile`` holds per table and run); no Spark here, so the
pipeline hook, the bench and the tests run the same code. Methods (docs/data_quality.md says why):

- **Volume** (rows the run wrote): modified z-score ``0.6745 * (x - median) / MAD`` (Iglewicz & Hoaglin) against
  the runs on the same weekday when at least ``min_same_weekday`` of them exist (weekly seasonality), else
  against every earlier run. Flagged at ``|z| >= 3.5``; critical at ``|z| >= 7`` or when nothing was written
  where history never saw zero. MAD is floored at 5 % of the median so a perfectly flat history does not flag
  a one-row wobble.
- **Freshness** (time since the table's previous write): expected interval = median of earlier gaps (same
  weekday first, like volume); late when the gap exceeds ``max(1.5 x expected, expected + 3.5 robust scales)``;
  critical past 3 x expected. ``overdue`` asks the same question at any instant for a table not written yet.
- **Distribution drift** (per column): population stability index (PSI) between the column's distribution in
  this run and a baseline built from the recent history (per-bin median of the last ``baseline_runs``
  profiles, so one shifted run does not become the norm). Numeric columns: ten bins at the baseline's deciles
  plus a null bin; the current mass per bin comes from its quantile sketch (piecewise-linear CDF). Low-cardinality
  categorical columns: one bin per value seen (top values cover every value), plus null and "other". PSI
  ``>= 0.25`` is a significant shift (the usual credit-scoring rule of thumb: < 0.1 stable, 0.1-0.25 moderate);
  critical at ``>= 1``. Tested only when both sides have ``min_rows_for_drift`` rows: PSI of small samples is
  mostly sampling noise.
"""

from __future__ import annotations

import itertools
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

import numpy as np
import numpy.typing as npt

Kind = Literal["volume", "freshness", "distribution"]
Severity = Literal["warning", "critical"]
QUANTILE_PROBS: tuple[float, ...] = (0.05, 0.1, 0.2, 0.25, 0.3, 0.4, 0.5, 0.6, 0.7, 0.75, 0.8, 0.9, 0.95)
"""The quantiles a profile keeps for numeric columns (deciles, quartiles and the 5/95 % tails)."""
NUMERIC_TYPES: frozenset[str] = frozenset({"tinyint", "smallint", "int", "bigint", "float", "double"})
MAD_TO_SIGMA = 1.4826  # MAD x this estimates the standard deviation of a normal sample
_EPS = 1e-4  # PSI bin floor: an empty bin on one side would make the log infinite


@dataclass(frozen=True)
class AnomalyConfig:
    """Thresholds of the detectors; the defaults are what docs/data_quality.md justifies and the bench measures."""

    z_threshold: float = 3.5
    z_critical: float = 7.0
    mad_floor_fraction: float = 0.05
    volume_log_floor: float = 0.1
    min_history: int = 7
    min_same_weekday: int = 3
    history_runs: int = 56
    late_factor: float = 1.5
    late_critical_factor: float = 3.0
    psi_threshold: float = 0.25
    psi_critical: float = 1.0
    min_rows_for_drift: int = 200
    baseline_runs: int = 7
    max_categories: int = 20
    event_table_suffixes: tuple[str, ...] = ("_quarantine", "_rejected", "_deadletter")
    """Tables written only when something goes wrong: a long quiet spell is good news, not a freshness gap."""


@dataclass(frozen=True)
class ColumnProfile:
    """One column's profile in one run: nulls, distinct values, range, quantiles (numeric), top values."""

    column_name: str
    data_type: str
    null_count: int
    distinct_count: int
    min_value: str | None = None
    max_value: str | None = None
    quantiles: tuple[float, ...] | None = None
    top_values: tuple[tuple[str, int], ...] = ()

    @property
    def numeric(self) -> bool:
        """Whether the column's distribution is compared by quantiles (a decimal counts as numeric)."""
        return self.data_type in NUMERIC_TYPES or self.data_type.startswith("decimal")


@dataclass(frozen=True)
class Profile:
    """A table's profile in one run: the table-level facts and each column's profile."""

    tenant_id: str
    table_name: str
    run_id: str
    profiled_at: datetime
    table_version: int | None
    row_count: int
    rows_written: int
    columns: dict[str, ColumnProfile] = field(default_factory=dict)


@dataclass(frozen=True)
class Anomaly:
    """Something unusual about a table in one run, with the evidence: observed, expected, score and threshold."""

    kind: Kind
    table_name: str
    column_name: str | None
    severity: Severity
    score: float
    threshold: float
    observed: float
    expected: float
    method: str
    message: str

    @property
    def name(self) -> str:
        """Unique per table and run: the kind, and the column for drift."""
        return f"{self.kind}_anomaly" + (f".{self.column_name}" if self.column_name else "")

    def details(self) -> str:
        """The evidence as JSON text (the ``details`` column of ops.dq_issue)."""
        return json.dumps(
            {
                "method": self.method,
                "score": round(self.score, 4),
                "threshold": self.threshold,
                "observed": self.observed,
                "expected": self.expected,
                "message": self.message,
            },
            sort_keys=True,
        )


# ------------------------------------------------------------------------------------------- statistics


def robust_z(
    value: float, reference: Sequence[float], floor_fraction: float = 0.05, floor: float = 1e-9
) -> tuple[float, float, float]:
    """(modified z-score of ``value``, reference median, robust scale): outliers in the history barely move it.

    The scale (MAD x 1.4826) is floored at ``floor_fraction`` of the median and at ``floor``: a history that
    happens to be flat would otherwise make any wobble infinitely unusual."""
    ref = np.asarray(reference, dtype=float)
    median = float(np.median(ref))
    mad = float(np.median(np.abs(ref - median)))
    scale = max(mad * MAD_TO_SIGMA, abs(median) * floor_fraction, floor)
    return (value - median) / scale, median, scale


def psi(expected: Sequence[float], actual: Sequence[float]) -> float:
    """Population stability index of two distributions over the same bins (each normalised to sum 1)."""
    e = np.clip(np.asarray(expected, dtype=float), 0, None)
    a = np.clip(np.asarray(actual, dtype=float), 0, None)
    if e.sum() <= 0 or a.sum() <= 0:
        return 0.0
    e = np.maximum(e / e.sum(), _EPS)
    a = np.maximum(a / a.sum(), _EPS)
    return float(np.sum((a - e) * np.log(a / e)))


def cdf_from_quantiles(
    x: Sequence[float], quantiles: Sequence[float], low: float | None, high: float | None
) -> npt.NDArray[np.float64]:
    """The CDF at ``x`` of a distribution known by its QUANTILE_PROBS quantiles and range (piecewise linear)."""
    points = sorted(
        {(float(v), p) for v, p in zip(quantiles, QUANTILE_PROBS, strict=True)}
        | ({(low, 0.0)} if low is not None else set())
        | ({(high, 1.0)} if high is not None else set())
    )
    xs: list[float] = []
    ps: list[float] = []
    for v, p in points:  # equal values (a heavy value): the CDF jumps there; keep the top of the jump
        if xs and v == xs[-1]:
            ps[-1] = max(ps[-1], p)
        else:
            xs.append(v)
            ps.append(max(p, ps[-1]) if ps else p)
    if low is None:
        xs.insert(0, xs[0] - 1e-9)
        ps.insert(0, 0.0)
    if high is None:
        xs.append(xs[-1] + 1e-9)
        ps.append(1.0)
    return np.interp(np.asarray(x, dtype=float), xs, ps, left=0.0, right=1.0)


def _float(text: str | None) -> float | None:
    try:
        return None if text is None else float(text)
    except ValueError:
        return None


# ------------------------------------------------------------------------------------------- history


def _earlier(current: Profile, history: Sequence[Profile], config: AnomalyConfig) -> list[Profile]:
    """The table's earlier profiles, oldest first, at most ``history_runs`` of them."""
    earlier = sorted(
        (p for p in history if p.table_name == current.table_name and p.profiled_at < current.profiled_at),
        key=lambda p: p.profiled_at,
    )
    return earlier[-config.history_runs :]


def _seasonal(
    at: datetime, values: Sequence[tuple[datetime, float]], config: AnomalyConfig
) -> tuple[list[float], str]:
    """The reference values for an instant: same weekday when there are enough, else all; and which it was."""
    same = [v for t, v in values if t.weekday() == at.weekday()]
    if len(same) >= config.min_same_weekday:
        return same, "same-weekday"
    return [v for _, v in values], "all-days"


def _score(
    value: float, reference: Sequence[float], basis: str, floor_fraction: float = 0.0, floor: float = 1e-9
) -> tuple[float, float, float]:
    """(score, expected, scale) of ``value``: robust z from the median on a same-weekday basis; on all days
    (too little history to see the weekly pattern) the distance past the nearest end of the reference range, so
    a weekly swing already seen in the history is not an anomaly."""
    z, median, scale = robust_z(value, reference, floor_fraction, floor)
    if basis == "same-weekday":
        return z, median, scale
    low, high = float(min(reference)), float(max(reference))
    nearest = min(max(value, low), high)
    return (value - nearest) / scale, (high if value > high else max(value, low)), scale


# ------------------------------------------------------------------------------------------- detectors


def detect_volume(current: Profile, history: Sequence[Profile], config: AnomalyConfig) -> Anomaly | None:
    """A volume drop or spike: rows written against the table's own (same-weekday) history."""
    earlier = _earlier(current, history, config)
    if len(earlier) < config.min_history:
        return None
    reference, basis = _seasonal(
        current.profiled_at, [(p.profiled_at, p.rows_written) for p in earlier], config
    )
    observed = float(current.rows_written)
    # volume varies multiplicatively (a busy day is +20 %, not +200 rows): score log(1 + rows)
    z, log_expected, _ = _score(
        math.log1p(observed), [math.log1p(v) for v in reference], basis, floor=config.volume_log_floor
    )
    median = math.expm1(log_expected)
    emptied = observed == 0 and min(reference) > 0
    if abs(z) < config.z_threshold and not emptied:
        return None
    critical = abs(z) >= config.z_critical or emptied
    direction = "drop" if z < 0 else "spike"
    return Anomaly(
        "volume",
        current.table_name,
        None,
        "critical" if critical else "warning",
        z,
        config.z_threshold,
        observed,
        median,
        f"modified z-score vs {basis} median of {len(reference)} runs",
        f"volume {direction}: {int(observed):,} rows written, expected about {median:,.0f} ({basis}, "
        f"z {z:+.1f})",
    )


def _gaps(earlier: Sequence[Profile]) -> list[tuple[datetime, float]]:
    """(arrival, hours since the previous arrival) of consecutive profiles."""
    return [
        (b.profiled_at, (b.profiled_at - a.profiled_at).total_seconds() / 3600)
        for a, b in itertools.pairwise(earlier)
    ]


def _late(
    table: str, at: datetime, gap_hours: float, gaps: list[tuple[datetime, float]], config: AnomalyConfig
) -> Anomaly | None:
    """A freshness anomaly when ``gap_hours`` is past the expected interval by more than the noise and by more
    than ``late_factor - 1`` of the table's usual cadence (the median of all its gaps)."""
    reference, basis = _seasonal(at, gaps, config)
    if basis == "all-days":  # the weekly pattern is not known yet: the longest usual gap is what to expect
        reference = [max(reference)]
    _z, expected, scale = robust_z(gap_hours, reference, config.mad_floor_fraction)
    cadence = float(np.median([g for _, g in gaps]))
    limit = max(expected + config.z_threshold * scale, expected + (config.late_factor - 1) * cadence)
    if gap_hours <= limit:
        return None
    critical = gap_hours >= expected + (config.late_critical_factor - 1) * cadence
    return Anomaly(
        "freshness",
        table,
        None,
        "critical" if critical else "warning",
        (gap_hours - expected) / cadence if cadence > 0 else math.inf,
        config.late_factor - 1,
        round(gap_hours, 3),
        round(expected, 3),
        f"gap vs {basis} expected interval of {len(reference)} writes (cadence {cadence:.1f} h)",
        f"late: {gap_hours:.1f} h since the previous write, expected about {expected:.1f} h (limit {limit:.1f} h)",
    )


def detect_freshness(current: Profile, history: Sequence[Profile], config: AnomalyConfig) -> Anomaly | None:
    """A freshness gap: the time since the table's previous write against its usual interval."""
    earlier = _earlier(current, history, config)
    if len(earlier) < config.min_history:
        return None
    gap = (current.profiled_at - earlier[-1].profiled_at).total_seconds() / 3600
    return _late(current.table_name, current.profiled_at, gap, _gaps(earlier), config)


def overdue(history: Sequence[Profile], now: datetime, config: AnomalyConfig | None = None) -> Anomaly | None:
    """Whether a table is late right now: the time since its last profiled write against its usual interval."""
    config = config or AnomalyConfig()
    earlier = sorted(history, key=lambda p: p.profiled_at)[-config.history_runs :]
    if len(earlier) < config.min_history:
        return None
    gap = (now - earlier[-1].profiled_at).total_seconds() / 3600
    return _late(earlier[-1].table_name, now, gap, _gaps(earlier), config)


def _numeric_bins(
    base: list[ColumnProfile], cur: ColumnProfile, base_rows: float, cur_rows: int
) -> tuple[list[float], list[float]] | None:
    """(baseline, current) mass in the baseline's decile bins plus a null bin, or None when not comparable."""
    sketches = [b for b in base if b.quantiles]
    if not sketches or not cur.quantiles:
        return None
    baseline_q = np.median(np.asarray([b.quantiles for b in sketches], dtype=float), axis=0)
    deciles = [baseline_q[QUANTILE_PROBS.index(p)] for p in (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)]
    edges = np.unique(np.asarray(deciles, dtype=float))

    def mass(q: Sequence[float], low: str | None, high: str | None, null_share: float) -> list[float]:
        cdf = cdf_from_quantiles(edges, q, _float(low), _float(high))
        inner = np.diff(np.concatenate([[0.0], cdf, [1.0]]))
        return [null_share, *(inner * (1 - null_share)).tolist()]

    base_null = float(np.median([b.null_count for b in base])) / base_rows if base_rows else 0.0
    lows = [_float(b.min_value) for b in sketches]
    highs = [_float(b.max_value) for b in sketches]
    low = (
        str(float(np.median([v for v in lows if v is not None])))
        if any(v is not None for v in lows)
        else None
    )
    high = (
        str(float(np.median([v for v in highs if v is not None])))
        if any(v is not None for v in highs)
        else None
    )
    expected = mass(baseline_q.tolist(), low, high, base_null)
    actual = mass(cur.quantiles, cur.min_value, cur.max_value, cur.null_count / cur_rows if cur_rows else 0.0)
    return expected, actual


def _categorical_bins(
    base: list[ColumnProfile], cur: ColumnProfile, base_rows: list[int], cur_rows: int, config: AnomalyConfig
) -> tuple[list[float], list[float]] | None:
    """(baseline, current) shares per value plus null and other, or None for a high-cardinality column."""
    if cur.distinct_count > config.max_categories or any(
        b.distinct_count > config.max_categories for b in base
    ):
        return None
    values = sorted({v for b in [*base, cur] for v, _ in b.top_values})

    def shares(p: ColumnProfile, rows: int) -> list[float]:
        counts = dict(p.top_values)
        known = [counts.get(v, 0) / rows for v in values]
        null = p.null_count / rows
        return [null, *known, max(0.0, 1 - null - sum(known))]

    per_run = np.asarray([shares(b, n) for b, n in zip(base, base_rows, strict=True) if n], dtype=float)
    if not len(per_run) or not cur_rows:
        return None
    # the median share per bin: one shifted run in the baseline does not make the runs after it look shifted
    return np.median(per_run, axis=0).tolist(), shares(cur, cur_rows)


def detect_drift(current: Profile, history: Sequence[Profile], config: AnomalyConfig) -> list[Anomaly]:
    """Columns whose distribution moved: PSI against the median of the last ``baseline_runs`` profiles."""
    earlier = _earlier(current, history, config)
    if len(earlier) < config.min_history or current.row_count < config.min_rows_for_drift:
        return []
    baseline = [p for p in earlier if p.row_count >= config.min_rows_for_drift][-config.baseline_runs :]
    if not baseline:
        return []
    found: list[Anomaly] = []
    for name, cur in sorted(current.columns.items()):
        past = [(p.columns[name], p.row_count) for p in baseline if name in p.columns]
        if len(past) < min(config.baseline_runs, len(baseline)):
            continue  # a column new in this run has no baseline yet
        base = [c for c, _ in past]
        rows = [n for _, n in past]
        if cur.numeric:
            bins = _numeric_bins(base, cur, float(np.median(rows)), current.row_count)
        else:
            bins = _categorical_bins(base, cur, rows, current.row_count, config)
        if bins is None:
            continue
        score = psi(*bins)
        if score < config.psi_threshold:
            continue
        found.append(
            Anomaly(
                "distribution",
                current.table_name,
                name,
                "critical" if score >= config.psi_critical else "warning",
                score,
                config.psi_threshold,
                round(score, 4),
                0.0,
                f"PSI vs the median of the last {len(base)} profiles ("
                + ("decile bins + null" if cur.numeric else "value shares + null + other")
                + ")",
                f"distribution of {name} shifted: PSI {score:.2f} (threshold {config.psi_threshold})",
            )
        )
    return found


def detect(
    current: Profile, history: Sequence[Profile], config: AnomalyConfig | None = None
) -> list[Anomaly]:
    """Every anomaly of ``current`` against the table's earlier profiles in ``history``."""
    config = config or AnomalyConfig()
    event_table = current.table_name.endswith(config.event_table_suffixes)
    freshness = None if event_table else detect_freshness(current, history, config)
    found = [a for a in (detect_volume(current, history, config), freshness) if a]
    return found + detect_drift(current, history, config)
