"""The Marketplace page's data: metered usage and subscriptions of one tenant, from the two Marketplace gold marts.

Datasets (a ``LakeReader`` and a tenant in, pandas out) read ``gold.marketplace_usage`` and
``gold.marketplace_subscriptions`` through the reader, filtered at the source and limited to the columns the
caller passes (the page passes only those the viewer is cleared for, so confidential quantities and revenue are
never read for a viewer). Pages call the datasets through ``ui.query`` (``datasets`` re-exports them); the
summaries, formatting and charts below are pure.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import altair as alt
import pandas as pd

from dashboards.lib.data import Filter, LakeReader, TableUnavailable, table_def
from lakehouse import metrics
from lakehouse.catalog import TENANT_COLUMN

USAGE = "gold.marketplace_usage"
SUBSCRIPTIONS = "gold.marketplace_subscriptions"
QUANTITY_COLUMNS: tuple[str, ...] = ("quantity_sent", "quantity_pending", "quantity_dead_lettered")
MEASURE_COLUMNS: tuple[str, ...] = (*QUANTITY_COLUMNS, "records_sent", "estimated_revenue")
STATUS_COLUMNS: tuple[str, ...] = ("active", "pending_cancellation", "expired")
STATUS_LABELS: dict[str, str] = {
    "active": "Active",
    "pending_cancellation": "Pending cancellation",
    "expired": "Expired",
}
UNKNOWN_CURRENCY = "(no currency)"


@dataclass(frozen=True)
class UsageFilters:
    """The usage filters: an inclusive day range (None = open) and products / dimensions (empty = all)."""

    date_from: date | None = None
    date_to: date | None = None
    products: tuple[str, ...] = ()
    dimensions: tuple[str, ...] = ()

    def clauses(self) -> list[Filter]:
        """The filters as reader clauses (values stay data)."""
        where: list[Filter] = []
        if self.date_from is not None:
            where.append(Filter("usage_date", ">=", self.date_from))
        if self.date_to is not None:
            where.append(Filter("usage_date", "<=", self.date_to))
        if self.products:
            where.append(Filter("product_code", "in", tuple(self.products)))
        if self.dimensions:
            where.append(Filter("dimension", "in", tuple(self.dimensions)))
        return where


@dataclass(frozen=True)
class MarketplaceOptions:
    """What the tenant has: the usage date span and the values of the filters, and whether there are subscriptions."""

    first_date: date | None
    last_date: date | None
    products: tuple[str, ...]
    dimensions: tuple[str, ...]
    has_subscriptions: bool

    @property
    def has_usage(self) -> bool:
        return self.first_date is not None

    @property
    def empty(self) -> bool:
        return not (self.has_usage or self.has_subscriptions)


@dataclass(frozen=True)
class UsageKpis:
    """Headline numbers of the filtered usage (``revenue`` is None when the revenue column is not shown)."""

    revenue: dict[str, float] | None
    records_sent: int | None
    days: int
    dimensions: int


# ------------------------------------------------------------------------------------------------ datasets


def _distinct(reader: LakeReader, table: str, tenant: str, column: str) -> list[Any]:
    try:
        return reader.distinct(table, tenant, column)
    except TableUnavailable:
        return []


def _as_date(value: Any) -> date:
    return value.date() if isinstance(value, pd.Timestamp) else value


def marketplace_options(reader: LakeReader, tenant: str) -> MarketplaceOptions:
    """The tenant's usage days, products and dimensions (internal columns only), and whether it has subscriptions."""
    days = [_as_date(d) for d in _distinct(reader, USAGE, tenant, "usage_date")]
    try:
        subscriptions = reader.count(SUBSCRIPTIONS, tenant) > 0
    except TableUnavailable:
        subscriptions = False
    return MarketplaceOptions(
        first_date=min(days) if days else None,
        last_date=max(days) if days else None,
        products=tuple(_distinct(reader, USAGE, tenant, "product_code")),
        dimensions=tuple(_distinct(reader, USAGE, tenant, "dimension")),
        has_subscriptions=subscriptions,
    )


