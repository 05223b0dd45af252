"""The datasets behind each page and notebook: a ``LakeReader`` and a tenant in, pandas out.

Every function reads through the reader (one tenant, partition-pruned) and hands the rows to the pure
functions of ``dashboards.lib.processing``. Pages wrap these in ``st.cache_data``; notebooks call them directly.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import pandas as pd

from dashboards.lib import processing as P
from dashboards.lib.data import Filter, LakeReader, TableStats, TableUnavailable, table_def  # noqa: F401
from dashboards.lib.marketplace import (  # noqa: F401 - the Marketplace page queries these through ui.query
    marketplace_options,
    marketplace_subscriptions,
    marketplace_usage,
)
from lakehouse import catalog

GOLD_PIPELINE = "gold.ace_pipeline"
GOLD_FACTS = "gold.ace_facts"
GOLD_WIN_RATE = "gold.ace_win_rate"
GOLD_HEALTH = "gold.ace_pipeline_health"
OPPORTUNITY = "silver.opportunity"
SPEND = "silver.opportunity_spend"
QUARANTINE = "silver.opportunity_quarantine"
DQ_RESULT = "ops.dq_result"
DQ_ISSUE = "ops.dq_issue"
DQ_PROFILE = "ops.dq_profile"
LINEAGE = "ops.lineage_edge"
WATERMARK = "ops.pipeline_watermark"
INGESTION_RUN = "ops.ingestion_run"

SEMI_JOIN_MAX_IDS = 200_000
# drill-down columns (non-PII; each is further limited to the viewer's clearance)
DRILL_COLUMNS: tuple[str, ...] = (
    "opportunity_id",
    "stage",
    "review_status",
    "target_close_date",
    "opportunity_type",
    "customer_industry",
    "customer_country_code",
    "project_title",
    "last_modified_at",
)
LIST_COLUMNS: tuple[str, ...] = (
    "opportunity_id",
    "stage",
    "review_status",
    "target_close_date",
    "customer_industry",
    "customer_country_code",
    "last_modified_at",
)
FACT_COLUMNS: tuple[str, ...] = (
    "opportunity_id",
    "stage",
    "target_close_date",
    "review_status",
    "customer_industry",
    "customer_country_code",
    "opportunity_type",
)


def safe_read(reader: LakeReader, table: str, tenant: str, **kwargs: Any) -> pd.DataFrame:
    """``reader.read``, or an empty frame when the table is not declared in this installation."""
    try:
        return reader.read(table, tenant, **kwargs)
    except TableUnavailable:
        return pd.DataFrame(columns=list(kwargs.get("columns") or ()))


# --------------------------------------------------------------------------------------------- KPI pack


def gold_pipeline(reader: LakeReader, tenant: str) -> pd.DataFrame:
    """gold.ace_pipeline for the tenant (spend as float)."""
    return P.normalise_pipeline(reader.read(GOLD_PIPELINE, tenant))


def gold_win_rate(reader: LakeReader, tenant: str) -> dict[str, Any] | None:
    """The tenant's gold.ace_win_rate row, or None."""
    rows = reader.read(GOLD_WIN_RATE, tenant)
    return None if rows.empty else rows.iloc[0].to_dict()


def gold_health(reader: LakeReader, tenant: str) -> pd.DataFrame:
    """gold.ace_pipeline_health for the tenant, review statuses in a stable order."""
    rows = reader.read(GOLD_HEALTH, tenant)
    return rows.sort_values("review_status", na_position="last").reset_index(drop=True)


def filter_options(reader: LakeReader, tenant: str) -> dict[str, list[str]]:
    """Values for the KPI pack's filters: stages and months (gold), industries and countries (silver)."""
    gold = gold_pipeline(reader, tenant)
    return {
        "stages": [s for s in P.sort_stages(gold["stage"].tolist()) if s is not None],
        "months": sorted(m for m in gold["target_close_month"].dropna().unique()),
        "industries": reader.distinct(OPPORTUNITY, tenant, "customer_industry"),
        "countries": reader.distinct(OPPORTUNITY, tenant, "customer_country_code"),
    }


