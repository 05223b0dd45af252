"""Pipeline health: per table freshness and rows, quarantine, data quality over time, ingestion runs, lineage."""

from __future__ import annotations

from datetime import timedelta

import streamlit as st

from dashboards.lib import charts, ui
from dashboards.lib import processing as P
from dashboards.lib.datasets import now

WINDOWS = {"Last 7 days": 7, "Last 30 days": 30, "Last 90 days": 90, "All time": None}

ctx = ui.page("Pipeline health", ":material/monitor_heart:")
tenant = ctx.tenant
data = ui.query(ctx, "health_data")
stats = data["stats"]
if not any(s.exists for s in stats):
    ui.empty_state(
        f"Nothing has been written for tenant `{tenant}` yet: no lake table has a partition for it.",
        f"Ingest with `lakehouse ingest partner-central --tenant {tenant}` and run "
        f"`lakehouse pipeline run --tenant {tenant}` (or `lakehouse demo`), then press Refresh data.",
    )
    st.stop()

present_layers = [
    layer
    for layer in ("bronze", "silver", "gold", "platinum", "ops")
    if any(s.exists and s.table.startswith(f"{layer}.") for s in stats)
]
with st.sidebar:
    st.header("Filters")
    layers = st.multiselect("Layer", present_layers, key=f"h_layers_{tenant}", placeholder="All layers")
    window = st.selectbox("Runs and quality results", list(WINDOWS), index=1, key=f"h_window_{tenant}")
    only_with_data = st.checkbox("Only tables with data", value=True, key=f"h_only_{tenant}")

current = now()
since = current - timedelta(days=WINDOWS[window]) if WINDOWS[window] else None
overview = P.table_overview(stats, data["last_runs"], current, layers=layers)
if only_with_data:
    overview = overview[overview["rows"] > 0].reset_index(drop=True)
dq = P.recent(data["dq_result"], "validated_at", since)
failing = P.failing_expectations(dq)
runs = P.recent(data["ingestion_runs"], "started_at", since)
failed_runs = runs[runs["status"] == "failed"] if len(runs) else runs
succeeded = data["ingestion_runs"]
succeeded = succeeded[succeeded["status"] == "succeeded"] if len(succeeded) else succeeded
last_success = succeeded["finished_at"].max() if len(succeeded) else None
quarantine = data["quarantine"]

k1, k2, k3, k4, k5 = st.columns(5)
k1.metric("Tables with data", P.format_count(int((overview["rows"] > 0).sum())))
k2.metric("Rows", P.format_count(int(overview["rows"].sum())), help="Rows of the tenant in the tables shown")
k3.metric("Quarantined records", P.format_count(len(quarantine)))
k4.metric("Failing expectations", P.format_count(len(failing)), help=f"{window.lower()}")
k5.metric("Failed ingestion runs", P.format_count(len(failed_runs)), help=f"{window.lower()}")
st.caption(
    "Last successful ingestion: "
    + (
        f"{last_success:%Y-%m-%d %H:%M} UTC ({P.age_text(last_success.to_pydatetime(), current)} ago)"
        if last_success is not None
        else "none recorded"
    )
)

# ------------------------------------------------------------------------------------------------ tables
st.subheader("Tables")
if overview.empty:
    ui.empty_state("No table matches the layer filter.")
else:
    left, right = st.columns([3, 1])
    with left:
        ui.table(
            overview,
            key="tables",
            file_name=f"{tenant}_tables",
            column_config={"size_bytes": st.column_config.NumberColumn("size_bytes", format="%d B")},
        )
    right.altair_chart(charts.rows_per_layer(P.rows_per_layer(overview)), width="stretch")
    stale = overview[overview["freshness"] == "stale"]
    if len(stale):
        st.warning("Not written in the last 24 h: " + ", ".join(stale["table"]))

# -------------------------------------------------------------------------------------------- quarantine
st.subheader("Quarantine")
if quarantine.empty:
    st.caption("_No quarantined records for this tenant._")
else:
    left, right = st.columns([2, 3])
    with left:
        ui.table(
            P.quarantine_summary(quarantine),
            key="quarantine_summary",
            file_name=f"{tenant}_quarantine_summary",
        )
    with right:
        ui.table(
            quarantine,
            key="quarantine",
            file_name=f"{tenant}_quarantine",
            caption="Payloads stay in bronze; only ids and reasons are shown here.",
        )

