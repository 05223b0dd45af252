"""Compute a metric for one tenant through the semantic layer (the Arrow path: delta-rs + DuckDB, no Spark)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from control_plane.audit.service import audit_log, record
from control_plane.context import RequestContext
from control_plane.errors import BadRequest, NotFound
from control_plane.metrics.schemas import MetricResult
from lakehouse import metrics
from lakehouse.metrics import MetricFilter

METRIC_READ = "metrics.read"


def _json_value(value: Any) -> Any:
    """A result cell as JSON: decimals as numbers, dates as ISO text, NaN/NA as null."""
    if value is None:
        return None
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    try:
        import pandas as pd

        if value is pd.NA or value is pd.NaT:
            return None
    except ImportError:  # pragma: no cover - pandas is a dependency
        pass
    return value


def get_metric(name: str) -> metrics.MetricDefinition:
    """The metric definition, or 404."""
    try:
        return metrics.get(name)
    except metrics.UnknownMetric as exc:
        raise NotFound(str(exc)) from None


def audit_cross_tenant_read(db: Session, ctx: RequestContext, tenant_id: str, name: str) -> None:
    """Audit a read of another tenant's metric (platform admins, admins of a parent tenant), as the dashboards'
    tenant switch is; a read of one's own tenant is not recorded. Commits."""
    principal = ctx.principal
    if not principal.is_platform and principal.tenant_id == tenant_id:
        return
    record(
        db,
        actor=principal.actor,
        action=METRIC_READ,
        tenant_id=tenant_id,
        resource=f"tenant/{tenant_id}/metrics/{name}",
        reason=ctx.reason or "metric read across tenants",
        request_id=ctx.request_id,
    )
    db.commit()
    audit_log.warning(
        "metrics: %s (%s) reads %s of tenant %s", principal.subject, principal.role, name, tenant_id
    )


def compute(
    *, tenant_id: str, name: str, dimensions: Sequence[str], filters: Sequence[MetricFilter]
) -> MetricResult:
    """The metric for the tenant, grouped by ``dimensions``; bad dimensions or filters are 400."""
    definition = get_metric(name)
    try:
        frame = metrics.compute(name, tenant_id, dimensions, filters, engine="arrow")
    except metrics.MetricQueryError as exc:
        raise BadRequest(str(exc)) from None
    columns = list(frame.columns)
    rows = [
        {c: _json_value(v) for c, v in zip(columns, record, strict=True)}
        for record in frame.itertuples(index=False, name=None)
    ]
    grouped = [c for c in columns if c != name]
    value = rows[0][name] if not grouped and len(rows) == 1 else None
    return MetricResult(
        tenant_id=tenant_id,
        metric=name,
        version=definition.version,
        format=definition.format,
        dimensions=grouped,
        rows=rows,
        value=value,
    )
