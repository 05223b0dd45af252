"""Pipeline health: filters change the numbers, per-tenant rows only, lineage, empty lake."""

from __future__ import annotations

from tests.dashboards.conftest import frames, metrics, open_page, shown_values
from tests.dashboards.lakedata import EXPECTED

PAGE = "pages/02_Pipeline_Health.py"

# rows of acme per layer, counted from lakedata: gold = 7 (stage x month groups) + 1 (win rate) + 4 (review
# statuses); silver = 7 opportunities + 8 spend entries + 2 quarantined; bronze = 9 payloads;
# ops = 6 results + 2 issues + 1 anomaly + 6 lineage edges + 2 ingestion runs + 1 watermark + 4 profile rows
ACME_ROWS = {"gold": 12, "silver": 17, "bronze": 9, "ops": 22}


def test_default_view_counts(dash_env):
    at = open_page(PAGE, dash_env.acme_analyst)
    assert metrics(at) == {
        "Tables with data": "13",
        "Rows": f"{sum(ACME_ROWS.values()):,}",
        "Quarantined records": "2",
        "Failing expectations": str(
            EXPECTED["acme"]["failing_latest"]
        ),  # the run 40 days ago is outside 30 days
        "Failed ingestion runs": "1",
    }
    assert any("ThrottlingException" in e.value for e in at.error)


def test_layer_filter_changes_tables_and_rows(dash_env):
    at = open_page(PAGE, dash_env.acme_analyst)
    at.multiselect(key="h_layers_acme").select("gold").run()
    assert metrics(at)["Rows"] == str(ACME_ROWS["gold"])
    assert metrics(at)["Tables with data"] == "3"
    at.multiselect(key="h_layers_acme").select("silver").run()
    assert metrics(at)["Rows"] == str(ACME_ROWS["gold"] + ACME_ROWS["silver"])


def test_window_filter_changes_failing_expectations(dash_env):
    at = open_page(PAGE, dash_env.acme_analyst)
    at.selectbox(key="h_window_acme").select("All time").run()
    assert metrics(at)["Failing expectations"] == str(EXPECTED["acme"]["failing_all"])
    failing = next(f for f in frames(at) if "expectation" in f.columns and "validated_at" in f.columns)
    assert sorted(failing["expectation"]) == ["close date parses", "stage in STAGES"]
    at.selectbox(key="h_window_acme").select("Last 7 days").run()
    assert metrics(at)["Failing expectations"] == "1"
    assert metrics(at)["Failed ingestion runs"] == "1"


def test_lineage_graph_is_drawn(dash_env):
    at = open_page(PAGE, dash_env.acme_analyst)
    charts = at.get("graphviz_chart")
    assert len(charts) == 1
    dot = charts[0].proto.spec
    assert '"silver.opportunity" -> "gold.ace_pipeline"' in dot
    assert '"bronze.partner_central_opportunity" -> "silver.opportunity"' in dot


def test_globex_sees_only_its_own_runs_and_quarantine(dash_env):
    at = open_page(PAGE, dash_env.globex_analyst)
    shown = metrics(at)
    assert shown["Quarantined records"] == "1"
    assert shown["Failed ingestion runs"] == "0"
    values = shown_values(at)
    assert not any("acme" in v for v in values)
    assert "globex-ing-1" in values


def test_empty_lake_shows_the_empty_state(empty_env):
    at = open_page(PAGE, empty_env.acme_analyst)
    assert not at.exception
    assert not at.metric
    assert any("Nothing has been written for tenant `acme` yet" in i.value for i in at.info)


def test_anomalies_and_the_latest_profile_are_shown(dash_env):
    at = open_page(PAGE, dash_env.acme_analyst)
    assert any(e.value == "1 critical anomaly (last 30 days)" for e in at.error)
    anomalies = next(f for f in frames(at) if "severity" in f.columns and "kind" in f.columns)
    assert anomalies[["table_name", "kind", "severity"]].values.tolist() == [
        ["silver.opportunity", "volume", "critical"]
    ]
    assert anomalies["message"].iloc[0].startswith("volume drop: 7 rows written")
    profile = next(f for f in frames(at) if "null_rate" in f.columns)
    assert profile["column_name"].tolist() == ["opportunity_id", "stage"]
    assert profile["distinct_count"].tolist() == [47, 2]
    assert (
        profile.loc[profile["column_name"] == "stage", "top_values"].iloc[0] == "Prospect (42), Launched (5)"
    )


def test_profile_values_need_confidential_clearance_and_other_tenants_anomalies_stay_hidden(dash_env):
    at = open_page(PAGE, dash_env.globex_analyst)
    assert not any("critical anomal" in e.value for e in at.error)
    assert not any("severity" in f.columns and "kind" in f.columns for f in frames(at))
    viewer = open_page(PAGE, dash_env.acme_viewer)
    profile = next(f for f in frames(viewer) if "null_rate" in f.columns)
    assert "min_value" not in profile.columns and "top_values" not in profile.columns
