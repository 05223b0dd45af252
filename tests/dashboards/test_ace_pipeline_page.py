"""ACE pipeline KPI pack: filters change the numbers, tenants never see each other's rows, empty lake."""

from __future__ import annotations

import pytest

from tests.dashboards.conftest import columns_shown, frames, metrics, open_page, pct, shown_values, usd
from tests.dashboards.lakedata import EXPECTED, OPPORTUNITIES

pytestmark = pytest.mark.slow  # over a second of work in all: left out of `make test-fast`

PAGE = "pages/01_ACE_Pipeline.py"
ACME_IDS = {o[0] for o in OPPORTUNITIES["acme"]}
GLOBEX_IDS = {o[0] for o in OPPORTUNITIES["globex"]}


def _ids_on_page(at) -> set[str]:
    return {v for v in shown_values(at) if v.startswith("O-")}


def test_unfiltered_kpis_equal_the_hand_computed_numbers(dash_env):
    at = open_page(PAGE, dash_env.acme_analyst)
    e = EXPECTED["acme"]
    assert metrics(at) == {
        "Opportunities": "7",
        "Expected monthly spend (USD)": usd(e["spend"]),
        "Win rate": pct(e["win_rate"]),
        "Stale": "1",
        "Action Required": "2",
    }


def test_stage_filter_changes_count_and_spend_but_not_win_rate(dash_env):
    at = open_page(PAGE, dash_env.acme_analyst)
    at.multiselect(key="f_stage_acme").select("Launched").run()
    shown = metrics(at)
    assert shown["Opportunities"] == "2"
    assert shown["Expected monthly spend (USD)"] == usd(EXPECTED["acme"]["launched"]["spend"])
    assert shown["Win rate"] == pct(2 / 3)
    assert shown["Stale"] == "0" and shown["Action Required"] == "0"


def test_industry_filter_is_computed_from_silver(dash_env):
    at = open_page(PAGE, dash_env.acme_analyst)
    at.multiselect(key="f_industry_acme").select("Software and Internet").run()
    e = EXPECTED["acme"]["software"]
    assert metrics(at) == {
        "Opportunities": "3",
        "Expected monthly spend (USD)": usd(e["spend"]),
        "Win rate": pct(e["win_rate"]),
        "Stale": "1",
        "Action Required": "1",
    }
    assert any("silver.opportunity" in c.value for c in at.caption)


def test_close_month_range_and_undated_toggle_change_the_numbers(dash_env):
    at = open_page(PAGE, dash_env.acme_analyst)
    at.select_slider(key="f_months_acme").set_range("2026-07", "2026-08").run()
    assert metrics(at)["Opportunities"] == "4"  # O-A2, O-A3, O-A7 and the undated O-A6
    at.checkbox(key="f_undated_acme").uncheck().run()
    shown = metrics(at)
    e = EXPECTED["acme"]["jul_aug"]
    assert shown["Opportunities"] == "3"
    assert shown["Expected monthly spend (USD)"] == usd(e["spend"])
    assert shown["Win rate"] == pct(e["win_rate"])


def test_country_filter_narrows_the_drill_down(dash_env):
    at = open_page(PAGE, dash_env.acme_analyst)
    at.multiselect(key="f_country_acme").select("DE").run()
    assert metrics(at)["Opportunities"] == "2"
    drill = frames(at)[-1]
    assert sorted(drill["opportunity_id"]) == ["O-A2", "O-A6"]
    assert drill.set_index("opportunity_id")["expected_monthly_spend_usd"].to_dict() == {
        "O-A2": 2500.0,
        "O-A6": 150.5,
    }


def test_stale_and_action_required_lists(dash_env):
    at = open_page(PAGE, dash_env.acme_analyst)
    by_first_id = {tuple(sorted(f["opportunity_id"])): f for f in frames(at) if "opportunity_id" in f}
    assert tuple(EXPECTED["acme"]["stale_ids"]) in by_first_id
    assert tuple(EXPECTED["acme"]["action_ids"]) in by_first_id


def test_drill_down_by_stage(dash_env):
    at = open_page(PAGE, dash_env.acme_analyst)
    at.selectbox(key="drill_stage_acme").select("Launched").run()
    assert sorted(frames(at)[-1]["opportunity_id"]) == ["O-A4", "O-A7"]


def test_acme_viewer_never_sees_globex_rows(dash_env):
    at = open_page(PAGE, dash_env.acme_viewer)
    ids = _ids_on_page(at)
    assert ids and ids <= ACME_IDS
    assert not any(g in v for v in shown_values(at) for g in GLOBEX_IDS)
    assert metrics(at)["Opportunities"] == "7"


def test_globex_analyst_never_sees_acme_rows(dash_env):
    at = open_page(PAGE, dash_env.globex_analyst)
    ids = _ids_on_page(at)
    assert ids == GLOBEX_IDS
    assert metrics(at)["Opportunities"] == "3"
    assert metrics(at)["Win rate"] == pct(EXPECTED["globex"]["win_rate"])


def test_viewer_sees_no_confidential_columns_and_no_confidential_filters(dash_env):
    at = open_page(PAGE, dash_env.acme_viewer)
    columns = columns_shown(at)
    assert "opportunity_id" in columns and "stage" in columns
    assert not columns & {
        "customer_industry",
        "customer_country_code",
        "project_title",
        "customer_company_name",
        "expected_monthly_spend_usd",
    }
    assert not [m for m in at.multiselect if m.key == "f_industry_acme"]


def test_no_column_classified_pii_is_ever_shown(dash_env):
    from lakehouse import catalog

    pii = {c for td in catalog.all_tables() for c, level in td.classification.items() if level == "pii"}
    at = open_page(PAGE, dash_env.platform_admin, tenant="acme")
    assert not columns_shown(at) & pii
    assert "customer_company_name" not in columns_shown(at)


def test_platform_admin_switches_to_globex_and_sees_only_globex(dash_env):
    at = open_page(PAGE, dash_env.platform_admin, tenant="globex")
    assert _ids_on_page(at) == GLOBEX_IDS
    assert metrics(at)["Expected monthly spend (USD)"] == usd(EXPECTED["globex"]["spend"])


def test_empty_lake_shows_the_empty_state(empty_env):
    at = open_page(PAGE, empty_env.acme_analyst)
    assert not at.exception
    assert not at.metric
    assert any("No ACE pipeline for tenant `acme` yet" in i.value for i in at.info)
