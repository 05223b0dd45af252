"""Compute a metric for one tenant through the semantic layer (the Arrow path: delta-rs + DuckDB, no Spark)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from control_plane.errors import BadRequest, NotFound
from control_plane.metrics.schemas import MetricResult
from lakehouse import metrics
from lakehouse.metrics import MetricFilter


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
