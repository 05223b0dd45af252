"""Home: sign in, pick a tenant, see the headline numbers and where to go next."""

from __future__ import annotations

import streamlit as st

from dashboards.lib import processing as P
from dashboards.lib import ui
from dashboards.lib.data import column_classification

ctx = ui.page("Partner Central Lakehouse", ":material/home:")
st.caption(f"Tenant `{ctx.tenant}` · ACE opportunities from AWS Partner Central, governed per tenant.")

view = ui.query(ctx, "pipeline_view", P.PipelineFilters())
if view.empty:
    ui.empty_state(
        f"No ACE pipeline for tenant `{ctx.tenant}` yet: gold.ace_pipeline has no rows for it.",
        f"Load data with `lakehouse ingest partner-central --tenant {ctx.tenant}` and "
        f"`lakehouse pipeline run --tenant {ctx.tenant}` (or run `lakehouse demo`), then press Refresh data.",
    )
else:
    spend_ok = ctx.viewer.cleared_for(
        column_classification("gold.ace_pipeline", "expected_monthly_spend_usd")
    )
    c1, c2, c3, c4 = st.columns(4)
    c1.metric("Opportunities", P.format_count(view.kpis.opportunities))
    c2.metric(
        "Expected monthly spend (USD)",
        P.format_usd(view.kpis.expected_monthly_spend_usd) if spend_ok else "restricted",
        help=None if spend_ok else "Confidential: needs analyst clearance",
    )
    c3.metric(
        "Win rate",
        P.format_rate(view.kpis.win_rate),
        help=f"{view.kpis.won} won / {view.kpis.won + view.kpis.lost} closed",
    )
    c4.metric("Action Required", P.format_count(view.action_required))
    if view.as_of_date is not None:
        st.caption(f"Gold marts as of {view.as_of_date}.")

st.subheader("Dashboards")
st.page_link(
    "pages/01_ACE_Pipeline.py",
    label="ACE pipeline KPI pack",
    icon=":material/trending_up:",
    help="Pipeline by stage and close month, spend, win rate, review health, stale and Action Required "
    "lists, drill-down",
)
st.page_link(
    "pages/02_Pipeline_Health.py",
    label="Pipeline health",
    icon=":material/monitor_heart:",
    help="Freshness, rows per layer, quarantine, data quality over time, ingestion runs, lineage",
)
