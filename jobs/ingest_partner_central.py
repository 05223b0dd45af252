"""Glue / spark-submit entry point: sync one tenant's Partner Central catalog into bronze.

    python jobs/ingest_partner_central.py --tenant-id acme [--run-id R] [--catalog AWS] [--since ISO]
        [--endpoint-url URL] [--role-arn ARN --external-id ID | --connector-directory python:pkg.mod:factory]
        [--rate-limit on|off] [--daily-budget N]
    # Glue: --JOB_NAME x --tenant_id acme --run_id R --catalog AWS --lakehouse_lake_root s3://...

Thin by design: arguments -> JobContext (lakehouse.jobs_runtime) -> ``lakehouse.partner_central.ingest.sync_partner_central``
(extract and load; bronze has no transform) -> exit code (0 succeeded or stopped at the daily budget, 1 failed).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from lakehouse.errors import BadInput
from lakehouse.jobs_runtime import JobContext, parse_job_args, run_job

if TYPE_CHECKING:
    from lakehouse.partner_central.ingest import IngestionRun

JOB_NAME = "ingest_partner_central"
EXTRA: dict[str, str | None] = {
    "catalog": "Sandbox",
    "since": None,
    "endpoint_url": None,
    "role_arn": None,
    "external_id": None,
    # python:pkg.module:factory of a lakehouse.linked_accounts.RoleDirectory: the tenant's own verified role
    "connector_directory": None,
    "sts_endpoint_url": None,
    "rate_limit": "on",
    "daily_budget": "100000",
    "land_batch": "2000",
}


@dataclass(frozen=True)
class SyncOptions:
    """The job's own arguments, validated and typed."""

    catalog: str
    since: datetime | None
    endpoint_url: str | None
    role_arn: str | None
    external_id: str | None
    sts_endpoint_url: str | None
    connector_directory: str | None
    rate_limit: bool
    daily_budget: int
    land_batch: int


def _int(name: str, text: str | None) -> int:
    try:
        value = int(text or "")
    except ValueError:
        raise BadInput(f"--{name.replace('_', '-')} must be a whole number, got {text!r}") from None
    if value <= 0:
        raise BadInput(f"--{name.replace('_', '-')} must be positive, got {value}")
    return value


def options(ctx: JobContext) -> SyncOptions:
    """Validate the job-specific arguments; BadInput names the offending one."""
    x = ctx.extra
    if x["catalog"] not in ("AWS", "Sandbox"):
        raise BadInput(f"--catalog must be AWS or Sandbox, got {x['catalog']!r}")
    if x["rate_limit"] not in ("on", "off"):
        raise BadInput(f"--rate-limit must be on or off, got {x['rate_limit']!r}")
    since = None
    if x["since"]:
        try:
            since = datetime.fromisoformat(x["since"])
        except ValueError:
            raise BadInput(f"--since must be an ISO-8601 timestamp, got {x['since']!r}") from None
        since = since if since.tzinfo else since.replace(tzinfo=UTC)
    return SyncOptions(
        catalog=x["catalog"],
        since=since,
        endpoint_url=x["endpoint_url"],
        role_arn=x["role_arn"],
        external_id=x["external_id"],
        sts_endpoint_url=x["sts_endpoint_url"],
        connector_directory=x["connector_directory"],
        rate_limit=x["rate_limit"] == "on",
        daily_budget=_int("daily_budget", x["daily_budget"]),
        land_batch=_int("land_batch", x["land_batch"]),
    )


def linked_role(ctx: JobContext, opts: SyncOptions) -> SyncOptions | str:
    """``opts`` with the tenant's own verified role from ``--connector_directory`` (an explicit ``--role-arn``
    wins), or the reason the tenant has none (the job then skips it rather than reading with another role)."""
    if opts.role_arn or not opts.connector_directory:
        return opts
    from dataclasses import replace

    from lakehouse.linked_accounts import PARTNER_CENTRAL
    from lakehouse.marketplace.runner import load_object

    role = load_object(opts.connector_directory).linked_role(ctx.tenant_id, PARTNER_CENTRAL)
    if isinstance(role, str):
        return role
    return replace(opts, role_arn=role.role_arn, external_id=role.external_id)


def run(ctx: JobContext, opts: SyncOptions) -> IngestionRun:
    """Build the reader and sync (imports here: nothing heavy happens at import time)."""
    from lakehouse.engine import get_spark
    from lakehouse.partner_central.connector import ConnectorConfig, PartnerCentralReader
    from lakehouse.partner_central.ingest import sync_partner_central

    config = ConnectorConfig(
        endpoint_url=opts.endpoint_url,
        role_arn=opts.role_arn,
        external_id=opts.external_id,
        sts_endpoint_url=(opts.sts_endpoint_url or opts.endpoint_url) if opts.role_arn else None,
        rate_per_second=10.0 if opts.rate_limit else None,
    )
    return sync_partner_central(
        get_spark(ctx.settings),
        ctx.scope,
        PartnerCentralReader.from_config(config),
        catalog=opts.catalog,
        since=opts.since,
        daily_call_budget=opts.daily_budget,
        land_batch=opts.land_batch,
        run_id=ctx.run_id,
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Sync one tenant; returns the exit code."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    ctx = parse_job_args(argv, job_name=JOB_NAME, extra=EXTRA)
    resolved = linked_role(ctx, options(ctx))
    if isinstance(resolved, str):
        # Visible in the job's log and its output; the tenant's later steps find no new bronze.
        print(
            json.dumps({"job": JOB_NAME, "tenant_id": ctx.tenant_id, "status": "skipped", "reason": resolved})
        )
        logging.getLogger(JOB_NAME).warning("tenant %s skipped: %s", ctx.tenant_id, resolved)
        return 0
    result = run(ctx, resolved)
    logging.getLogger(JOB_NAME).info(
        "run %s: %s, landed %d, duplicates %d, api calls %d, watermark %s -> %s",
        result.ingestion_run_id,
        result.status,
        result.landed,
        result.duplicates,
        result.api_calls,
        result.watermark_before,
        result.watermark_after,
    )
    return 1 if result.status == "failed" else 0


if __name__ == "__main__":
    run_job(main)
