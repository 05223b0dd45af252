"""Pure processing for the dashboards and notebooks: pandas in, pandas (or plain values) out, no I/O.

Every KPI comes from its one definition in ``lakehouse.metrics`` (the same the gold marts and the API use),
computed here on the rows a page already read (``metrics.compute_frame``: DuckDB over the frame). This module
only shapes rows for the semantic models (``facts_frame``), filters them and formats the results.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pandas as pd

from dashboards.lib.data import AnyOf, Clause, Filter
from lakehouse import metrics
from lakehouse.partner_central.entities.silver import CLOSED_STAGES, LOST_STAGE, STAGES

USD = "USD"
MONTHLY = "Monthly"
ACTION_REQUIRED = "Action Required"
NO_VALUE = "(none)"
PIPELINE_COLUMNS = ["stage", "target_close_month", "opportunity_count", "expected_monthly_spend_usd"]
# the columns of the ace_facts semantic model (gold.ace_facts) the ACE metrics read
FACT_MODEL_COLUMNS = [
    "stage",
    "target_close_month",
    "review_status",
    "stale",
    "opportunity_count",
    "usd_monthly_spend",
    "as_of_date",
]
HEADLINE_METRICS = ("opportunity_count", "expected_monthly_spend_usd", "stale_count", "action_required_count")
CLOSED_METRICS = ("won_count", "lost_count", "win_rate")
# the stages an opportunity moves through, in order (Closed Lost is an exit, not a step)
FUNNEL_STAGES: tuple[str, ...] = tuple(s for s in STAGES if s != LOST_STAGE)
# default stage weights of the forecast notebook: the share of spend expected to land (explained there)
DEFAULT_STAGE_WEIGHTS: dict[str, float] = {
    "Prospect": 0.10,
    "Qualified": 0.20,
    "Technical Validation": 0.40,
    "Business Validation": 0.60,
    "Committed": 0.80,
    "Launched": 1.00,
    "Closed Lost": 0.00,
}


@dataclass(frozen=True)
class PipelineFilters:
    """The KPI pack's filters. Empty ``stages`` / ``industries`` / ``countries`` mean "all"."""

    stages: tuple[str, ...] = ()
    month_from: str | None = None
    month_to: str | None = None
    include_undated: bool = True
    industries: tuple[str, ...] = ()
    countries: tuple[str, ...] = ()

    @property
    def needs_silver(self) -> bool:
        """Industry and country are not gold dimensions: those filters are computed from silver."""
        return bool(self.industries or self.countries)

    @property
    def month_filtered(self) -> bool:
        return self.month_from is not None or self.month_to is not None or not self.include_undated

    @property
    def is_default(self) -> bool:
        return not (self.stages or self.month_filtered or self.needs_silver)


@dataclass(frozen=True)
class PipelineKpis:
    """Headline numbers of the KPI pack."""

    opportunities: int
    expected_monthly_spend_usd: float
    won: int
    lost: int
    win_rate: float | None
    source: str  # "gold" or "silver"
    stale: int = 0
    action_required: int = 0


# ------------------------------------------------------------------------------------------------ helpers


def to_float(values: pd.Series) -> pd.Series:
    """Decimal / numeric / null values as float64 (sums of cents stay exact well beyond any pipeline size)."""
    return (
        pd.to_numeric(
            values.map(lambda v: None if v is None else float(v)) if values.dtype == object else values,
            errors="coerce",
        )
        .astype("float64")
        .fillna(0.0)
    )


def month_of(value: Any) -> str | None:
    """'YYYY-MM' of a date, or None."""
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NaT:
        return None
    return f"{value.year:04d}-{value.month:02d}"


def month_bounds(month_from: str | None, month_to: str | None) -> tuple[date | None, date | None]:
    """First day of ``month_from`` and the first day after ``month_to`` (an exclusive upper bound)."""
    lower = date(int(month_from[:4]), int(month_from[5:7]), 1) if month_from else None
    upper = None
    if month_to:
        y, m = int(month_to[:4]), int(month_to[5:7])
        upper = date(y + (m == 12), 1 if m == 12 else m + 1, 1)
    return lower, upper


