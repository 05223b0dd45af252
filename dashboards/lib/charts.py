"""Altair charts for the pages (built from processed frames; no data access here)."""

from __future__ import annotations

import altair as alt
import pandas as pd

from dashboards.lib import processing as P


def _stage_order(rows: pd.DataFrame) -> list[str]:
    return [s if s is not None else P.NO_VALUE for s in P.sort_stages(rows["stage"].tolist())]


def _month_order(rows: pd.DataFrame) -> list[str]:
    months = sorted(m for m in rows["target_close_month"].dropna().unique())
    return months + ([P.NO_VALUE] if rows["target_close_month"].isna().any() else [])


def pipeline_by_month(rows: pd.DataFrame, measure: str = "opportunity_count") -> alt.Chart:
    """Stacked bars: ``measure`` per target close month, coloured by stage."""
    frame = rows.assign(
        target_close_month=rows["target_close_month"].fillna(P.NO_VALUE),
        stage=rows["stage"].fillna(P.NO_VALUE),
    )
    title = "Opportunities" if measure == "opportunity_count" else "Expected monthly spend (USD)"
    fmt = ",d" if measure == "opportunity_count" else "$,.2f"
    return (
        alt.Chart(frame)
        .mark_bar()
        .encode(
            x=alt.X("target_close_month:N", title="Target close month", sort=_month_order(rows)),
            y=alt.Y(f"sum({measure}):Q", title=title),
            color=alt.Color("stage:N", title="Stage", sort=_stage_order(rows)),
            tooltip=[
                "target_close_month",
                "stage",
                alt.Tooltip(f"sum({measure}):Q", title=title, format=fmt),
            ],
        )
        .properties(height=300)
    )


def pipeline_by_stage(rows: pd.DataFrame) -> alt.Chart:
    """Horizontal bars: opportunities per stage, in pipeline order."""
    frame = P.by_stage(rows)
    return (
        alt.Chart(frame)
        .mark_bar()
        .encode(
            y=alt.Y("stage:N", sort=frame["stage"].tolist(), title="Stage"),
            x=alt.X("opportunity_count:Q", title="Opportunities"),
            tooltip=[
                "stage",
                "opportunity_count",
                alt.Tooltip("expected_monthly_spend_usd:Q", format="$,.2f", title="Expected monthly spend"),
            ],
        )
        .properties(height=220)
    )


def review_status(health: pd.DataFrame) -> alt.Chart:
    """Opportunities per review status, with the stale and Action Required counts."""
    frame = health.assign(review_status=health["review_status"].fillna(P.NO_VALUE)).melt(
        id_vars=["review_status"],
        value_vars=["opportunity_count", "stale_count", "action_required_count"],
        var_name="measure",
        value_name="count",
    )
    return (
        alt.Chart(frame)
        .mark_bar()
        .encode(
            x=alt.X("review_status:N", title="Review status"),
            xOffset="measure:N",
            y=alt.Y("count:Q", title="Opportunities"),
            color=alt.Color("measure:N", title=""),
            tooltip=["review_status", "measure", "count"],
        )
        .properties(height=260)
    )


def rows_per_layer(frame: pd.DataFrame) -> alt.Chart:
    return (
        alt.Chart(frame)
        .mark_bar()
        .encode(
            x=alt.X("layer:N", sort=["bronze", "silver", "gold", "platinum", "ops"], title="Layer"),
            y=alt.Y("rows:Q", title="Rows"),
            tooltip=["layer", alt.Tooltip("rows:Q", format=",d")],
        )
        .properties(height=220)
    )


def quality_over_time(frame: pd.DataFrame) -> alt.Chart:
    """Passed and failed expectations per validation run."""
    long = frame.melt(
        id_vars=["run", "table_name", "run_id"],
        value_vars=["passed", "failed"],
        var_name="outcome",
        value_name="expectations",
    )
    return (
        alt.Chart(long)
        .mark_bar()
        .encode(
            x=alt.X("run:N", title="Validation run", sort=frame["run"].tolist()),
            y=alt.Y("sum(expectations):Q", title="Expectations"),
            color=alt.Color(
                "outcome:N", scale=alt.Scale(domain=["passed", "failed"], range=["#4c9a2a", "#d62728"])
            ),
            tooltip=["run_id", "table_name", "outcome", "sum(expectations):Q"],
        )
        .properties(height=240)
    )


def rows_written_over_time(frame: pd.DataFrame) -> alt.Chart:
    """Rows each profiled run wrote to one table (what volume anomalies are judged on)."""
    return (
        alt.Chart(frame)
        .mark_line(point=True)
        .encode(
            x=alt.X("profiled_at:T", title="Run"),
            y=alt.Y("rows_written:Q", title="Rows written"),
            tooltip=[
                "run_id",
                alt.Tooltip("rows_written:Q", format=",d"),
                alt.Tooltip("row_count:Q", format=",d"),
            ],
        )
        .properties(height=220)
    )
