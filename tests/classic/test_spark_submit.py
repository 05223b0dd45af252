"""A job runs through `spark-submit` on classic Spark (no Delta jars) on its pure steps."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

pytestmark = pytest.mark.classic
ROOT = Path(__file__).resolve().parents[2]

OPPORTUNITIES = [  # (tenant, id, stage, target_close_date, review_status)
    ("acme", "O1", "Prospect", "2026-07-15", "Approved"),
    ("acme", "O2", "Launched", "2026-05-01", "Approved"),
    ("acme", "O3", "Closed Lost", None, "Action Required"),
    ("acme", "O4", "Qualified", "2026-05-20", "Action Required"),
    ("globex", "G1", "Prospect", "2026-07-15", "Approved"),
]
SPEND = [  # (tenant, opportunity, amount, currency, frequency)
    ("acme", "O1", "100.50", "USD", "Monthly"),
    ("acme", "O1", "20", "EUR", "Monthly"),
    ("acme", "O4", "50", "USD", "Monthly"),
    ("acme", "O4", "999", "USD", "Annual"),
    ("acme", "O2", "10", "USD", "Monthly"),
    ("globex", "G1", "7", "USD", "Monthly"),
]
AS_OF = "2026-06-01"


def expected(tenant: str) -> dict[str, list[dict]]:
    """The marts' definitions, computed in plain Python."""
    opps = [o for o in OPPORTUNITIES if o[0] == tenant]
    usd = {}
    for t, opp, amount, currency, frequency in SPEND:
        if t == tenant and currency == "USD" and frequency == "Monthly":
            usd[opp] = usd.get(opp, Decimal(0)) + Decimal(amount)
    pipeline: dict[tuple, list] = {}
    for _, oid, stage, close, _ in opps:
        key = (stage, close[:7] if close else None)
        count, spend = pipeline.get(key, (0, Decimal(0)))
        pipeline[key] = (count + 1, spend + usd.get(oid, Decimal(0)))
    won = sum(o[2] == "Launched" for o in opps)
    lost = sum(o[2] == "Closed Lost" for o in opps)
    health: dict[str, list[int]] = {}
    for _, _, stage, close, review in opps:
        row = health.setdefault(review, [0, 0, 0])
        row[0] += 1
        row[1] += bool(close and close < AS_OF and stage not in ("Launched", "Closed Lost"))
        row[2] += review == "Action Required"
    return {
        "gold.ace_pipeline": sorted(
            [
                {"stage": s, "target_close_month": m, "opportunity_count": c, "expected_monthly_spend_usd": v}
                for (s, m), (c, v) in pipeline.items()
            ],
            key=repr,
        ),
        "gold.ace_win_rate": [
            {
                "won_count": won,
                "lost_count": lost,
                "open_count": len(opps) - won - lost,
                "win_rate": won / (won + lost),
            }
        ],
        "gold.ace_pipeline_health": sorted(
            [
                {"review_status": r, "opportunity_count": c, "stale_count": st, "action_required_count": a}
                for r, (c, st, a) in health.items()
            ],
            key=repr,
        ),
    }


def read_mart(path: Path, columns: list[str]) -> list[dict]:
    rows = [json.loads(line) for f in sorted(path.glob("part-*.json")) for line in f.read_text().splitlines()]
    out = []
    for r in rows:
        assert r.get("tenant_id") == "acme"
        row = {c: r.get(c) for c in columns}
        if "expected_monthly_spend_usd" in row:
            row["expected_monthly_spend_usd"] = Decimal(str(row["expected_monthly_spend_usd"])).quantize(
                Decimal("0.01")
            )
        out.append(row)
    return sorted(out, key=repr)


def test_gold_job_runs_under_spark_submit_on_its_pure_steps(tmp_path):
    inp, out = tmp_path / "in", tmp_path / "out"
    inp.mkdir()
    with open(inp / "silver.opportunity.jsonl", "w") as f:
        f.writelines(
            json.dumps(
                {
                    "tenant_id": tenant,
                    "catalog": "AWS",
                    "opportunity_id": oid,
                    "stage": stage,
                    "target_close_date": close,
                    "review_status": review,
                }
            )
            + "\n"
            for tenant, oid, stage, close, review in OPPORTUNITIES
        )
    with open(inp / "silver.opportunity_spend.jsonl", "w") as f:
        f.writelines(
            json.dumps(
                {
                    "tenant_id": tenant,
                    "catalog": "AWS",
                    "opportunity_id": oid,
                    "spend_index": i,
                    "amount": float(amount),
                    "currency_code": currency,
                    "frequency": frequency,
                }
            )
            + "\n"
            for i, (tenant, oid, amount, currency, frequency) in enumerate(SPEND)
        )
    bindir = Path(sys.executable).parent
    env = {
        **os.environ,
        "PYSPARK_PYTHON": sys.executable,
        "PYSPARK_DRIVER_PYTHON": sys.executable,
        "LAKEHOUSE_LAKE_ROOT": str(tmp_path / "lake"),
    }
    env.pop("SPARK_HOME", None)

    proc = subprocess.run(
        [
            str(bindir / "spark-submit"),
            "--master",
            "local[2]",
            "--conf",
            "spark.ui.enabled=false",
            "--conf",
            "spark.sql.session.timeZone=UTC",
            "--conf",
            "spark.driver.bindAddress=127.0.0.1",
            str(ROOT / "jobs" / "gold_ace.py"),
            "--JOB_NAME",
            "gold_ace",
            "--tenant_id",
            "acme",
            "--run_id",
            "submit-1",
            "--as_of",
            AS_OF,
            "--pure_input",
            str(inp),
            "--pure_output",
            str(out),
            "--lakehouse_engine",
            "classic",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )

    assert proc.returncode == 0, proc.stderr[-4000:]
    summary = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    assert json.loads(summary[-1])["mode"] == "pure"
    want = expected("acme")
    for mart, rows in want.items():
        assert read_mart(out / mart, list(rows[0])) == rows, mart
    assert not (tmp_path / "lake").exists()  # the pure steps touch no lake
