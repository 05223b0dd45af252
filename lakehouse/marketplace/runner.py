"""Orchestration shared by ``jobs/metering_hourly.py`` and ``lakehouse metering run``.

Providers are named by spec strings so the library never imports the control plane: ``file:PATH`` (JSON Lines
usage / JSON buyer links), ``python:package.module:attribute`` (an object, or a zero-argument factory, that
implements the interface — how the control plane plugs in its CostLedger, buyer links and approvals).
"""

from __future__ import annotations

import importlib
import inspect
import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, cast

from lakehouse.errors import BadInput, LakehouseError
from lakehouse.marketplace.interfaces import (
    ApprovalGate,
    BuyerDirectory,
    JsonFileBuyerDirectory,
    JsonLinesUsageSource,
    UsageSource,
    utc,
)
from lakehouse.marketplace.metering import MeteringConfig, MeteringResult, MeteringRun, ZeroUsagePolicy
from lakehouse.settings import get_settings

ENV_USAGE = "LAKEHOUSE_MARKETPLACE_USAGE_SOURCE"
ENV_BUYERS = "LAKEHOUSE_MARKETPLACE_BUYERS"
ENV_APPROVALS = "LAKEHOUSE_MARKETPLACE_APPROVALS"


class MeteringIncomplete(LakehouseError):
    """Some records are still pending after the run (throttling, network); the next run re-sends them."""

    exit_code = 1


def load_object(spec: str) -> Any:
    """``python:pkg.module:attr`` -> the attribute (called if it is a zero-argument factory)."""
    target = spec.removeprefix("python:")
    module_name, _, attr = target.partition(":")
    if not module_name or not attr:
        raise BadInput(f"provider spec {spec!r} must look like python:package.module:attribute")
    try:
        obj = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as exc:
        raise BadInput(f"cannot load provider {spec!r}: {exc}") from None
    return obj() if inspect.isclass(obj) or inspect.isfunction(obj) else obj


def _local(name: str) -> Path:
    settings = get_settings()
    if settings.is_s3:
        raise BadInput(f"the lake is on S3: name a provider for {name} (python:module:attr or file:PATH)")
    return Path(settings.lake_root) / "marketplace" / name


def usage_source(spec: str | None = None) -> UsageSource:
    """The usage source named by ``spec`` / $LAKEHOUSE_MARKETPLACE_USAGE_SOURCE (default: a local JSONL file)."""
    spec = spec or os.environ.get(ENV_USAGE)
    if not spec:
        return JsonLinesUsageSource(_local("usage.jsonl"))
    if spec.startswith("file:"):
        return JsonLinesUsageSource(spec.removeprefix("file:"))
    source: UsageSource = load_object(spec)
    return source


def buyer_directory(spec: str | None = None) -> BuyerDirectory:
    """The buyer links named by ``spec`` / $LAKEHOUSE_MARKETPLACE_BUYERS (default: a local JSON file)."""
    spec = spec or os.environ.get(ENV_BUYERS)
    if not spec:
        return JsonFileBuyerDirectory(_local("buyers.json"))
    if spec.startswith("file:"):
        return JsonFileBuyerDirectory(spec.removeprefix("file:"))
    directory: BuyerDirectory = load_object(spec)
    return directory


def approval_gate(spec: str | None = None) -> ApprovalGate | None:
    """The approvals service named by ``spec`` / $LAKEHOUSE_MARKETPLACE_APPROVALS, or None if none is set."""
    spec = spec or os.environ.get(ENV_APPROVALS)
    return load_object(spec) if spec else None


def parse_hour(text: str | None) -> datetime | None:
    """``2024-05-01T10`` / ``2024-05-01T10:00:00Z`` -> the aware UTC start of that hour."""
    if not text:
        return None
    value = text.strip().replace("Z", "+00:00")
    if len(value) == 13:
        value += ":00"
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise BadInput(f"--hour {text!r} is not an ISO-8601 hour (e.g. 2024-05-01T10:00Z)") from None
    return utc(moment).replace(minute=0, second=0, microsecond=0)


@dataclass(frozen=True)
class MeteringOptions:
    """Everything a metering run takes from its command line / job arguments."""

    hour: datetime | None = None
    usage_spec: str | None = None
    buyers_spec: str | None = None
    endpoint_url: str | None = None
    zero_usage: str = "skip"
    identify_by: str = "license"
    dimensions: tuple[str, ...] = ()
    run_id: str | None = None


def run_metering(
    spark: Any,
    tenant_id: str,
    options: MeteringOptions,
    *,
    sender: Any = None,
    clock: Callable[[], datetime] | None = None,
) -> tuple[MeteringResult, int]:
    """Meter one tenant (one hour, or every due hour) and rebuild its gold.marketplace_usage."""
    from lakehouse.marketplace.connector import MarketplaceConfig, MeteringSender
    from lakehouse.marketplace.sync import build_usage_gold

    try:
        zero = ZeroUsagePolicy(options.zero_usage)
    except ValueError:
        raise BadInput(f"--zero-usage must be skip or send, not {options.zero_usage!r}") from None
    identify_by = options.identify_by
    if identify_by not in ("license", "account", "legacy"):
        raise BadInput(f"--identify-by must be license, account or legacy, not {identify_by!r}")
    config = MeteringConfig(
        dimensions=frozenset(options.dimensions) or None,
        zero_usage=zero,
        identify_by=cast(Literal["license", "account", "legacy"], identify_by),
    )
    if sender is None:
        sender = MeteringSender.from_config(
            MarketplaceConfig(region=get_settings().aws_region, endpoint_url=options.endpoint_url)
        )
    run = MeteringRun(
        spark,
        usage=usage_source(options.usage_spec),
        buyers=buyer_directory(options.buyers_spec),
        sender=sender,
        config=config,
        clock=clock or (lambda: datetime.now(UTC)),
    )
    result = run.run(tenant_id, hours=[options.hour] if options.hour else None, run_id=options.run_id)
    gold_rows = (
        build_usage_gold(spark, tenant_id, run_id=result.run_id) if result.status != "nothing_to_do" else 0
    )
    return result, gold_rows