def format_count(value: float | None) -> str:
    return "—" if value is None else f"{int(value):,}"


def format_usd(value: float | None) -> str:
    return "—" if value is None else f"${value:,.2f}"


def format_rate(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


def sort_stages(stages: Iterable[str | None]) -> list[str | None]:
    """Stages in pipeline order; unknown ones after, alphabetically; missing (None) last."""
    order = {s: i for i, s in enumerate(STAGES)}
    present = set(stages)
    known = sorted((s for s in present if s in order), key=order.__getitem__)
    other = sorted(s for s in present if s is not None and s not in order)
    return known + other + ([None] if None in present else [])


# ------------------------------------------------------------------------------------------- pipeline


def normalise_pipeline(rows: pd.DataFrame) -> pd.DataFrame:
    """gold.ace_pipeline-shaped rows with spend as float and stable order."""
    out = rows.reindex(columns=PIPELINE_COLUMNS).copy()
    out["opportunity_count"] = (
        pd.to_numeric(out["opportunity_count"], errors="coerce").fillna(0).astype("int64")
    )
    out["expected_monthly_spend_usd"] = to_float(out["expected_monthly_spend_usd"])
    order = {s: i for i, s in enumerate(sort_stages(out["stage"].tolist()))}
    out["_o"] = out["stage"].map(lambda s: order.get(s, len(order)))
    out = out.sort_values(["target_close_month", "_o"], na_position="last", kind="stable").drop(columns="_o")
    return out.reset_index(drop=True)


def filter_months(rows: pd.DataFrame, filters: PipelineFilters) -> pd.DataFrame:
    """Keep the rows whose target_close_month is in the filter's range (and undated ones when asked)."""
    month = rows["target_close_month"]
    keep = month.notna()
    if filters.month_from:
        keep &= month >= filters.month_from
    if filters.month_to:
        keep &= month <= filters.month_to
    if filters.include_undated:
        keep |= month.isna()
    return rows[keep.fillna(False).astype(bool)]


def filter_stages(rows: pd.DataFrame, filters: PipelineFilters) -> pd.DataFrame:
    if not filters.stages:
        return rows
    return rows[rows["stage"].isin(filters.stages)]


def facts_frame(rows: pd.DataFrame) -> pd.DataFrame:
    """Rows shaped as the ace_facts model (gold.ace_facts, or opportunity-grain rows with count 1), typed so
    DuckDB sees numbers and booleans even when the frame is empty or all-null."""
    out = rows.reindex(columns=FACT_MODEL_COLUMNS).copy()
    out["opportunity_count"] = (
        pd.to_numeric(out["opportunity_count"], errors="coerce").fillna(0).astype("int64")
    )
    spend = out["usd_monthly_spend"]
    if spend.dtype == object:  # decimals or None
        spend = spend.map(lambda v: None if v is None else float(v))
    out["usd_monthly_spend"] = pd.to_numeric(spend, errors="coerce").astype("float64")
    out["stale"] = out["stale"].astype("boolean")
    for c in ("stage", "target_close_month", "review_status"):
        if not isinstance(out[c].dtype, pd.CategoricalDtype):
            out[c] = out[c].astype(object).where(out[c].notna(), None)
    return out


def _duckdb_input(facts: pd.DataFrame) -> pd.DataFrame:
    """Low-cardinality text columns as categoricals: DuckDB scans them as ENUMs instead of Python objects."""
    text = [c for c in facts.columns if facts[c].dtype == object]
    return facts.astype(dict.fromkeys(text, "category")) if text and len(facts) else facts


def metric_values(names: Sequence[str], facts: pd.DataFrame) -> dict[str, Any]:
    """Ungrouped values of metrics over ``facts`` (None for SQL NULL), from their lakehouse.metrics definitions."""
    result = metrics.compute_frame(list(names), _duckdb_input(facts))
    return {n: metrics.scalar(result, n) for n in names}


def plain_value(value: Any) -> Any:
    """A result cell as a plain Python value: numbers as int/float, dates as ISO text, missing as None."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, date | datetime):
        return value.isoformat()
    return value


def plain_rows(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """A result frame as a list of plain dicts (JSON-ready)."""
    columns = list(frame.columns)
    return [
        {c: plain_value(v) for c, v in zip(columns, record, strict=True)}
        for record in frame.itertuples(index=False, name=None)
    ]


def pipeline_kpis(month_facts: pd.DataFrame, shown_facts: pd.DataFrame, *, source: str) -> PipelineKpis:
    """KPIs of ace_facts rows: count, spend, stale and Action Required of the shown facts; won, lost and win
    rate over every stage of ``month_facts`` (the win rate is defined over the closed stages, so the stage
    filter does not apply to it). One DuckDB query when no stage filter narrows the shown facts."""
    if len(month_facts) == len(shown_facts):
        both = metric_values([*HEADLINE_METRICS, *CLOSED_METRICS], shown_facts)
        shown, closed = both, both
    else:
        shown = metric_values(list(HEADLINE_METRICS), shown_facts)
        closed = metric_values(list(CLOSED_METRICS), month_facts)
    rate = closed["win_rate"]
    return PipelineKpis(
        opportunities=int(shown["opportunity_count"]),
        expected_monthly_spend_usd=round(float(shown["expected_monthly_spend_usd"]), 2),
        won=int(closed["won_count"]),
        lost=int(closed["lost_count"]),
        win_rate=None if rate is None else float(rate),
        source=source,
        stale=int(shown["stale_count"]),
        action_required=int(shown["action_required_count"]),
    )


def pipeline_rows(facts: pd.DataFrame) -> pd.DataFrame:
    """The gold.ace_pipeline grain (stage x target_close_month) of ``facts``, measures from lakehouse.metrics."""
    grouped = metrics.compute_frame(
        ["opportunity_count", "expected_monthly_spend_usd"],
        _duckdb_input(facts),
        dimensions=["stage", "target_close_month"],
    )
    grouped = grouped.astype({"stage": object, "target_close_month": object})
    grouped = grouped.where(grouped.notna(), None) if len(grouped) else grouped
    return normalise_pipeline(grouped)


def months_of(stamps: pd.Series) -> pd.Series:
    """'YYYY-MM' of each timestamp (None when missing), formatting each distinct month once."""
    codes = stamps.dt.year * 12 + stamps.dt.month - 1
    labels = {c: f"{int(c) // 12:04d}-{int(c) % 12 + 1:02d}" for c in codes.dropna().unique()}
    return codes.map(labels).astype(object).where(codes.notna(), None)


def opportunity_grain_facts(opportunities: pd.DataFrame, as_of: date | None) -> pd.DataFrame:
    """Opportunity-grain rows (stage, target_close_date, review_status, usd_monthly) as ace_facts rows of count 1
    (the metrics are additive, so they give the gold figures for any subset of opportunities)."""
    n = len(opportunities)
    stage = opportunities["stage"] if "stage" in opportunities else pd.Series([None] * n, dtype=object)
    close = opportunities["target_close_date"] if "target_close_date" in opportunities else None
    open_stage = stage.isna() | ~stage.isin(CLOSED_STAGES)
    stamps = pd.to_datetime(close, errors="coerce") if close is not None else None
    if as_of is not None and stamps is not None:
        stale = ((stamps < pd.Timestamp(as_of)) & open_stage).astype("boolean")  # NaT compares False
    else:
        stale = pd.Series([pd.NA] * n, index=opportunities.index, dtype="boolean")
    frame = pd.DataFrame(
        {
            "stage": stage.astype("category"),
            "target_close_month": months_of(stamps) if stamps is not None else None,
            "review_status": opportunities["review_status"].astype("category")
            if "review_status" in opportunities
            else None,
            "stale": stale,
            "opportunity_count": 1,
            "usd_monthly_spend": to_float(opportunities["usd_monthly"])
            if "usd_monthly" in opportunities
            else 0.0,
            "as_of_date": as_of,
        },
        index=opportunities.index,
    )
    return facts_frame(frame.reset_index(drop=True))


def aggregate_opportunities(facts: pd.DataFrame) -> pd.DataFrame:
    """Opportunity-grain facts (stage, target_close_date, usd_monthly) to the gold.ace_pipeline grain."""
    if facts.empty:
        return normalise_pipeline(pd.DataFrame(columns=PIPELINE_COLUMNS))
    return pipeline_rows(opportunity_grain_facts(facts, None))


def usd_monthly_per_opportunity(spend: pd.DataFrame) -> pd.Series:
    """Sum of USD / Monthly spend entries per opportunity_id (the gold definition of expected spend)."""
    if spend.empty:
        return pd.Series(dtype="float64", name="usd_monthly")
    usd = spend
    if "currency_code" in spend.columns and "frequency" in spend.columns:  # else: filtered at the source
        usd = spend[(spend["currency_code"] == USD) & (spend["frequency"] == MONTHLY)]
    return to_float(usd["amount"]).groupby(usd["opportunity_id"], sort=False).sum().rename("usd_monthly")


def with_usd_monthly(opportunities: pd.DataFrame, spend: pd.DataFrame) -> pd.DataFrame:
    """Opportunities with a ``usd_monthly`` column (0 when an opportunity has no USD monthly spend)."""
    per_opp = usd_monthly_per_opportunity(spend)
    out = opportunities.copy()
    out["usd_monthly"] = out["opportunity_id"].map(per_opp).fillna(0.0).astype("float64")
    return out


def by_stage(rows: pd.DataFrame) -> pd.DataFrame:
    """Count and spend per stage, in pipeline order."""
    if rows.empty:
        return pd.DataFrame(columns=["stage", "opportunity_count", "expected_monthly_spend_usd"])
    grouped = (
        rows.assign(stage=rows["stage"].fillna(NO_VALUE))
        .groupby("stage", sort=False)[["opportunity_count", "expected_monthly_spend_usd"]]
        .sum()
    )
    order = [s if s is not None else NO_VALUE for s in sort_stages(rows["stage"].tolist())]
    return grouped.reindex([s for s in order if s in grouped.index]).reset_index()


def opportunity_clauses(filters: PipelineFilters, *, stages: bool = True) -> list[Clause]:
    """The filters as pushdown clauses on silver.opportunity (values stay data, never SQL text)."""
    clauses: list[Clause] = []
    if stages and filters.stages:
        clauses.append(Filter("stage", "in", tuple(filters.stages)))
    if filters.industries:
        clauses.append(Filter("customer_industry", "in", tuple(filters.industries)))
    if filters.countries:
        clauses.append(Filter("customer_country_code", "in", tuple(filters.countries)))
    if filters.month_filtered:
        lower, upper = month_bounds(filters.month_from, filters.month_to)
        if filters.include_undated:
            # (lower <= d < upper) OR d IS NULL, as two AND-ed disjunctions
            if lower:
                clauses.append(
                    AnyOf((Filter("target_close_date", "is null"), Filter("target_close_date", ">=", lower)))
                )
            if upper:
                clauses.append(
                    AnyOf((Filter("target_close_date", "is null"), Filter("target_close_date", "<", upper)))
                )
        else:
            clauses.append(Filter("target_close_date", "not null"))
            if lower:
                clauses.append(Filter("target_close_date", ">=", lower))
            if upper:
                clauses.append(Filter("target_close_date", "<", upper))
    return clauses


def stale_clauses(as_of: date) -> list[Clause]:
    """Open opportunities whose target close date is before ``as_of``."""
    return [
        Filter("target_close_date", "<", as_of),
        AnyOf((Filter("stage", "is null"), Filter("stage", "not in", tuple(CLOSED_STAGES)))),
    ]


def action_required_clauses() -> list[Clause]:
    return [Filter("review_status", "=", ACTION_REQUIRED)]


def health_totals(health: pd.DataFrame) -> dict[str, Any]:
    """Totals of gold.ace_pipeline_health: opportunities, stale, action required and the run date."""
    if health.empty:
        return {"opportunities": 0, "stale": 0, "action_required": 0, "as_of_date": None}
    as_of = health["as_of_date"].dropna()
    return {
        "opportunities": int(health["opportunity_count"].sum()),
        "stale": int(health["stale_count"].sum()),
        "action_required": int(health["action_required_count"].sum()),
        "as_of_date": as_of.max() if len(as_of) else None,
    }


# -------------------------------------------------------------------------------------- notebook analyses


def stage_counts(rows: pd.DataFrame) -> dict[str | None, int]:
    """Opportunities per current stage."""
    grouped = (
        rows.assign(stage=rows["stage"].where(rows["stage"].notna(), None))
        .groupby("stage", dropna=False)["opportunity_count"]
        .sum()
    )
    return {(None if (isinstance(k, float) and math.isnan(k)) else k): int(v) for k, v in grouped.items()}


def stage_conversion(counts: Mapping[str | None, int]) -> pd.DataFrame:
    """Stage-to-stage conversion from current stages, assuming an opportunity passed every earlier stage.

    reached(k) = opportunities now at stage k or later on the funnel (Prospect → … → Launched);
    conversion(k → k+1) = reached(k+1) / reached(k). Closed Lost opportunities are left out: the current-state
    table does not record the stage they were lost at.
    """
    rows = []
    reached = [sum(int(counts.get(s, 0)) for s in FUNNEL_STAGES[i:]) for i in range(len(FUNNEL_STAGES))]
    for i, stage in enumerate(FUNNEL_STAGES[:-1]):
        nxt = FUNNEL_STAGES[i + 1]
        rows.append(
            {
                "from_stage": stage,
                "to_stage": nxt,
                "reached_from": reached[i],
                "reached_to": reached[i + 1],
                "conversion": reached[i + 1] / reached[i] if reached[i] else None,
            }
        )
    return pd.DataFrame(rows)


def pipeline_by_segment(opportunities: pd.DataFrame, segment: str) -> pd.DataFrame:
    """Count, USD monthly spend, won / lost and win rate per value of ``segment`` (missing → '(none)')."""
    if opportunities.empty:
        return pd.DataFrame(
            columns=[segment, "opportunity_count", "expected_monthly_spend_usd", "won", "lost", "win_rate"]
        )
    # segments are silver columns, not dimensions of the ace_facts model: compute the metrics per segment's rows
    keys = opportunities[segment].fillna(NO_VALUE)
    names = ["opportunity_count", "expected_monthly_spend_usd", "won_count", "lost_count", "win_rate"]
    rows = []
    for value, part in opportunities.groupby(keys, sort=True):
        figures = metric_values(names, opportunity_grain_facts(part, None))
        rows.append(
            {
                segment: value,
                "opportunity_count": int(figures["opportunity_count"]),
                "expected_monthly_spend_usd": float(figures["expected_monthly_spend_usd"]),
                "won": int(figures["won_count"]),
                "lost": int(figures["lost_count"]),
                "win_rate": None if figures["win_rate"] is None else float(figures["win_rate"]),
            }
        )
    out = pd.DataFrame(rows)
    out["expected_monthly_spend_usd"] = out["expected_monthly_spend_usd"].round(2)
    return out.sort_values(["expected_monthly_spend_usd", segment], ascending=[False, True]).reset_index(
        drop=True
    )


def spend_forecast(rows: pd.DataFrame, weights: Mapping[str, float] | None = None) -> pd.DataFrame:
    """Expected USD monthly spend per close month, unweighted and weighted by stage (see DEFAULT_STAGE_WEIGHTS).

    A stage without a weight counts 0 (it is reported in ``unweighted`` only); undated rows are left out of
    the monthly forecast because they have no month to land in.
    """
    weights = dict(DEFAULT_STAGE_WEIGHTS if weights is None else weights)
    dated = rows[rows["target_close_month"].notna()]
    if dated.empty:
        return pd.DataFrame(
            columns=["target_close_month", "unweighted_usd", "weighted_usd", "cumulative_weighted_usd"]
        )
    frame = pd.DataFrame(
        {
            "target_close_month": dated["target_close_month"],
            "unweighted_usd": to_float(dated["expected_monthly_spend_usd"]),
            "weight": dated["stage"].map(lambda s: float(weights.get(s, 0.0))),
        }
    )
    frame["weighted_usd"] = frame["unweighted_usd"] * frame["weight"]
    out = (
        frame.groupby("target_close_month", sort=True)[["unweighted_usd", "weighted_usd"]].sum().reset_index()
    )
    out["unweighted_usd"] = out["unweighted_usd"].round(2)
    out["weighted_usd"] = out["weighted_usd"].round(2)
    out["cumulative_weighted_usd"] = out["weighted_usd"].cumsum().round(2)
    return out


# ------------------------------------------------------------------------------------------ pipeline health


def freshness(last: datetime | None, now: datetime, *, stale_after: timedelta = timedelta(hours=24)) -> str:
    """'fresh' / 'stale' / 'never written' for a last-written time."""
    if last is None:
        return "never written"
    return "fresh" if now - last <= stale_after else "stale"


def age_text(last: datetime | None, now: datetime) -> str:
    """A short human age ('3 h', '2 d')."""
    if last is None:
        return "—"
    seconds = max(0.0, (now - last).total_seconds())
    if seconds < 3600:
        return f"{int(seconds // 60)} min"
    if seconds < 86400:
        return f"{int(seconds // 3600)} h"
    return f"{int(seconds // 86400)} d"


def table_overview(
    stats: Sequence[Any], last_runs: Mapping[str, datetime], now: datetime, layers: Sequence[str] = ()
) -> pd.DataFrame:
    """One row per table with the tenant's rows, files, last write, last successful run and freshness."""
    rows = []
    for s in stats:
        layer = s.table.split(".", 1)[0]
        if layers and layer not in layers:
            continue
        last_run = last_runs.get(s.table)
        rows.append(
            {
                "layer": layer,
                "table": s.table,
                "rows": s.rows,
                "files": s.files,
                "size_bytes": s.size_bytes,
                "last_written_at": s.last_modified,
                "last_successful_run_at": last_run,
                "freshness": freshness(s.last_modified, now),
                "age": age_text(s.last_modified, now),
                "version": s.version,
            }
        )
    return pd.DataFrame(
        rows,
        columns=[
            "layer",
            "table",
            "rows",
            "files",
            "size_bytes",
            "last_written_at",
            "last_successful_run_at",
            "freshness",
            "age",
            "version",
        ],
    )


def rows_per_layer(overview: pd.DataFrame) -> pd.DataFrame:
    if overview.empty:
        return pd.DataFrame(columns=["layer", "rows"])
    return overview.groupby("layer", sort=False)["rows"].sum().reset_index()


def last_successful_runs(
    lineage: pd.DataFrame, ingestion_runs: pd.DataFrame, bronze_tables: Sequence[str]
) -> dict[str, datetime]:
    """Per table, when a job last produced it: lineage edges for silver/gold, succeeded ingestion runs for bronze."""
    out: dict[str, datetime] = {}
    if not lineage.empty:
        for table, at in lineage.groupby("output_table")["recorded_at"].max().items():
            if pd.notna(at):
                out[table] = pd.Timestamp(at).to_pydatetime()
    if not ingestion_runs.empty:
        ok = ingestion_runs[ingestion_runs["status"] == "succeeded"]["finished_at"].dropna()
        if len(ok):
            last = pd.Timestamp(ok.max()).to_pydatetime()
            for t in bronze_tables:
                out.setdefault(t, last)
    return out


def quality_over_time(results: pd.DataFrame) -> pd.DataFrame:
    """Per run and table: when it ran, how many expectations passed and failed."""
    if results.empty:
        return pd.DataFrame(columns=["run_id", "table_name", "validated_at", "passed", "failed", "run"])
    frame = results.assign(passed=results["success"].fillna(False).astype(bool).astype(int))
    frame["failed"] = 1 - frame["passed"]
    out = (
        frame.groupby(["run_id", "table_name"])
        .agg(validated_at=("validated_at", "min"), passed=("passed", "sum"), failed=("failed", "sum"))
        .reset_index()
    )
    out = out.sort_values(["validated_at", "table_name"]).reset_index(drop=True)
    out["run"] = [
        f"{pd.Timestamp(t):%Y-%m-%d %H:%M} {r}"
        for t, r in zip(out["validated_at"], out["run_id"], strict=False)
    ]
    return out


def failing_expectations(results: pd.DataFrame) -> pd.DataFrame:
    """The expectations that failed, newest first."""
    cols = [
        "validated_at",
        "table_name",
        "expectation",
        "column_name",
        "action",
        "unexpected_count",
        "element_count",
        "run_id",
    ]
    if results.empty:
        return pd.DataFrame(columns=cols)
    failed = results[~results["success"].fillna(False).astype(bool)]
    return (
        failed.reindex(columns=cols)
        .sort_values(["validated_at", "table_name"], ascending=[False, True])
        .reset_index(drop=True)
    )


def quarantine_summary(quarantine: pd.DataFrame) -> pd.DataFrame:
    """Quarantined records per entity and reason."""
    if quarantine.empty:
        return pd.DataFrame(columns=["entity", "reason", "records"])
    frame = quarantine.assign(
        entity=quarantine["entity"].fillna(NO_VALUE), reason=quarantine["reason"].fillna(NO_VALUE)
    )
    return (
        frame.groupby(["entity", "reason"])
        .size()
        .rename("records")
        .reset_index()
        .sort_values(["records", "entity", "reason"], ascending=[False, True, True])
        .reset_index(drop=True)
    )


def lineage_dot(edges: pd.DataFrame, highlight: Iterable[str] = ()) -> str | None:
    """A Graphviz DOT digraph of table-level lineage (None when there are no edges)."""
    if edges.empty:
        return None
    pairs = sorted(
        {
            (str(a), str(b))
            for a, b in zip(edges["input_table"], edges["output_table"], strict=False)
            if a is not None and b is not None
        }
    )
    if not pairs:
        return None
    marked = set(highlight)
    nodes = sorted({n for p in pairs for n in p})
    colours = {
        "bronze": "#cd7f32",
        "silver": "#c0c0c0",
        "gold": "#ffd700",
        "platinum": "#e5e4e2",
        "ops": "#9fc5e8",
    }
    lines = [
        "digraph lineage {",
        '  rankdir="LR";',
        '  node [shape=box, style="rounded,filled", fontsize=11];',
    ]
    for n in nodes:
        colour = colours.get(n.split(".", 1)[0], "#ffffff")
        pen = ", penwidth=3" if n in marked else ""
        lines.append(f"  {json.dumps(n)} [fillcolor={json.dumps(colour)}{pen}];")
    lines += [f"  {json.dumps(a)} -> {json.dumps(b)};" for a, b in pairs]
    lines.append("}")
    return "\n".join(lines)


def recent(frame: pd.DataFrame, column: str, since: datetime | None) -> pd.DataFrame:
    """Rows whose ``column`` is at or after ``since`` (all rows when ``since`` is None)."""
    if since is None or frame.empty:
        return frame
    values = pd.to_datetime(frame[column], utc=True)
    return frame[values >= pd.Timestamp(since)]


# ------------------------------------------------------------------------------------- data-quality service

ANOMALY_SUITE = "anomaly"  # lakehouse.quality.monitor.ANOMALY_SUITE: the suite of anomaly-detection issues
SEVERITY_ORDER = {"critical": 0, "warning": 1}
PROFILE_VALUE_COLUMNS = ("min_value", "max_value", "quantiles", "top_values")


def anomalies(issues: pd.DataFrame) -> pd.DataFrame:
    """Anomaly-detection issues (volume, freshness, distribution), most severe and newest first."""
    cols = ["observed_at", "severity", "table_name", "kind", "column_name", "message", "run_id"]
    if issues.empty or "suite" not in issues:
        return pd.DataFrame(columns=cols)
    found = issues[issues["suite"] == ANOMALY_SUITE].copy()
    if found.empty:
        return pd.DataFrame(columns=cols)
    found["kind"] = found["expectation_type"].str.removesuffix("_anomaly")
    found["message"] = [
        "; ".join(keys) if keys is not None and len(keys) else "" for keys in found["sample_keys"]
    ]
    found["_rank"] = found["severity"].map(SEVERITY_ORDER).fillna(len(SEVERITY_ORDER))
    found = found.sort_values(["_rank", "observed_at"], ascending=[True, False])
    return found[cols].reset_index(drop=True)


def volume_history(profiles: pd.DataFrame) -> pd.DataFrame:
    """Rows written per table and profiled run (one row per table and run), oldest first."""
    cols = ["table_name", "profiled_at", "rows_written", "row_count", "run_id"]
    if profiles.empty:
        return pd.DataFrame(columns=cols)
    runs = profiles.drop_duplicates(["table_name", "run_id"])[cols]
    return runs.sort_values(["table_name", "profiled_at"]).reset_index(drop=True)


def latest_profile(profiles: pd.DataFrame, table: str, *, show_values: bool) -> pd.DataFrame:
    """The latest profile of ``table``, one row per column; value columns (min, max, median, top values) only
    when ``show_values`` (the viewer is cleared for confidential data)."""
    cols = ["column_name", "data_type", "null_rate", "distinct_count", "distinct_rate"]
    value_cols = ["min_value", "max_value", "median", "top_values"]
    rows = profiles[profiles["table_name"] == table] if len(profiles) else profiles
    if rows.empty:
        return pd.DataFrame(columns=cols + (value_cols if show_values else []))
    latest = rows[rows["profiled_at"] == rows["profiled_at"].max()]
    latest = latest.drop_duplicates("column_name").copy()
    if not show_values:
        return latest[cols].reset_index(drop=True)
    from lakehouse.quality.anomaly import QUANTILE_PROBS

    middle = QUANTILE_PROBS.index(0.5)
    latest["median"] = [
        None
        if q is None or (isinstance(q, float) and math.isnan(q)) or len(q) <= middle
        else float(q[middle])
        for q in latest["quantiles"]
    ]
    latest["top_values"] = [
        ", ".join(f"{t['value']} ({t['count']:,})" for t in tops) if tops is not None and len(tops) else ""
        for tops in latest["top_values"]
    ]
    return latest[cols + value_cols].reset_index(drop=True)


def overdue_tables(profiles: pd.DataFrame, now: datetime) -> pd.DataFrame:
    """Tables not written for longer than their usual interval (lakehouse.quality.anomaly.overdue)."""
    from lakehouse.quality.anomaly import overdue
    from lakehouse.quality.profile import profiles_from_rows

    cols = ["table_name", "severity", "message"]
    if profiles.empty:
        return pd.DataFrame(columns=cols)
    history = profiles_from_rows(profiles)
    rows = []
    for table in sorted({p.table_name for p in history}):
        late = overdue([p for p in history if p.table_name == table], now)
        if late is not None:
            rows.append({"table_name": table, "severity": late.severity, "message": late.message})
    return pd.DataFrame(rows, columns=cols)
