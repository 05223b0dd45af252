"""Anomaly detection on injected anomalies: precision and recall of lakehouse.quality.anomaly.

Generates daily histories of synthetic tables with normal variation — weekly seasonality (quiet weekends, busy
Mondays; some tables not written at weekends at all), lognormal volume noise, jittered arrival times, small
day-to-day wobble of every column's distribution — and plants anomalies after a warm-up: volume drops (20-50 %
of the usual rows), freshness gaps (one to three days without a write) and distribution shifts (a numeric
column's scale moves, a category takes over, a column's null rate jumps). Each day's rows are drawn with numpy and
profiled by ``profile_sample`` (the statistics ``lakehouse.quality.profile`` keeps, computed with numpy instead
of Spark, so the bench measures the detectors over thousands of runs in seconds; tests/quality/test_profile.py
checks the Spark profile itself). Every run is then checked against the table's own earlier profiles, as the
pipeline hook does.

Usage: ``python bench/dq_bench.py [--tables 40] [--days 84] [--seed 7]``. Deterministic for a seed.
"""

from __future__ import annotations

import argparse
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import numpy as np

from lakehouse.quality.anomaly import (
    QUANTILE_PROBS,
    AnomalyConfig,
    ColumnProfile,
    Profile,
    detect,
)

KINDS = ("volume", "freshness", "distribution")
START = datetime(2026, 1, 5, tzinfo=UTC)  # a Monday
WEEKDAY_FACTOR = (1.25, 1.0, 1.0, 1.0, 0.9, 0.35, 0.3)  # Monday busiest, weekends quiet
STAGES = ("Prospect", "Qualified", "Technical Validation", "Business Validation", "Committed", "Launched")
STAGE_P = np.array([0.3, 0.25, 0.15, 0.12, 0.1, 0.08])


@dataclass
class Day:
    """One generated write of one table: its profile and the anomalies planted in it."""

    profile: Profile
    planted: set[str] = field(default_factory=set)


