"""Home page: sign-in with an API key or token, tenant scoping, platform-admin tenant switch, empty lake."""

from __future__ import annotations

from tests.dashboards.conftest import metrics, open_page, pct, usd
from tests.dashboards.cpseed import issue_token
from tests.dashboards.lakedata import EXPECTED

HOME = "Home.py"


def _headline(tenant: str) -> dict[str, str]:
    e = EXPECTED[tenant]
    return {
        "Opportunities": f"{e['opportunities']:,}",
        "Expected monthly spend (USD)": usd(e["spend"]),
        "Win rate": pct(e["win_rate"]),
        "Action Required": f"{e['action_required']:,}",
    }


def test_home_shows_the_signed_in_tenants_headline_numbers(dash_env):
    at = open_page(HOME, dash_env.acme_analyst)
    assert metrics(at) == _headline("acme")


def test_a_globex_key_sees_globex_numbers_and_no_tenant_switch(dash_env):
    at = open_page(HOME, dash_env.globex_analyst)
    assert metrics(at) == _headline("globex")
    assert not [s for s in at.selectbox if s.key == "tenant_picker"]


def test_a_bearer_token_from_the_control_plane_signs_in(dash_env):
    token = issue_token(dash_env, dash_env.acme_analyst)
    at = open_page(HOME, token)
    assert metrics(at) == _headline("acme")


def test_an_unknown_key_is_refused_and_shows_no_data(dash_env):
    forged = dash_env.acme_analyst[:-4] + "AAAA"
    at = open_page(HOME, forged)
    assert not at.metric
    assert any("sign-in refused" in e.value for e in at.error)


def test_a_token_signed_with_another_secret_is_refused(dash_env, monkeypatch):
    token = issue_token(dash_env, dash_env.acme_analyst)
    monkeypatch.setenv("LAKEHOUSE_JWT_SECRET", "another-secret-another-secret-another-secret")
    from dashboards.lib import ui

    ui._access.clear()
    try:
        at = open_page(HOME, token)
    finally:
        ui._access.clear()
    assert not at.metric
    assert any("sign-in refused" in e.value for e in at.error)


def test_a_viewer_sees_counts_but_spend_is_restricted_to_analysts(dash_env):
    at = open_page(HOME, dash_env.acme_viewer)
    shown = metrics(at)
    assert shown["Opportunities"] == "7"
    assert shown["Expected monthly spend (USD)"] == "restricted"


def _dashboard_views(keys, tenant: str) -> list[tuple[str, str]]:
    from sqlalchemy import select

    from control_plane.audit.models import AuditEntry
    from control_plane.db import Database, DbScope

    db = Database(keys.database_url, pool_size=1)
    try:
        with db.session(DbScope.for_platform()) as session:
            rows = session.execute(
                select(AuditEntry.actor_role, AuditEntry.resource).where(
                    AuditEntry.action == "dashboard.view", AuditEntry.tenant_id == tenant
                )
            ).all()
            return [tuple(r) for r in rows]
    finally:
        db.dispose()


def test_platform_admin_can_switch_tenant_and_each_look_is_audited(dash_env):
    before = len(_dashboard_views(dash_env, "globex"))
    at = open_page(HOME, dash_env.platform_admin, tenant="acme")
    picker = at.selectbox(key="tenant_picker")
    assert picker.options == ["Acme (acme)", "Globex (globex)"]
    assert metrics(at) == _headline("acme")
    picker.select("globex").run()
    assert metrics(at) == _headline("globex")
    views = _dashboard_views(dash_env, "globex")
    assert len(views) == before + 1
    assert views[-1] == ("platform_admin", "tenant/globex/dashboards")


def test_a_tenant_user_looking_at_their_own_tenant_is_not_audited(dash_env):
    before = len(_dashboard_views(dash_env, "acme"))
    open_page(HOME, dash_env.acme_analyst)
    assert len(_dashboard_views(dash_env, "acme")) == before


def test_empty_lake_shows_the_empty_state_not_an_exception(empty_env):
    at = open_page(HOME, empty_env.acme_analyst)
    assert not at.exception
    assert not at.metric
    assert any("No ACE pipeline for tenant `acme` yet" in i.value for i in at.info)