def _read(
    reader: LakeReader, table: str, tenant: str, columns: Sequence[str], where: Sequence[Filter] = ()
) -> pd.DataFrame:
    cols = [c for c in columns if c != TENANT_COLUMN]
    try:
        return reader.read(table, tenant, columns=cols, where=list(where))
    except TableUnavailable:
        return pd.DataFrame(columns=cols)


def marketplace_usage(
    reader: LakeReader, tenant: str, filters: UsageFilters, columns: Sequence[str]
) -> pd.DataFrame:
    """gold.marketplace_usage rows of the tenant matching ``filters``, only ``columns`` (never tenant_id), by day."""
    rows = _read(reader, USAGE, tenant, columns, filters.clauses())
    for c in MEASURE_COLUMNS:
        if c in rows.columns:
            rows[c] = pd.to_numeric(rows[c], errors="coerce").astype("float64").fillna(0.0)
    if "records_sent" in rows.columns:
        rows["records_sent"] = rows["records_sent"].astype("int64")
    if "usage_date" in rows.columns:
        rows["usage_date"] = rows["usage_date"].map(_as_date)
    order = [c for c in ("usage_date", "product_code", "dimension") if c in rows.columns]
    if order and len(rows):
        rows = rows.sort_values(order, na_position="last")
    return rows.reset_index(drop=True)


def marketplace_subscriptions(reader: LakeReader, tenant: str, columns: Sequence[str]) -> pd.DataFrame:
    """gold.marketplace_subscriptions rows of the tenant (only ``columns``, never tenant_id), by product title."""
    rows = _read(reader, SUBSCRIPTIONS, tenant, columns)
    for c in (*STATUS_COLUMNS, "total"):
        if c in rows.columns:
            rows[c] = pd.to_numeric(rows[c], errors="coerce").fillna(0).astype("int64")
    order = [c for c in ("product_title", "product_id") if c in rows.columns]
    if order and len(rows):
        rows = rows.sort_values(order, na_position="last")
    return rows.reset_index(drop=True)


def visible_columns(viewer: Any, table: str) -> tuple[str, ...]:
    """The columns of ``table`` the viewer is cleared for, without tenant_id (declared order)."""
    return tuple(c for c in viewer.visible_columns(table_def(table)) if c != TENANT_COLUMN)


# ------------------------------------------------------------------------------------------- processing


def revenue_by_currency(rows: pd.DataFrame) -> dict[str, float]:
    """The estimated_revenue metric (lakehouse.metrics: always per currency), rounded to the cent; rows without
    a currency are shown as '?', currencies without revenue are left out."""
    if "estimated_revenue" not in rows.columns or rows.empty:
        return {}
    frame = rows.assign(
        currency_code=rows["currency_code"].fillna(UNKNOWN_CURRENCY)
        if "currency_code" in rows.columns
        else UNKNOWN_CURRENCY,
        estimated_revenue=pd.to_numeric(rows["estimated_revenue"], errors="coerce").astype("float64"),
    )
    sums = metrics.compute_frame("estimated_revenue", frame[["currency_code", "estimated_revenue"]])
    return {
        str(c): round(float(v), 2)
        for c, v in zip(sums["currency_code"], sums["estimated_revenue"], strict=True)
        if v != 0
    }


