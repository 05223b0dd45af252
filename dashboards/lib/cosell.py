"""The Leads & Co-sell page's data: the lead funnel, AWS engagement health and the next-best-action backlog.

Datasets (a ``LakeReader`` and a tenant in, pandas out) read ``gold.ace_lead_funnel``,
``gold.ace_engagement_health`` and, for the backlog, ``silver.aws_opportunity_summary`` through the reader,
limited to the columns the caller passes (the page passes only those the viewer is cleared for: AWS spend and
next best actions are confidential). Pages call them through ``ui.query`` (``datasets`` re-exports them); the
totals below are pure.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

from dashboards.lib.data import LakeReader, TableUnavailable

FUNNEL = "gold.ace_lead_funnel"
HEALTH = "gold.ace_engagement_health"
SUMMARY = "silver.aws_opportunity_summary"
SCORE_ORDER: tuple[str, ...] = ("High", "Medium", "Low", "none")
BACKLOG_COLUMNS: tuple[str, ...] = (
    "catalog",
    "opportunity_id",
    "aws_stage",
    "engagement_score",
    "cosell_motion",
    "next_best_actions",
    "recommendation_count",
    "last_modified_at",
)


def _read(reader: LakeReader, table: str, tenant: str, columns: Sequence[str] | None = None) -> pd.DataFrame:
    try:
        return reader.read(table, tenant, columns=list(columns) if columns else None)
    except TableUnavailable:
        return pd.DataFrame(columns=list(columns or ()))


def cosell_funnel(reader: LakeReader, tenant: str) -> pd.DataFrame:
    """gold.ace_lead_funnel for the tenant, most leads first."""
    rows = _read(reader, FUNNEL, tenant)
    if rows.empty:
        return rows
    return rows.sort_values(["lead_count", "lead_source"], ascending=[False, True]).reset_index(drop=True)


def cosell_health(reader: LakeReader, tenant: str, columns: Sequence[str] | None = None) -> pd.DataFrame:
    """gold.ace_engagement_health for the tenant, engagement scores High -> Low -> none."""
    rows = _read(reader, HEALTH, tenant, columns)
    if rows.empty:
        return rows
    rank = {s: i for i, s in enumerate(SCORE_ORDER)}
    order = rows["engagement_score"].map(lambda s: rank.get(s, len(rank)))
    return (
        rows.assign(_o=order)
        .sort_values(["_o", "engagement_score"])
        .drop(columns="_o")
        .reset_index(drop=True)
    )


def cosell_backlog(reader: LakeReader, tenant: str, columns: Sequence[str] = BACKLOG_COLUMNS) -> pd.DataFrame:
    """AWS summaries with a next best action (the backlog); without clearance for it, every summary."""
    rows = _read(reader, SUMMARY, tenant, columns)
    if rows.empty:
        return rows
    if "next_best_actions" in rows.columns:
        text = rows["next_best_actions"].fillna("").astype(str).str.strip()
        rows = rows[text != ""]
    return rows.sort_values(["engagement_score", "opportunity_id"], na_position="last").reset_index(drop=True)


@dataclass(frozen=True)
class FunnelTotals:
    """The funnel summed over sources and statuses."""

    leads: int
    converted: int
    won: int

    @property
    def conversion_rate(self) -> float | None:
        return self.converted / self.leads if self.leads else None

    @property
    def win_rate(self) -> float | None:
        return self.won / self.converted if self.converted else None


def funnel_totals(funnel: pd.DataFrame) -> FunnelTotals:
    """Leads, converted and won over every row of the funnel."""
    if funnel.empty:
        return FunnelTotals(0, 0, 0)
    return FunnelTotals(
        int(funnel["lead_count"].sum()), int(funnel["converted_count"].sum()), int(funnel["won_count"].sum())
    )


def funnel_stages(funnel: pd.DataFrame) -> pd.DataFrame:
    """The funnel as stage -> count rows (Leads, Converted, Won) for a bar chart."""
    t = funnel_totals(funnel)
    return pd.DataFrame({"stage": ["Leads", "Converted", "Won"], "count": [t.leads, t.converted, t.won]})


def rate_text(value: float | None) -> str:
    """A rate as a percentage with one decimal, 'n/a' when undefined."""
    return "n/a" if value is None else f"{value * 100:.1f}%"
