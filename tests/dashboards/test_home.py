"""Home page: sign-in with an API key or token through the control-plane API, tenant scoping, platform-admin
tenant switch, empty lake; and that the dashboards need nothing of the control plane but its URL."""

from __future__ import annotations

import ast
import dataclasses
import os
import subprocess
import sys

import httpx
import pytest

from tests.dashboards.conftest import REPO, free_port, metrics, open_page, pct, usd
from tests.dashboards.cpseed import issue_token
from tests.dashboards.lakedata import EXPECTED

pytestmark = pytest.mark.slow  # over a second of work in all: left out of `make test-fast`

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


def test_a_token_signed_with_another_secret_is_refused(dash_env):
    foreign = dataclasses.replace(dash_env, jwt_secret="another-secret-another-secret-another-secret")
    token = issue_token(foreign, dash_env.acme_analyst)
    at = open_page(HOME, token)
    assert not at.metric
    assert any("sign-in refused" in e.value for e in at.error)


def test_the_dashboards_sign_in_with_no_database_url_and_no_jwt_secret(dash_env, monkeypatch):
    monkeypatch.setenv("LAKEHOUSE_DATABASE_URL", "postgresql://nobody@127.0.0.1:9/nowhere")
    assert "LAKEHOUSE_JWT_SECRET" not in os.environ
    token = issue_token(dash_env, dash_env.globex_analyst)  # signed by the API's secret, not known here
    assert metrics(open_page(HOME, dash_env.acme_analyst)) == _headline("acme")
    assert metrics(open_page(HOME, token)) == _headline("globex")


def test_a_key_revoked_through_the_api_stops_working_on_the_dashboards(dash_env, cp_api):
    admin = {"X-API-Key": dash_env.platform_admin, "X-Audit-Reason": "dashboard revocation test"}
    with httpx.Client(base_url=cp_api, headers=admin) as api:
        created = api.post("/tenants/acme/api-keys", json={"name": "short-lived", "role": "analyst"})
        assert created.status_code == 201, created.text
        key = created.json()["key"]
        assert metrics(open_page(HOME, key)) == _headline("acme")
        assert api.delete(f"/tenants/acme/api-keys/{created.json()['id']}").status_code == 200
    at = open_page(HOME, key)
    assert not at.metric
    assert any("sign-in refused" in e.value for e in at.error)


def test_without_a_control_plane_url_sign_in_says_what_is_missing(dash_env, monkeypatch):
    monkeypatch.delenv("LAKEHOUSE_CONTROL_PLANE_URL")
    at = open_page(HOME, dash_env.acme_analyst)
    assert not at.metric
    assert any("LAKEHOUSE_CONTROL_PLANE_URL is not set" in e.value for e in at.error)


def test_an_unreachable_control_plane_is_reported_with_its_url(dash_env, monkeypatch):
    url = f"http://127.0.0.1:{free_port()}"
    monkeypatch.setenv("LAKEHOUSE_CONTROL_PLANE_URL", url)
    at = open_page(HOME, dash_env.acme_analyst)
    assert not at.metric
    assert any(url in e.value and "unreachable" in e.value for e in at.error)


def _control_plane_imports(path) -> set[str]:
    tree = ast.parse(path.read_text(), str(path))
    names = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    names |= {n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    return {m for m in names if m.split(".")[0] == "control_plane"}


def test_the_dashboards_import_no_control_plane_module_but_its_client():
    imported = {
        str(p.relative_to(REPO)): _control_plane_imports(p) for p in (REPO / "dashboards").rglob("*.py")
    }
    assert {path: mods for path, mods in imported.items() if mods - {"control_plane.client"}} == {}
    assert imported["dashboards/lib/auth.py"] == {"control_plane.client"}  # the scan does see imports
    code = (
        "import sys, dashboards.lib.ui, dashboards.lib.auth, dashboards.lib.marketplace; "
        "print(sorted(m for m in sys.modules if m.startswith('control_plane')))"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "['control_plane', 'control_plane.client']"


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
