"""Glue / spark-submit entry point: sync one tenant's Partner Central catalog into bronze.

    python jobs/ingest_partner_central.py --tenant-id acme [--run-id R] [--catalog AWS] [--since ISO]
    # Glue passes --JOB_NAME and --tenant_id style arguments; both spellings are accepted.

Thin by design: arguments -> frozen JobContext -> ``lakehouse.ingest.sync_partner_central`` (extract and load;
bronze has no transform) -> exit code (0 succeeded or stopped at the daily budget, 1 failed).
"""
from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from lakehouse.ingest import IngestionRun


@dataclass(frozen=True)
class JobContext:
    """Everything the job needs, parsed once."""

    tenant_id: str
    run_id: str | None
    catalog: str
    since: datetime | None
    endpoint_url: str | None
    role_arn: str | None
    external_id: str | None
    sts_endpoint_url: str | None
    rate_limit: bool
    daily_budget: int
    land_batch: int
    job_name: str | None


def parse_args(argv: Sequence[str] | None = None) -> JobContext:
    """Parse CLI / Glue arguments (unknown Glue arguments such as --TempDir are ignored)."""
    p = argparse.ArgumentParser(prog="ingest_partner_central", description=__doc__.splitlines()[0])
    p.add_argument("--tenant-id", "--tenant_id", dest="tenant_id", required=True)
    p.add_argument("--run-id", "--run_id", dest="run_id")
    p.add_argument("--JOB_NAME", dest="job_name")
    p.add_argument("--catalog", default="Sandbox", choices=("AWS", "Sandbox"))
    p.add_argument("--since")
    p.add_argument("--endpoint-url", "--endpoint_url", dest="endpoint_url")
    p.add_argument("--role-arn", "--role_arn", dest="role_arn")
    p.add_argument("--external-id", "--external_id", dest="external_id")
    p.add_argument("--sts-endpoint-url", "--sts_endpoint_url", dest="sts_endpoint_url")
    p.add_argument("--no-rate-limit", "--no_rate_limit", dest="rate_limit", action="store_false")
    p.add_argument("--daily-budget", "--daily_budget", dest="daily_budget", type=int, default=100_000)
    p.add_argument("--land-batch", "--land_batch", dest="land_batch", type=int, default=2000)
    args, _unknown = p.parse_known_args(argv)
    since = None
    if args.since:
        since = datetime.fromisoformat(args.since)
        since = since if since.tzinfo else since.replace(tzinfo=UTC)
    return JobContext(args.tenant_id, args.run_id, args.catalog, since, args.endpoint_url, args.role_arn,
                      args.external_id, args.sts_endpoint_url, args.rate_limit, args.daily_budget, args.land_batch,
                      args.job_name)


def run(ctx: JobContext) -> IngestionRun:
    """Build the reader and sync (imports here: nothing heavy happens at import time)."""
    from lakehouse.connectors.partner_central import ConnectorConfig, PartnerCentralReader
    from lakehouse.engine import get_spark
    from lakehouse.ingest import sync_partner_central
    from lakehouse.tenancy import TenantScope

    config = ConnectorConfig(
        endpoint_url=ctx.endpoint_url, role_arn=ctx.role_arn, external_id=ctx.external_id,
        sts_endpoint_url=(ctx.sts_endpoint_url or ctx.endpoint_url) if ctx.role_arn else None,
        rate_per_second=10.0 if ctx.rate_limit else None,
    )
    return sync_partner_central(
        get_spark(), TenantScope.for_tenant(ctx.tenant_id), PartnerCentralReader.from_config(config),
        catalog=ctx.catalog, since=ctx.since, daily_call_budget=ctx.daily_budget, land_batch=ctx.land_batch,
        run_id=ctx.run_id,
    )


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    ctx = parse_args(argv)
    result = run(ctx)
    logging.getLogger("ingest_partner_central").info(
        "run %s: %s, landed %d, duplicates %d, api calls %d, watermark %s -> %s",
        result.ingestion_run_id, result.status, result.landed, result.duplicates, result.api_calls,
        result.watermark_before, result.watermark_after)
    return 1 if result.status == "failed" else 0


if __name__ == "__main__":
    sys.exit(main())
