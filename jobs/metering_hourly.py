"""Hourly Marketplace metering for one tenant: ledger usage -> BatchMeterUsage -> silver/gold.

    python jobs/metering_hourly.py --tenant-id acme [--run-id R] [--hour 2024-05-01T10:00Z]
        [--usage-source python:control_plane.ledger:usage_source] [--buyers python:...] [--endpoint-url URL]
        [--zero-usage skip|send] [--identify-by license|account|legacy] [--dimensions a,b,c]

Glue passes the same arguments as ``--usage_source ...``. A run that leaves records pending exits 1 (the next
run re-sends them identically, so Step Functions may simply retry).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

EXTRA = {
    "hour": None,
    "usage_source": None,
    "buyers": None,
    "endpoint_url": None,
    "zero_usage": "skip",
    "identify_by": "license",
    "dimensions": None,
}


def main(argv: Sequence[str] | None = None) -> int:
    from lakehouse.engine import get_spark
    from lakehouse.jobs_runtime import parse_job_args
    from lakehouse.marketplace.runner import MeteringIncomplete, MeteringOptions, parse_hour, run_metering

    ctx = parse_job_args(argv, extra=EXTRA, job_name="metering_hourly")
    x = ctx.extra
    options = MeteringOptions(
        hour=parse_hour(x["hour"]),
        usage_spec=x["usage_source"],
        buyers_spec=x["buyers"],
        endpoint_url=x["endpoint_url"],
        zero_usage=x["zero_usage"] or "skip",
        identify_by=x["identify_by"] or "license",
        dimensions=tuple(d.strip() for d in (x["dimensions"] or "").split(",") if d.strip()),
        run_id=ctx.run_id,
    )
    result, gold_rows = run_metering(get_spark(), ctx.tenant_id, options)
    print(result.summary())
    print(f"gold.marketplace_usage: {gold_rows} row(s)")
    if result.status == "incomplete":
        raise MeteringIncomplete(f"{result.still_pending} record(s) still pending; re-run to re-send them")
    return 0


if __name__ == "__main__":
    from lakehouse.jobs_runtime import run_job

    run_job(main, sys.argv[1:])