def usage_kpis(rows: pd.DataFrame) -> UsageKpis:
    """Revenue per currency, records sent, distinct days and product x dimension pairs of the filtered usage,
    each from its lakehouse.metrics definition (a measure the viewer may not see is None / not computed)."""
    revenue = revenue_by_currency(rows) if "estimated_revenue" in rows.columns else None
    names = ["usage_days", "metered_dimensions"]
    if "records_sent" in rows.columns:
        names.append("records_sent")
    frame = rows.reindex(columns=["usage_date", "product_code", "dimension", "records_sent"])
    frame = frame.assign(
        usage_date=frame["usage_date"].astype(str).where(frame["usage_date"].notna(), None),
        product_code=frame["product_code"].astype(object).where(frame["product_code"].notna(), None),
        dimension=frame["dimension"].astype(object).where(frame["dimension"].notna(), None),
        records_sent=pd.to_numeric(frame["records_sent"], errors="coerce").astype("float64"),
    )
    result = metrics.compute_frame(names, frame)
    figures = {n: metrics.scalar(result, n) for n in names}
    return UsageKpis(
        revenue=revenue,
        records_sent=int(figures.get("records_sent") or 0) if "records_sent" in rows.columns else None,
        days=int(figures["usage_days"] or 0),
        dimensions=int(figures["metered_dimensions"] or 0),
    )


def usage_by_dimension(rows: pd.DataFrame) -> pd.DataFrame:
    """Per product x dimension (x currency): the visible measures summed over the filtered days, and the days."""
    keys = [c for c in ("product_code", "dimension", "currency_code") if c in rows.columns]
    measures = [c for c in MEASURE_COLUMNS if c in rows.columns]
    if rows.empty or not keys:
        return pd.DataFrame(columns=[*keys, "days", *measures])
    grouped = rows.fillna(dict.fromkeys(keys, "")).groupby(keys, sort=True)
    out = grouped[measures].sum() if measures else pd.DataFrame(index=grouped.size().index)
    out.insert(0, "days", grouped["usage_date"].nunique() if "usage_date" in rows.columns else grouped.size())
    out = out.reset_index()
    for k in keys:
        out[k] = out[k].replace("", None)
    return out


SUBSCRIPTION_METRICS = {
    "active": "active_subscriptions",
    "pending_cancellation": "pending_cancellation_subscriptions",
    "expired": "expired_subscriptions",
}


def subscription_totals(rows: pd.DataFrame) -> dict[str, int]:
    """Active, pending-cancellation and expired agreements summed over products (lakehouse.metrics)."""
    present = {c: m for c, m in SUBSCRIPTION_METRICS.items() if c in rows.columns}
    totals = dict.fromkeys(STATUS_COLUMNS, 0)
    if present:
        frame = rows[list(present)].apply(pd.to_numeric, errors="coerce").astype("float64")
        result = metrics.compute_frame(list(present.values()), frame)
        totals.update({c: int(metrics.scalar(result, m) or 0) for c, m in present.items()})
    return totals


def as_of_text(subscriptions: pd.DataFrame) -> str | None:
    """When gold.marketplace_subscriptions was built ('YYYY-MM-DD HH:MM UTC'), or None."""
    if "as_of" not in subscriptions.columns or subscriptions["as_of"].isna().all():
        return None
    ts = pd.Timestamp(subscriptions["as_of"].max())
    ts = ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")
    return f"{ts:%Y-%m-%d %H:%M} UTC"


def format_money(amounts: dict[str, float] | None) -> str:
    """Amounts per currency: ``$1,234.50`` for USD, ``EUR 1,234.50`` otherwise, several joined with ' + '."""
    if amounts is None:
        return "restricted"
    if not amounts:
        return "$0.00"
    parts = [f"${v:,.2f}" if c == "USD" else f"{c} {v:,.2f}" for c, v in sorted(amounts.items())]
    return " + ".join(parts)


# ------------------------------------------------------------------------------------------------ charts


def series_label(product_code: Any, dimension: Any) -> str:
    """'product / dimension' (one metered series; its quantities share a unit)."""
    return (
        f"{product_code if product_code is not None else '?'} / {dimension if dimension is not None else '?'}"
    )


def usage_series(rows: pd.DataFrame) -> list[str]:
    """The product / dimension series present in ``rows``, sorted."""
    if rows.empty or not {"product_code", "dimension"} <= set(rows.columns):
        return []
    return sorted({series_label(p, d) for p, d in zip(rows["product_code"], rows["dimension"], strict=True)})