def profile_sample(
    table: str, at: datetime, run: int, amount: np.ndarray, stage: np.ndarray, region_null: np.ndarray
) -> Profile:
    """The profile of one day's rows (numpy's quantiles and counts; what the Spark profile keeps)."""
    n = len(amount)
    values, counts = np.unique(stage, return_counts=True)
    top = tuple(
        sorted(((str(v), int(c)) for v, c in zip(values, counts, strict=True)), key=lambda vc: -vc[1])
    )
    nulls = int(region_null.sum())
    columns = {
        "amount": ColumnProfile(
            "amount",
            "double",
            0,
            n,
            str(float(amount.min())),
            str(float(amount.max())),
            tuple(float(q) for q in np.quantile(amount, QUANTILE_PROBS)),
        ),
        "stage": ColumnProfile("stage", "string", 0, len(values), min(values), max(values), None, top),
        "region": ColumnProfile(
            "region",
            "string",
            nulls,
            4,
            "eu",
            "us",
            None,
            (("us", (n - nulls) // 2), ("eu", (n - nulls) // 2)),
        ),
    }
    return Profile("bench", table, f"run-{run}", at, run, n, n, columns)


def generate(table: str, rng: np.random.Generator, days: int, warmup: int, rate: float) -> Iterator[Day]:
    """One table's daily writes with normal variation, anomalies planted at ``rate`` per day after ``warmup``."""
    base = float(rng.choice([400, 2_000, 10_000]))
    weekends = bool(rng.random() < 0.7)  # else the table is not written on Saturdays and Sundays
    hour = float(rng.uniform(1, 6))
    scale = float(rng.uniform(50, 5_000))
    gap_left = 0
    pending_gap = False
    run = 0
    for d in range(days):
        day = START + timedelta(days=d)
        if not weekends and day.weekday() >= 5:
            continue
        planted: set[str] = set()
        if gap_left:
            gap_left -= 1
            continue
        if pending_gap:
            planted.add("freshness")
            pending_gap = False
        anomalous = d >= warmup and rng.random() < rate
        kind = str(rng.choice(KINDS)) if anomalous else None
        if kind == "freshness":
            gap_left = int(rng.integers(1, 4))  # skip the next 1-3 scheduled writes; the write after is late
            pending_gap = True
            kind = None
        volume = base * WEEKDAY_FACTOR[day.weekday()] * float(rng.lognormal(0, 0.1))
        if kind == "volume":
            volume *= float(rng.uniform(0.2, 0.5))
            planted.add("volume")
        n = max(int(volume), 1)
        mu = np.log(scale) + float(rng.normal(0, 0.03))
        sigma = 0.6
        p = rng.dirichlet(STAGE_P * 400)
        null_rate = float(np.clip(rng.normal(0.02, 0.004), 0, 1))
        if kind == "distribution":
            planted.add("distribution")
            shift = str(rng.choice(["scale", "category", "nulls"]))
            if shift == "scale":
                mu += float(rng.choice([-1, 1])) * float(rng.uniform(0.6, 1.2))
            elif shift == "category":
                p = np.full(len(STAGES), 0.2 / (len(STAGES) - 1))
                p[int(rng.integers(len(STAGES)))] = 0.8
            else:
                null_rate = float(rng.uniform(0.3, 0.6))
        at = day + timedelta(hours=hour + float(rng.normal(0, 0.3)))
        amount = rng.lognormal(mu, sigma, n)
        stage = rng.choice(np.array(STAGES), size=n, p=p)
        region_null = rng.random(n) < null_rate
        run += 1
        yield Day(profile_sample(table, at, run, amount, stage, region_null), planted)


@dataclass
class Score:
    """Confusion counts per kind over every evaluated run."""

    tp: Counter[str] = field(default_factory=Counter)
    fp: Counter[str] = field(default_factory=Counter)
    fn: Counter[str] = field(default_factory=Counter)
    runs: int = 0
    quiet_runs: int = 0
    noisy_quiet_runs: int = 0

    def precision(self, kind: str) -> float:
        flagged = self.tp[kind] + self.fp[kind]
        return self.tp[kind] / flagged if flagged else 1.0

    def recall(self, kind: str) -> float:
        planted = self.tp[kind] + self.fn[kind]
        return self.tp[kind] / planted if planted else 1.0


def evaluate(
    tables: int = 40,
    days: int = 84,
    seed: int = 7,
    *,
    rate: float = 0.08,
    warmup: int = 21,
    config: AnomalyConfig | None = None,
) -> Score:
    """Generate ``tables`` histories and score the detectors on every run after the first week."""
    rng = np.random.default_rng(seed)
    score = Score()
    for t in range(tables):
        history: list[Profile] = []
        for day in generate(f"silver.bench_{t}", rng, days, warmup, rate):
            current = day.profile
            if (current.profiled_at - START).days >= 7:
                found = {a.kind for a in detect(current, history, config)}
                score.runs += 1
                for kind in KINDS:
                    if kind in day.planted and kind in found:
                        score.tp[kind] += 1
                    elif kind in day.planted:
                        score.fn[kind] += 1
                    elif kind in found:
                        score.fp[kind] += 1
                if not day.planted:
                    score.quiet_runs += 1
                    score.noisy_quiet_runs += bool(found)
            history.append(current)
    return score


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--tables", type=int, default=40)
    parser.add_argument("--days", type=int, default=84)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--rate", type=float, default=0.08, help="anomalies planted per table and day")
    args = parser.parse_args()
    started = time.perf_counter()
    score = evaluate(args.tables, args.days, args.seed, rate=args.rate)
    elapsed = time.perf_counter() - started
    print(
        f"{args.tables} tables x {args.days} days, seed {args.seed}: {score.runs} runs checked in {elapsed:.1f} s"
    )
    print(
        f"{'kind':<13} {'planted':>7} {'flagged':>7} {'TP':>5} {'FP':>5} {'FN':>5} {'precision':>9} {'recall':>7}"
    )
    for kind in KINDS:
        planted = score.tp[kind] + score.fn[kind]
        flagged = score.tp[kind] + score.fp[kind]
        print(
            f"{kind:<13} {planted:>7} {flagged:>7} {score.tp[kind]:>5} {score.fp[kind]:>5} {score.fn[kind]:>5} "
            f"{score.precision(kind):>9.3f} {score.recall(kind):>7.3f}"
        )
    print(
        f"runs without a planted anomaly: {score.quiet_runs}, of which flagged: {score.noisy_quiet_runs} "
        f"({score.noisy_quiet_runs / max(score.quiet_runs, 1):.2%})"
    )


if __name__ == "__main__":
    main()
