"""Leads & Co-sell: the lead funnel (source and status -> converted -> won), AWS engagement health and the
next-best-action backlog AWS recommends, for the signed-in tenant."""

from __future__ import annotations

import altair as alt
import streamlit as st

from dashboards.lib import cosell as C
from dashboards.lib import ui
from dashboards.lib.data import table_def

ctx = ui.page("Leads & Co-sell", ":material/handshake:")
viewer, tenant = ctx.viewer, ctx.tenant
funnel = ui.query(ctx, "cosell_funnel")
health_columns = viewer.visible_columns(table_def(C.HEALTH))
health = ui.query(ctx, "cosell_health", tuple(health_columns))
if funnel.empty and health.empty:
    ui.empty_state(
        f"No co-sell data for tenant `{tenant}` yet: gold.ace_lead_funnel and gold.ace_engagement_health have no "
        "rows for it.",
        f"Sync engagements, leads and AWS opportunity summaries with `lakehouse ingest partner-central --tenant "
        f"{tenant}`, run `lakehouse pipeline run --tenant {tenant}` (or `lakehouse demo`), then press Refresh data.",
    )
    st.stop()

totals = C.funnel_totals(funnel)
k1, k2, k3, k4, k5 = st.columns(5)
k1.metric("Leads", f"{totals.leads:,}")
k2.metric("Converted to opportunities", f"{totals.converted:,}")
k3.metric("Lead conversion rate", C.rate_text(totals.conversion_rate))
k4.metric("Won from leads", f"{totals.won:,}", help="Converted leads whose opportunity is Launched")
mismatches = int(health["stage_mismatch_count"].sum()) if len(health) else 0
k5.metric("AWS stage differs", f"{mismatches:,}", help="Opportunities where AWS's stage differs from yours")

# ------------------------------------------------------------------------------------------------ funnel
st.subheader("Lead funnel")
if funnel.empty:
    ui.empty_state("No leads yet.")
else:
    sources = sorted(funnel["lead_source"].dropna().unique().tolist())
    chosen = st.multiselect("Lead source", sources, key=f"c_sources_{tenant}", placeholder="All sources")
    shown = funnel[funnel["lead_source"].isin(chosen)] if chosen else funnel
    left, right = st.columns([1, 2])
    chart = (
        alt.Chart(C.funnel_stages(shown))
        .mark_bar()
        .encode(x=alt.X("count:Q", title="Leads"), y=alt.Y("stage:N", sort=None, title=None))
    )
    left.altair_chart(chart, width="stretch")
    with right:
        ui.table(
            shown.drop(columns=["tenant_id"], errors="ignore"),
            key="funnel",
            file_name=f"{tenant}_lead_funnel",
        )

# ------------------------------------------------------------------------------------- engagement health
st.subheader("AWS engagement health")
if health.empty:
    ui.empty_state("No AWS opportunity summaries yet: AWS has not engaged on this tenant's opportunities.")
else:
    if "aws_spend_total_usd" not in health_columns:
        st.caption(f"AWS spend insights are confidential (your role is cleared for {viewer.clearance} data).")
    ui.table(
        health.drop(columns=["tenant_id"], errors="ignore"),
        key="health",
        file_name=f"{tenant}_engagement_health",
    )

# ------------------------------------------------------------------------------------------------ backlog
st.subheader("Next-best-action backlog")
backlog_columns = viewer.visible_columns(table_def(C.SUMMARY), list(C.BACKLOG_COLUMNS))
if "next_best_actions" not in backlog_columns:
    st.caption(f"Next best actions are confidential (your role is cleared for {viewer.clearance} data).")
else:
    backlog = ui.query(ctx, "cosell_backlog", tuple(backlog_columns))
    ui.table(
        backlog,
        key="backlog",
        file_name=f"{tenant}_next_best_actions",
        empty="No next best actions from AWS.",
        caption="Opportunities where AWS recommends a next step (GetAwsOpportunitySummary Insights).",
    )
