"""Leads & Co-sell: funnel, engagement health and the next-best-action backlog, per tenant and clearance."""

from __future__ import annotations

import pytest

from tests.dashboards.conftest import columns_shown, frames, metrics, open_page, pct, shown_values
from tests.dashboards.lakedata import COSELL

pytestmark = pytest.mark.slow  # over a second of work in all: left out of `make test-fast`

PAGE = "pages/04_Leads_and_Cosell.py"


def expected_kpis(tenant: str) -> dict[str, str]:
    k = COSELL[tenant]["kpis"]
    return {
        "Leads": str(k["leads"]),
        "Converted to opportunities": str(k["converted"]),
        "Lead conversion rate": pct(k["conversion"]),
        "Won from leads": str(k["won"]),
        "AWS stage differs": str(k["mismatch"]),
    }


def test_acme_sees_its_funnel_totals_and_health(dash_env):
    at = open_page(PAGE, dash_env.acme_analyst)
    assert metrics(at) == expected_kpis("acme")
    health = next(
        f for f in frames(at) if "engagement_score" in f.columns and "stage_mismatch_count" in f.columns
    )
    assert health["engagement_score"].tolist() == ["High", "Low"]  # High -> Low order
    assert health["opportunity_count"].tolist() == [3, 1]


def test_the_backlog_lists_only_summaries_with_a_next_best_action(dash_env):
    at = open_page(PAGE, dash_env.acme_analyst)
    backlog = next(f for f in frames(at) if "next_best_actions" in f.columns)
    assert backlog["opportunity_id"].tolist() == ["O-A1", "O-A2"]


def test_the_source_filter_changes_the_funnel_numbers(dash_env):
    at = open_page(PAGE, dash_env.acme_analyst)
    at.multiselect(key="c_sources_acme").select("Website").run()
    funnel = next(f for f in frames(at) if "lead_source" in f.columns)
    assert funnel["lead_source"].tolist() == ["Website"]
    assert funnel["lead_count"].tolist() == [2]


def test_globex_sees_only_its_own_co_sell_data(dash_env):
    at = open_page(PAGE, dash_env.globex_analyst)
    assert metrics(at) == expected_kpis("globex")
    values = shown_values(at)
    assert "O-G1" in values and not any(v.startswith("O-A") for v in values)


def test_a_viewer_sees_no_confidential_spend_or_next_best_actions(dash_env):
    at = open_page(PAGE, dash_env.acme_viewer)
    assert metrics(at)["Leads"] == "6"
    shown = columns_shown(at)
    assert "aws_spend_total_usd" not in shown and "next_best_actions" not in shown
    assert any("confidential" in c.value for c in at.caption)


def test_empty_lake_shows_the_empty_state(empty_env):
    at = open_page(PAGE, empty_env.acme_analyst)
    assert not at.exception and not at.metric
    assert any("No co-sell data for tenant `acme` yet" in i.value for i in at.info)