def opportunity_facts(
    reader: LakeReader,
    tenant: str,
    filters: P.PipelineFilters | None = None,
    columns: Sequence[str] = FACT_COLUMNS,
) -> pd.DataFrame:
    """Current opportunities (optionally filtered at the source) with their USD monthly spend."""
    clauses = P.opportunity_clauses(filters) if filters else []
    opps = reader.read(OPPORTUNITY, tenant, columns=list(columns), where=clauses)
    ids = opps["opportunity_id"].dropna().tolist()
    # a filtered set: fetch only its spend (a semi-join at the source); otherwise read all USD monthly spend
    narrow = bool(clauses) and len(ids) <= SEMI_JOIN_MAX_IDS
    return P.with_usd_monthly(opps, usd_monthly_spend(reader, tenant, ids if narrow else None))


def usd_monthly_spend(
    reader: LakeReader, tenant: str, opportunity_ids: Sequence[str] | None = None
) -> pd.DataFrame:
    """The tenant's USD / Monthly spend entries (opportunity_id, amount), optionally for some opportunities."""
    where: list[Any] = [Filter("currency_code", "=", P.USD), Filter("frequency", "=", P.MONTHLY)]
    if opportunity_ids is not None:
        where.append(Filter("opportunity_id", "in", tuple(opportunity_ids)))
    return reader.read(SPEND, tenant, columns=["opportunity_id", "amount"], where=where)


def gold_facts(reader: LakeReader, tenant: str) -> pd.DataFrame:
    """gold.ace_facts for the tenant: the rows of the ace_facts semantic model the ACE metrics aggregate."""
    return P.facts_frame(safe_read(reader, GOLD_FACTS, tenant, columns=P.FACT_MODEL_COLUMNS))


def silver_facts(
    reader: LakeReader, tenant: str, filters: P.PipelineFilters, as_of: date | None
) -> pd.DataFrame:
    """Opportunity-grain ace_facts rows from silver, for filters gold has no dimension for (industry, country).

    Stage and month filters are applied afterwards (like on gold), so the win rate can still be computed over
    every stage; ``stale`` is computed for ``as_of`` (the gold run date), as gold does.
    """
    source_filters = P.PipelineFilters(industries=filters.industries, countries=filters.countries)
    facts = opportunity_facts(
        reader,
        tenant,
        source_filters,
        columns=("opportunity_id", "stage", "target_close_date", "review_status"),
    )
    return P.opportunity_grain_facts(facts, as_of)


def silver_pipeline(reader: LakeReader, tenant: str, filters: P.PipelineFilters) -> pd.DataFrame:
    """gold.ace_pipeline-shaped rows computed from silver (industry / country filters applied at the source)."""
    return P.pipeline_rows(silver_facts(reader, tenant, filters, None))


def metric_input(reader: LakeReader, tenant: str, name: str) -> pd.DataFrame:
    """The rows of metric ``name``'s semantic model for the tenant, read through this reader (typed for DuckDB)."""
    from lakehouse import metrics

    model = metrics.model_of(name)
    rows = safe_read(reader, model.table, tenant, columns=[*model.dimensions, *model.measures])
    return P.facts_frame(rows) if model.table == GOLD_FACTS else rows


def metric_values(reader: LakeReader, tenant: str, names: Sequence[str]) -> dict[str, Any]:
    """Ungrouped values of metrics of one semantic model, read through this reader (pages and notebooks)."""
    return P.metric_values(list(names), metric_input(reader, tenant, names[0]))


def metric_rows(
    reader: LakeReader, tenant: str, name: str, dimensions: Sequence[str] = ()
) -> list[dict[str, Any]]:
    """One metric grouped by ``dimensions`` (and its required ones) as plain rows: what a notebook prints."""
    from lakehouse import metrics

    result = metrics.compute_frame(name, metric_input(reader, tenant, name), dimensions=dimensions)
    return P.plain_rows(result)


@dataclass(frozen=True)
class PipelineView:
    """What the KPI pack shows for one set of filters."""

    rows: pd.DataFrame  # gold.ace_pipeline grain, every filter applied
    kpis: P.PipelineKpis
    stale: int
    action_required: int
    as_of_date: date | None
    empty: bool  # the tenant has no gold pipeline at all


