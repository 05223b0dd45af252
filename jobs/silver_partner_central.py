"""Glue / spark-submit entry point: bronze -> silver for Partner Central, one tenant.

    python jobs/silver_partner_central.py --tenant-id acme [--run-id R]
    # Glue: --JOB_NAME x --tenant_id acme --run_id R [--lakehouse_lake_root s3://bucket/lake]

Thin by design: arguments -> JobContext -> extract (bronze past the watermark) -> transform (parse, type,
redact, latest version) -> check (quality gates; a violated ``fail`` exits 3 and promotes nothing) -> load
(MERGE into silver, quality records, lineage, watermark).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence

from lakehouse.jobs_runtime import parse_job_args, run_job
from lakehouse.partner_central import pipeline

JOB_NAME = pipeline.SILVER_JOB


def main(argv: Sequence[str] | None = None) -> int:
    """Run the silver step for one tenant; returns the exit code."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    ctx = parse_job_args(argv, job_name=JOB_NAME)
    from lakehouse.engine import get_spark

    rc = pipeline.RunContext.create(
        get_spark(ctx.settings), ctx.tenant_id, job_name=JOB_NAME, run_id=ctx.run_id
    )
    with pipeline.step_run(rc):
        extracted = pipeline.extract_silver(rc)
        if extracted.empty:
            outcome = pipeline.StepOutcome(JOB_NAME, rc.tenant_id, rc.run_id, "nothing_new")
        else:
            batch = pipeline.transform_silver(rc, extracted)
            checked = pipeline.check_silver(rc, batch)
            outcome = pipeline.load_silver(rc, checked)
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


if __name__ == "__main__":
    run_job(main)
