"""Request parsing and response bodies of the metrics routes."""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, Field

from control_plane.errors import BadRequest
from lakehouse.metrics import MetricDefinition, MetricFilter

# query-string operators (URL-safe names) -> the semantic layer's operators
FILTER_OPS: dict[str, str] = {
    "eq": "=",
    "ne": "!=",
    "lt": "<",
    "le": "<=",
    "gt": ">",
    "ge": ">=",
    "in": "in",
    "not_in": "not in",
    "is_null": "is null",
    "not_null": "not null",
}
FILTER_PATTERN = r"^[a-z][a-z0-9_]{0,62}:(" + "|".join(FILTER_OPS) + r")(:.*)?$"


class MetricOut(BaseModel):
    """A metric's definition as the API lists it."""

    name: str
    version: int
    label: str
    description: str
    owner: str
    model: str
    table: str
    grain: str
    dimensions: list[str]
    required_dimensions: list[str]
    filters: list[str]
    format: str
    classification: str

    @classmethod
    def of(cls, metric: MetricDefinition, table: str) -> MetricOut:
        """The listed form of ``metric`` (its source table resolved from the model)."""
        return cls(
            **metric.model_dump(
                include={
                    "name",
                    "version",
                    "label",
                    "description",
                    "owner",
                    "model",
                    "grain",
                    "format",
                    "classification",
                }
            ),
            table=table,
            dimensions=list(metric.dimensions),
            required_dimensions=list(metric.required_dimensions),
            filters=list(metric.filters),
        )


class MetricResult(BaseModel):
    """One metric for one tenant: a row per combination of the dimensions (``value`` when not grouped)."""

    tenant_id: str
    metric: str
    version: int
    format: str
    dimensions: list[str]
    rows: list[dict[str, Any]] = Field(description="dimension values and the metric, under its name")
    value: float | int | None = Field(None, description="the figure when the result has no dimension")


def parse_filter(text: str) -> MetricFilter:
    """``column:op[:value]`` (``in`` / ``not_in`` take comma-separated values) as a MetricFilter."""
    if not re.fullmatch(FILTER_PATTERN, text, flags=re.DOTALL):
        raise BadRequest(f"filter {text!r} is not column:op[:value] (op one of {', '.join(FILTER_OPS)})")
    column, _, rest = text.partition(":")
    op, _, value = rest.partition(":")
    if op not in FILTER_OPS:
        raise BadRequest(f"filter {text!r}: unknown operator {op!r}; one of {', '.join(FILTER_OPS)}")
    semantic = FILTER_OPS[op]
    if semantic in ("is null", "not null"):
        return MetricFilter(column=column, op=semantic)
    if not value:
        raise BadRequest(f"filter {text!r}: {op} needs a value (column:{op}:value)")
    parsed: Any = tuple(v for v in value.split(",")) if semantic in ("in", "not in") else value
    try:
        return MetricFilter(column=column, op=semantic, value=parsed)
    except ValueError as exc:
        raise BadRequest(f"filter {text!r}: {exc}") from None