def _with_day_and_series(rows: pd.DataFrame) -> pd.DataFrame:
    return rows.assign(
        day=rows["usage_date"].astype(str),
        series=[series_label(p, d) for p, d in zip(rows["product_code"], rows["dimension"], strict=True)],
    )


def quantity_chart(rows: pd.DataFrame, series: str) -> alt.Chart:
    """One product / dimension's quantity per day, stacked by state (sent, pending, dead-lettered): units differ
    between dimensions, so quantities are never added across them."""
    frame = _with_day_and_series(rows)
    frame = frame[frame["series"] == series]
    states = {
        "quantity_sent": "sent",
        "quantity_pending": "pending",
        "quantity_dead_lettered": "dead-lettered",
    }
    long = frame.melt(id_vars=["day"], value_vars=list(states), var_name="state", value_name="quantity")
    long["state"] = long["state"].map(states)
    order = list(states.values())
    return (
        alt.Chart(long)
        .mark_bar()
        .encode(
            x=alt.X("day:O", title="Usage day (UTC)", axis=alt.Axis(labelAngle=0)),
            y=alt.Y("sum(quantity):Q", title="Quantity"),
            color=alt.Color(
                "state:N",
                title="State",
                sort=order,
                scale=alt.Scale(domain=order, range=["#4c9a2a", "#f2a900", "#d62728"]),
            ),
            order=alt.Order("state_order:Q"),
            tooltip=["day", "state", alt.Tooltip("sum(quantity):Q", title="Quantity", format=",.6~f")],
        )
        .transform_calculate(
            state_order="indexof(['sent', 'pending', 'dead-lettered'], datum.state)",
        )
        .properties(height=300, title=series)
    )


def usage_chart(rows: pd.DataFrame, measure: str) -> alt.Chart:
    """Records sent or estimated revenue per day, stacked by product / dimension."""
    frame = _with_day_and_series(rows)
    title = {"records_sent": "Records sent", "estimated_revenue": "Estimated revenue"}.get(measure, measure)
    if measure == "estimated_revenue" and "currency_code" in frame.columns:
        currencies = sorted(frame["currency_code"].dropna().unique())
        title += (
            f" ({currencies[0]})" if len(currencies) == 1 else " (mixed currencies)" if currencies else ""
        )
    fmt = ",.2f" if measure == "estimated_revenue" else ",d"
    return (
        alt.Chart(frame)
        .mark_bar()
        .encode(
            x=alt.X("day:O", title="Usage day (UTC)", axis=alt.Axis(labelAngle=0)),
            y=alt.Y(f"sum({measure}):Q", title=title),
            color=alt.Color("series:N", title="Product / dimension"),
            tooltip=["day", "series", alt.Tooltip(f"sum({measure}):Q", title=title, format=fmt)],
        )
        .properties(height=300)
    )


def subscriptions_chart(rows: pd.DataFrame) -> alt.Chart:
    """Agreements per product, stacked by state (active, pending cancellation, expired)."""
    frame = rows.assign(
        product=rows["product_title"].fillna(rows["product_id"])
        if "product_title" in rows.columns
        else rows["product_id"]
    )
    long = frame.melt(
        id_vars=["product"], value_vars=list(STATUS_COLUMNS), var_name="state", value_name="agreements"
    )
    long["state"] = long["state"].map(STATUS_LABELS)
    order = [STATUS_LABELS[c] for c in STATUS_COLUMNS]
    return (
        alt.Chart(long)
        .mark_bar()
        .encode(
            y=alt.Y("product:N", title="Product"),
            x=alt.X("sum(agreements):Q", title="Agreements"),
            color=alt.Color(
                "state:N",
                title="State",
                sort=order,
                scale=alt.Scale(domain=order, range=["#4c9a2a", "#f2a900", "#9e9e9e"]),
            ),
            tooltip=["product", "state", alt.Tooltip("sum(agreements):Q", title="Agreements", format=",d")],
        )
        .properties(height=max(120, 40 * frame["product"].nunique()))
    )