# ------------------------------------------------------------------------------------------ data quality
st.subheader("Data quality")
if dq.empty:
    ui.empty_state(f"No quality results ({window.lower()}).")
else:
    tables = ["All tables", *sorted(dq["table_name"].dropna().unique().tolist())]
    chosen = st.selectbox("Table", tables, key=f"h_dq_table_{tenant}")
    if chosen != "All tables":
        dq = dq[dq["table_name"] == chosen]
        failing = P.failing_expectations(dq)
    st.altair_chart(charts.quality_over_time(P.quality_over_time(dq)), width="stretch")
    st.markdown(f"**Failing expectations** ({len(failing):,})")
    ui.table(
        failing, key="failing", file_name=f"{tenant}_failing_expectations", empty="All expectations passed."
    )
    issues = P.recent(data["dq_issue"], "observed_at", since)
    if chosen != "All tables" and len(issues):
        issues = issues[issues["table_name"] == chosen]
    with st.expander(f"Data quality issues with sample keys ({len(issues):,})"):
        ui.table(
            issues.drop(columns=["tenant_id"], errors="ignore"),
            key="issues",
            file_name=f"{tenant}_dq_issues",
            empty="No issues.",
        )

# -------------------------------------------------------------------------------- anomalies and profiles
st.subheader("Anomalies")
st.caption(
    "Volume, freshness and distribution drift of each table against its own history, checked after every "
    "pipeline write (robust z-score on same-weekday runs, expected write interval, PSI; see docs/data_quality.md)."
)
profiles = data["dq_profile"]
for _, late in P.overdue_tables(profiles, current).iterrows():
    st.warning(f"Overdue ({late['severity']}): {late['table_name']}: {late['message']}")
found = P.anomalies(P.recent(data["dq_issue"], "observed_at", since))
critical = int((found["severity"] == "critical").sum()) if len(found) else 0
if critical:
    st.error(f"{critical} critical anomal{'y' if critical == 1 else 'ies'} ({window.lower()})")
ui.table(found, key="anomalies", file_name=f"{tenant}_anomalies", empty=f"No anomalies ({window.lower()}).")
st.markdown("**Table profiles**")
if profiles.empty:
    st.caption("_No profiles yet: a table is profiled each time a pipeline run writes it._")
else:
    profiled = sorted(profiles["table_name"].dropna().unique().tolist())
    picked = st.selectbox("Profiled table", profiled, key=f"h_profile_table_{tenant}")
    volume = P.volume_history(P.recent(profiles, "profiled_at", since))
    volume = volume[volume["table_name"] == picked]
    if len(volume):
        st.altair_chart(charts.rows_written_over_time(volume), width="stretch")
    show_values = ctx.viewer.cleared_for("confidential")
    ui.table(
        P.latest_profile(profiles, picked, show_values=show_values),
        key="profile",
        file_name=f"{tenant}_{picked}_profile",
        caption=None
        if show_values
        else "Min, max, median and top values are shown to viewers cleared for confidential data.",
    )

# ---------------------------------------------------------------------------------------- ingestion runs
st.subheader("Ingestion runs")
if runs.empty:
    ui.empty_state(f"No ingestion runs ({window.lower()}).")
else:
    for _, run in failed_runs.head(5).iterrows():
        st.error(
            f"{run['ingestion_run_id']} ({run['status']}, started {run['started_at']:%Y-%m-%d %H:%M}): "
            f"{run['error'] or 'no error message'}"
        )
    ui.table(
        runs.drop(columns=["tenant_id"], errors="ignore"), key="runs", file_name=f"{tenant}_ingestion_runs"
    )

# ------------------------------------------------------------------------------------------------ lineage
st.subheader("Lineage")
dot = P.lineage_dot(data["lineage"])
if dot is None:
    ui.empty_state("No lineage recorded for this tenant yet.")
else:
    st.graphviz_chart(dot)
    edges = (
        data["lineage"]
        .drop(columns=["tenant_id"], errors="ignore")
        .sort_values("recorded_at", ascending=False)
    )
    with st.expander(f"Lineage edges ({len(edges):,})"):
        ui.table(edges, key="lineage", file_name=f"{tenant}_lineage_edges")

st.subheader("Watermarks")
ui.table(
    data["watermarks"].drop(columns=["tenant_id"], errors="ignore"),
    key="watermarks",
    file_name=f"{tenant}_watermarks",
    empty="No watermarks recorded.",
)
