"""Synthetic opportunity version histories with a known win propensity, for backtests, tests and the demo.

Like bench/pipeline_bench_data.py, creation dates spread over the period and deals move through the ACE stages;
unlike it, the outcome depends on the deal's attributes (industry, needs, solutions, spend) through a latent
propensity that also drives how fast it advances, so the stage carries some of the signal and the attributes
carry the rest: a useful model must beat the stage-only baseline, and a leaky one would look too good.
Every stage change is a version (``last_modified_at``), as silver's Delta history would hold it.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from lakehouse.partner_central.entities import silver

INDUSTRIES: dict[str, float] = {
    "Software and Internet": 0.6,
    "Financial Services": 0.2,
    "Healthcare": 0.0,
    "Retail": -0.3,
    "Manufacturing": -0.6,
    "Government": -1.0,
}
OPEN = [s for s in silver.STAGES if s not in silver.CLOSED_STAGES]


@dataclass(frozen=True)
class SyntheticTenant:
    """Version rows (silver.opportunity columns + expected_monthly_spend_usd) of one tenant."""

    tenant_id: str
    versions: list[dict[str, Any]]

    def current(self) -> list[dict[str, Any]]:
        """The latest version of each opportunity (what silver holds now)."""
        latest: dict[str, dict[str, Any]] = {}
        for v in self.versions:
            seen = latest.get(v["opportunity_id"])
            if seen is None or v["last_modified_at"] > seen["last_modified_at"]:
                latest[v["opportunity_id"]] = v
        return list(latest.values())


def generate(
    tenant_id: str, n: int, *, start: date = date(2023, 7, 1), end: date = date(2025, 7, 1), seed: int = 7
) -> SyntheticTenant:
    """``n`` opportunities created between ``start`` and ``end``; each changes stage every ~2 weeks until it
    closes or ``end`` comes."""
    rng = random.Random(seed)
    t0 = datetime(start.year, start.month, start.day)
    horizon = datetime(end.year, end.month, end.day)
    span = (horizon - t0).total_seconds()
    versions: list[dict[str, Any]] = []
    for i in range(n):
        industry = rng.choice(list(INDUSTRIES))
        needs = rng.randint(0, 4)
        solutions = rng.randint(0, 3)
        spend = round(math.exp(rng.gauss(8, 1.2)), 2)
        z = (
            -0.3
            + INDUSTRIES[industry]
            + 0.35 * (needs - 2)
            + 0.4 * (solutions - 1.5)
            - 0.35 * (math.log(spend) - 8)
        )
        z += rng.gauss(0, 0.5)
        quality = 1 / (1 + math.exp(-z))
        created = t0 + timedelta(seconds=rng.random() * span)
        base = {
            "tenant_id": tenant_id,
            "catalog": "AWS",
            "opportunity_id": f"O-{i:06d}",
            "created_at": created,
            "customer_industry": industry,
            "opportunity_type": rng.choice(["Net New Business", "Expansion"]),
            "project_delivery_models": rng.sample(
                ["SaaS or PaaS", "Managed Services", "Resell"], rng.randint(1, 2)
            ),
            "related_solution_ids": [f"S-{rng.randint(1, 12)}" for _ in range(solutions)],
            "related_aws_product_ids": [f"P-{rng.randint(1, 30)}" for _ in range(rng.randint(0, 3))],
            "primary_needs_from_aws": [f"Need {k}" for k in range(needs)],
            "expected_monthly_spend_usd": spend,
        }
        target = (created + timedelta(days=rng.randint(60, 200))).date()

        def version(stage: str, at: datetime, close: date, base: dict[str, Any] = base) -> None:
            versions.append({**base, "stage": stage, "last_modified_at": at, "target_close_date": close})

        stage_i, at = 0, created
        version(OPEN[0], at, target)
        lose, advance = 0.01 + 0.08 * (1 - quality), 0.5 * quality
        while True:
            at += timedelta(days=rng.expovariate(1 / 14))
            if at >= horizon:
                break
            r = rng.random()
            if r < lose:
                version(silver.LOST_STAGE, at, at.date())
                break
            if r < lose + advance:
                stage_i += 1
                if stage_i == len(OPEN):
                    version(silver.WON_STAGE, at, at.date())
                    break
                version(OPEN[stage_i], at, target)
            elif rng.random() < 0.3:  # a touch without a stage change
                version(OPEN[stage_i], at, target)
    return SyntheticTenant(tenant_id, versions)


def utc_naive(moment: datetime) -> datetime:
    """``moment`` as a naive UTC datetime (how Spark hands back timestamps here)."""
    return moment.astimezone(UTC).replace(tzinfo=None) if moment.tzinfo else moment
