"""Glue / spark-submit entry point: silver -> gold ACE marts for one tenant.

    python jobs/gold_ace.py --tenant-id acme [--run-id R] [--as-of YYYY-MM-DD]
    # Glue: --JOB_NAME x --tenant_id acme --run_id R [--as_of 2025-06-01]

Thin by design: arguments -> JobContext -> ``pipeline.run_gold``: extract (silver at pinned versions; nothing when
gold is current) -> transform (the ACE and Selling marts) -> check (quality gates; a violated ``fail`` exits 3
and promotes nothing) -> load (the tenant's partition of each changed mart, quality records, lineage, watermark).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from datetime import date

from lakehouse.errors import BadInput
from lakehouse.jobs_runtime import parse_job_args, run_job
from lakehouse.partner_central import pipeline

JOB_NAME = pipeline.GOLD_JOB


def _as_of(text: str | None) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise BadInput(f"--as-of must be a date (YYYY-MM-DD), got {text!r}") from None


def main(argv: Sequence[str] | None = None) -> int:
    """Run the gold step for one tenant; returns the exit code."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    ctx = parse_job_args(
        argv, job_name=JOB_NAME, extra={"as_of": None, "pure_input": None, "pure_output": None}
    )
    as_of = _as_of(ctx.extra["as_of"])
    from lakehouse.engine import get_spark

    if ctx.extra["pure_input"]:
        return run_pure(
            get_spark(ctx.settings),
            ctx.tenant_id,
            as_of or date.today(),
            ctx.extra["pure_input"],
            ctx.extra["pure_output"],
        )

    rc = pipeline.RunContext.create(
        get_spark(ctx.settings), ctx.tenant_id, job_name=JOB_NAME, run_id=ctx.run_id, as_of=as_of
    )
    outcome = pipeline.run_gold(rc)  # the ACE marts, the Selling marts, quality, lineage, profiles
    print(
        json.dumps(
            {
                "job": JOB_NAME,
                "tenant_id": outcome.tenant_id,
                "run_id": outcome.run_id,
                "status": outcome.status,
                "counts": outcome.counts,
            },
            sort_keys=True,
        )
    )
    return 0


def run_pure(spark, tenant_id: str, as_of: date, input_dir: str, output_dir: str | None) -> int:
    """The pure steps only: silver JSON Lines in, the three marts out as JSON; no Delta, no lake.

    ``input_dir`` holds ``silver.opportunity.jsonl`` and ``silver.opportunity_spend.jsonl``, read with the
    declared schemas. This is how the job runs on classic Spark without Delta's jars (``spark-submit``).
    """
    from pyspark.sql import functions as F

    from lakehouse import catalog
    from lakehouse.partner_central.transforms import gold as gold_ace

    if not output_dir:
        raise BadInput("--pure-input needs --pure-output")

    def silver(name: str):
        td = catalog.get(f"silver.{name}")
        df = spark.read.schema(td.schema).json(f"{input_dir}/{td.qualified_name}.jsonl")
        return df.where(F.col("tenant_id") == F.lit(tenant_id))

    opportunity, spend = silver("opportunity"), silver("opportunity_spend")
    marts = {
        "gold.ace_pipeline": gold_ace.ace_pipeline(opportunity, spend),
        "gold.ace_win_rate": gold_ace.ace_win_rate(opportunity),
        "gold.ace_pipeline_health": gold_ace.ace_pipeline_health(opportunity, as_of=as_of),
    }
    for name, df in marts.items():
        df.coalesce(1).write.mode("overwrite").json(f"{output_dir}/{name}")
    print(json.dumps({"job": JOB_NAME, "tenant_id": tenant_id, "mode": "pure", "marts": sorted(marts)}))
    return 0


if __name__ == "__main__":
    run_job(main)
