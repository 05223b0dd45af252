"""KPIs the gateway serves, read from the gold marts of one tenant.

The semantic layer (``lakehouse.metrics``) is not in this branch yet, so each KPI here names the mart column it
is read from and how the mart's rows add up; the gateway asks the PDP for the highest classification among
those columns before it reads them. When the semantic layer lands, ``definitions`` and ``compute`` become thin
calls into it and the GraphQL types stay the same.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from control_plane.graphql.lake import read_tenant
from lakehouse.catalog import CLASSIFICATIONS, TableDef
from lakehouse.partner_central.entities.gold import ACE_PIPELINE, ACE_PIPELINE_HEALTH, ACE_WIN_RATE


@dataclass(frozen=True)
class MetricDefinition:
    """One KPI: where its value is read from, how rows combine, and the dimensions it can be split by."""

    name: str
    description: str
    table: TableDef
    column: str
    aggregation: str  # "sum" over the mart's rows, or "single" (the mart has one row per tenant)
    dimensions: tuple[str, ...]
    format: str  # "count", "ratio" or "usd"

    @property
    def classification(self) -> str:
        """The most restrictive classification among the columns the metric reads."""
        levels = [self.table.classification[c] for c in (self.column, *self.dimensions)]
        return max(levels, key=CLASSIFICATIONS.index)


DEFINITIONS: tuple[MetricDefinition, ...] = (
    MetricDefinition(
        "win_rate",
        "Won / (won + lost) current opportunities; null when nothing is closed.",
        ACE_WIN_RATE,
        "win_rate",
        "single",
        (),
        "ratio",
    ),
    MetricDefinition(
        "won_opportunities",
        "Current opportunities in stage Launched.",
        ACE_WIN_RATE,
        "won_count",
        "single",
        (),
        "count",
    ),
    MetricDefinition(
        "lost_opportunities",
        "Current opportunities in stage Closed Lost.",
        ACE_WIN_RATE,
        "lost_count",
        "single",
        (),
        "count",
    ),
    MetricDefinition(
        "open_opportunities",
        "Current opportunities neither Launched nor Closed Lost.",
        ACE_WIN_RATE,
        "open_count",
        "single",
        (),
        "count",
    ),
    MetricDefinition(
        "pipeline_opportunities",
        "Current opportunities, by stage and target close month.",
        ACE_PIPELINE,
        "opportunity_count",
        "sum",
        ("stage", "target_close_month"),
        "count",
    ),
    MetricDefinition(
        "expected_monthly_spend_usd",
        "Sum of USD monthly ExpectedCustomerSpend of current opportunities.",
        ACE_PIPELINE,
        "expected_monthly_spend_usd",
        "sum",
        ("stage", "target_close_month"),
        "usd",
    ),
    MetricDefinition(
        "stale_opportunities",
        "Open opportunities whose target close date has passed, by review status.",
        ACE_PIPELINE_HEALTH,
        "stale_count",
        "sum",
        ("review_status",),
        "count",
    ),
    MetricDefinition(
        "action_required_opportunities",
        "Opportunities whose review status is Action Required.",
        ACE_PIPELINE_HEALTH,
        "action_required_count",
        "sum",
        ("review_status",),
        "count",
    ),
)
_BY_NAME = {d.name: d for d in DEFINITIONS}


class UnknownMetric(KeyError):
    """A metric name that is not defined."""


class UnknownDimension(ValueError):
    """A dimension the metric cannot be split by."""


def get(name: str) -> MetricDefinition:
    """The definition of ``name``; UnknownMetric names the defined ones."""
    try:
        return _BY_NAME[name]
    except KeyError:
        raise UnknownMetric(f"unknown metric {name!r}; defined: {', '.join(sorted(_BY_NAME))}") from None


def compute(
    lake_root: str, definition: MetricDefinition, tenant_id: str, by: tuple[str, ...] = ()
) -> list[tuple[dict[str, str | None], float | None]]:
    """(dimension values, value) rows of the metric for one tenant, sorted by the dimension values."""
    unknown = [d for d in by if d not in definition.dimensions]
    if unknown:
        allowed = ", ".join(definition.dimensions) or "none"
        raise UnknownDimension(
            f"metric {definition.name!r} cannot be split by {unknown}; dimensions: {allowed}"
        )
    rows = read_tenant(lake_root, definition.table, tenant_id, columns=[definition.column, *by])
    if definition.aggregation == "single":
        return [({}, _number(rows[0][definition.column]) if rows else None)]
    groups: dict[tuple[str | None, ...], float | None] = defaultdict(lambda: None)
    for row in rows:
        key = tuple(row[d] for d in by)
        value = _number(row[definition.column])
        if value is not None:
            groups[key] = (groups[key] or 0.0) + value
        else:
            groups.setdefault(key, None)
    if not by and not groups:
        return [({}, 0.0)]
    ordered = sorted(groups.items(), key=lambda kv: tuple((v is None, v or "") for v in kv[0]))
    return [(dict(zip(by, key, strict=True)), value) for key, value in ordered]


def _number(value: Any) -> float | None:
    if value is None:
        return None
    return float(value)  # counts are int64, amounts Decimal, ratios double
