"""Glue / spark-submit entry point: gold and silver -> platinum (embeddings, knowledge graph, features, scores).

    python jobs/platinum.py --tenant-id acme [--run-id R] [--as-of YYYY-MM-DD]
    # Glue: --JOB_NAME x --tenant_id acme --run_id R --lakehouse_embedder bedrock

Thin by design: arguments -> JobContext -> the platinum steps of ``lakehouse.platinum.steps`` (each extracts
what changed, transforms, checks its quality suite — a violated ``fail`` exits 3 — and loads through io).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from datetime import date

from lakehouse.errors import BadInput
from lakehouse.jobs_runtime import parse_job_args, run_job

JOB_NAME = "platinum"


def _as_of(text: str | None) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise BadInput(f"--as-of must be a date (YYYY-MM-DD), got {text!r}") from None


def main(argv: Sequence[str] | None = None) -> int:
    """Run the platinum steps for one tenant; returns the exit code."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    ctx = parse_job_args(argv, job_name=JOB_NAME, extra={"as_of": None})
    from lakehouse.engine import get_spark
    from lakehouse.partner_central.pipeline import run_platinum

    outcomes = run_platinum(
        get_spark(ctx.settings), ctx.tenant_id, run_id=ctx.run_id, as_of=_as_of(ctx.extra["as_of"])
    )
    for outcome in outcomes:
        print(
            json.dumps(
                {
                    "job": outcome.job_name,
                    "tenant_id": outcome.tenant_id,
                    "run_id": outcome.run_id,
                    "status": outcome.status,
                    "counts": outcome.counts,
                },
                sort_keys=True,
                default=str,
            )
        )
    return 0


if __name__ == "__main__":
    run_job(main)