def pipeline_view(reader: LakeReader, tenant: str, filters: P.PipelineFilters) -> PipelineView:
    """Rows and KPIs of the KPI pack from the lakehouse.metrics definitions: over gold.ace_facts while the filters
    are its dimensions (stage, month), over opportunity-grain rows from silver for industry / country."""
    gold = gold_facts(reader, tenant)
    dates = gold["as_of_date"].dropna()
    as_of = dates.max() if len(dates) else None
    base = silver_facts(reader, tenant, filters, as_of) if filters.needs_silver else gold
    month_facts = P.filter_months(base, filters)
    shown = P.filter_stages(month_facts, filters)
    kpis = P.pipeline_kpis(month_facts, shown, source="silver" if filters.needs_silver else "gold")
    return PipelineView(
        rows=P.pipeline_rows(shown),
        kpis=kpis,
        stale=kpis.stale,
        action_required=kpis.action_required,
        as_of_date=as_of,
        empty=gold.empty,
    )


def opportunity_list(
    reader: LakeReader,
    tenant: str,
    filters: P.PipelineFilters,
    kind: str,
    *,
    as_of: date | None = None,
    columns: Sequence[str] = LIST_COLUMNS,
    limit: int | None = 500,
    with_spend: bool = False,
    count: bool = True,
) -> tuple[pd.DataFrame, int | None]:
    """Opportunities of a list ('stale', 'action_required' or 'all'): up to ``limit`` rows and the total.

    ``with_spend`` adds each listed opportunity's expected monthly spend (USD); ``count=False`` skips counting
    (the total is None) when the caller already knows it.
    """
    clauses = P.opportunity_clauses(filters)
    if kind == "stale":
        if as_of is None:  # the run date of the gold marts, so the list matches their stale counts
            as_of = P.health_totals(gold_health(reader, tenant))["as_of_date"]
        clauses += P.stale_clauses(as_of or date.today())
    elif kind == "action_required":
        clauses += P.action_required_clauses()
    elif kind != "all":
        raise ValueError(f"unknown list {kind!r}")
    total = reader.count(OPPORTUNITY, tenant, where=clauses) if count else None
    rows = reader.read(OPPORTUNITY, tenant, columns=list(columns), where=clauses, limit=limit)
    if "target_close_date" in rows.columns and len(rows):
        rows = rows.sort_values(["target_close_date", "opportunity_id"], na_position="last")
    if with_spend and "opportunity_id" in rows.columns:
        spend = (
            usd_monthly_spend(reader, tenant, rows["opportunity_id"].dropna().tolist())
            if len(rows)
            else pd.DataFrame(columns=["opportunity_id", "amount"])
        )
        rows = P.with_usd_monthly(rows, spend).rename(columns={"usd_monthly": "expected_monthly_spend_usd"})
    return rows.reset_index(drop=True), (None if total is None else int(total))


# --------------------------------------------------------------------------------------- pipeline health


def table_stats(reader: LakeReader, tenant: str) -> list[TableStats]:
    """Size and last write of the tenant's partition of every declared table."""
    return [
        reader.stats(td.qualified_name, tenant)
        for td in catalog.all_tables()
        if td.qualified_name != "ops.write_batch"
    ]


def ops_table(reader: LakeReader, tenant: str, table: str) -> pd.DataFrame:
    """An ops table for the tenant (empty when the table is not declared or not written yet)."""
    return safe_read(reader, table, tenant)


def health_data(reader: LakeReader, tenant: str) -> dict[str, Any]:
    """Everything the pipeline-health page shows, read once per tenant."""
    stats = table_stats(reader, tenant)
    lineage = ops_table(reader, tenant, LINEAGE)
    runs = ops_table(reader, tenant, INGESTION_RUN)
    bronze = [s.table for s in stats if s.table.startswith("bronze.") and s.exists]
    return {
        "stats": stats,
        "last_runs": P.last_successful_runs(lineage, runs, bronze),
        "dq_result": ops_table(reader, tenant, DQ_RESULT),
        "dq_issue": ops_table(reader, tenant, DQ_ISSUE),
        "dq_profile": ops_table(reader, tenant, DQ_PROFILE),
        "lineage": lineage,
        "ingestion_runs": runs.sort_values("started_at", ascending=False).reset_index(drop=True)
        if len(runs)
        else runs,
        "watermarks": ops_table(reader, tenant, WATERMARK),
        "quarantine": safe_read(
            reader,
            QUARANTINE,
            tenant,
            columns=["entity", "entity_id", "reason", "ingestion_run_id", "ingested_at", "quarantine_run_id"],
        ),
    }


def tenants_with_data(reader: LakeReader) -> list[str]:
    """Tenants that have a gold pipeline (notebooks default to the first)."""
    return reader.tenants(GOLD_PIPELINE)


def now() -> datetime:
    from dashboards.lib.data import utcnow

    return utcnow()
