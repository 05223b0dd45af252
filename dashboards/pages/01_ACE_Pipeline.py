"""ACE pipeline KPI pack: pipeline by stage and close month, spend, win rate, review health, lists, drill-down."""

from __future__ import annotations

import streamlit as st

from dashboards.lib import charts, datasets, ui
from dashboards.lib import processing as P
from dashboards.lib.data import column_classification

LIST_ROWS = 100  # rows shown per list (the CSV download has every row)
DRILL_ROWS = 200

ctx = ui.page("ACE pipeline", ":material/trending_up:")
viewer, tenant = ctx.viewer, ctx.tenant
options = ui.query(ctx, "filter_options")
if not options["stages"]:
    ui.empty_state(
        f"No ACE pipeline for tenant `{tenant}` yet: gold.ace_pipeline has no rows for it.",
        f"Run `lakehouse pipeline run --tenant {tenant}` (or `lakehouse demo`), then press Refresh data.",
    )
    st.stop()

spend_ok = viewer.cleared_for(column_classification("gold.ace_pipeline", "expected_monthly_spend_usd"))
dims_ok = viewer.cleared_for(
    column_classification("silver.opportunity", "customer_industry")
) and viewer.cleared_for(column_classification("silver.opportunity", "customer_country_code"))

# ----------------------------------------------------------------------------------------------- filters
with st.sidebar:
    st.header("Filters")
    stages = st.multiselect("Stage", options["stages"], key=f"f_stage_{tenant}", placeholder="All stages")
    months = options["months"]
    month_from = month_to = None
    if len(months) > 1:
        lo, hi = st.select_slider(
            "Target close month", options=months, value=(months[0], months[-1]), key=f"f_months_{tenant}"
        )
        month_from = lo if lo != months[0] else None
        month_to = hi if hi != months[-1] else None
    include_undated = st.checkbox(
        "Include opportunities without a target close date", value=True, key=f"f_undated_{tenant}"
    )
    industries: list[str] = []
    countries: list[str] = []
    if dims_ok:
        industries = st.multiselect(
            "Industry", options["industries"], key=f"f_industry_{tenant}", placeholder="All industries"
        )
        countries = st.multiselect(
            "Country", options["countries"], key=f"f_country_{tenant}", placeholder="All countries"
        )
    else:
        st.caption(
            "Industry and country filters use confidential columns; your role is cleared for "
            f"{viewer.clearance} data."
        )

filters = P.PipelineFilters(
    stages=tuple(stages),
    month_from=month_from,
    month_to=month_to,
    include_undated=include_undated,
    industries=tuple(industries),
    countries=tuple(countries),
)
opportunity = datasets.table_def("silver.opportunity")
list_columns = tuple(viewer.visible_columns(opportunity, list(datasets.LIST_COLUMNS)))
drill_columns = tuple(viewer.visible_columns(opportunity, list(datasets.DRILL_COLUMNS)))
drill_stage = st.session_state.get(f"drill_stage_{tenant}", "All")
drill_month = st.session_state.get(f"drill_month_{tenant}", "All")
drill = filters
if drill_stage != "All":
    drill = P.PipelineFilters(**{**filters.__dict__, "stages": (drill_stage,)})
if drill_month != "All":
    drill = P.PipelineFilters(
        **{**drill.__dict__, "month_from": drill_month, "month_to": drill_month, "include_undated": False}
    )
view = ui.query(ctx, "pipeline_view", filters)

# -------------------------------------------------------------------------------------------------- KPIs
k1, k2, k3, k4, k5 = st.columns(5)
k1.metric("Opportunities", P.format_count(view.kpis.opportunities))
k2.metric(
    "Expected monthly spend (USD)",
    P.format_usd(view.kpis.expected_monthly_spend_usd) if spend_ok else "restricted",
    help="Sum of ExpectedCustomerSpend in USD with frequency Monthly"
    if spend_ok
    else "Confidential: needs analyst clearance",
)
k3.metric(
    "Win rate",
    P.format_rate(view.kpis.win_rate),
    help=f"Launched / (Launched + Closed Lost) = {view.kpis.won} / {view.kpis.won + view.kpis.lost}; "
    "not affected by the stage filter",
)
k4.metric(
    "Stale", P.format_count(view.stale), help=f"Open, with a target close date before {view.as_of_date}"
)
k5.metric("Action Required", P.format_count(view.action_required))
source = (
    "gold.ace_facts"
    if view.kpis.source == "gold"
    else "silver.opportunity (gold has no industry or country dimension)"
)
st.caption(f"Source: {source}" + (f" · run date {view.as_of_date}" if view.as_of_date else ""))

# ------------------------------------------------------------------------------------------- the pipeline
st.subheader("Pipeline by stage and close month")
rows = view.rows
if rows.empty:
    ui.empty_state(
        "No opportunities match these filters.", "Widen the stage, month, industry or country filters."
    )
else:
    tabs = st.tabs(["Opportunities", "Expected monthly spend"] if spend_ok else ["Opportunities"])
    with tabs[0]:
        st.altair_chart(charts.pipeline_by_month(rows, "opportunity_count"), width="stretch")
    if spend_ok:
        with tabs[1]:
            st.altair_chart(charts.pipeline_by_month(rows, "expected_monthly_spend_usd"), width="stretch")
    shown = rows if spend_ok else rows.drop(columns=["expected_monthly_spend_usd"])
    ui.table(shown, key="pipeline", file_name=f"{tenant}_ace_pipeline")

# ------------------------------------------------------------------------------------ review-status health
st.subheader("Review-status health")
health = ui.query(ctx, "gold_health")
if health.empty:
    ui.empty_state("gold.ace_pipeline_health has no rows for this tenant yet.")
else:
    st.caption(
        "All current opportunities of the tenant (the filters above do not apply), as of the run date."
    )
    left, right = st.columns([3, 2])
    left.altair_chart(charts.review_status(health), width="stretch")
    with right:
        ui.table(health.drop(columns=["tenant_id"]), key="health", file_name=f"{tenant}_ace_pipeline_health")

# ------------------------------------------------------------------------------------------------ lists
st.subheader("Stale and Action Required")
stale_tab, action_tab = st.tabs([f"Stale ({view.stale:,})", f"Action Required ({view.action_required:,})"])
for tab, kind, label, total in (
    (stale_tab, "stale", "stale", view.stale),
    (action_tab, "action_required", "Action Required", view.action_required),
):
    with tab:
        rows_, _ = ui.query(
            ctx, "opportunity_list", filters, kind, columns=list_columns, count=False, limit=LIST_ROWS
        )
        ui.table(
            rows_,
            key=f"list_{kind}",
            file_name=f"{tenant}_{kind}_opportunities",
            empty=f"No {label} opportunities match these filters.",
            caption=f"{len(rows_):,} of {total:,} shown; the CSV has all of them"
            if total > len(rows_)
            else None,
            csv=ui.full_csv(
                ctx, "opportunity_list", filters, kind, columns=list_columns, count=False, limit=None
            ),
        )

# ------------------------------------------------------------------------------------------- drill-down
st.subheader("Drill-down: opportunities")
d1, d2 = st.columns(2)
stage_choices = ["All", *options["stages"]]
month_choices = ["All", *options["months"]]
d1.selectbox("Stage", stage_choices, key=f"drill_stage_{tenant}")
d2.selectbox("Target close month", month_choices, key=f"drill_month_{tenant}")
opps, total = ui.query(
    ctx, "opportunity_list", drill, "all", columns=drill_columns, with_spend=spend_ok, limit=DRILL_ROWS
)
ui.table(
    opps,
    key="drill",
    file_name=f"{tenant}_opportunities",
    empty="No opportunities match.",
    caption=(f"{len(opps):,} of {total:,} shown; the CSV has all of them · " if total > len(opps) else "")
    + f"No PII; columns limited to your clearance ({viewer.clearance}).",
    csv=ui.full_csv(
        ctx, "opportunity_list", drill, "all", columns=drill_columns, with_spend=spend_ok, limit=None
    ),
)
