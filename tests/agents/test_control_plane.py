"""The agent hub behind the control plane: the real PDP, audit chain, approvals, quotas and cost ledger (SQLite)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import select

from control_plane.audit.models import AuditEntry
from control_plane.costs import service as costs
from control_plane.costs.ledger import DbUsageRecorder
from control_plane.costs.settings import GuardrailSettings
from control_plane.db import DbScope, utcnow
from control_plane.quotas import service as quotas
from control_plane.quotas.gate import DbQuotaGate
from control_plane.tenants.models import Tenant
from lakehouse.agents.data import MemoryData
from lakehouse.agents.hub import AgentHub, TokenBudgetExhausted
from lakehouse.guardrails import MemoryAuditSink, QuotaExceeded, Usage
from tests.agents.conftest import TODAY, allow_all, opportunity
from tests.control_plane.conftest import create_key, uid

QUESTION = "Which opportunities need attention?"


def rows_for(tenant: str) -> MemoryData:
    data = MemoryData()
    data.add(
        "silver.opportunity",
        [
            opportunity(tenant, "O1001", target_close_date="2026-11-15", next_steps=None),
            opportunity(tenant, "O1003", stage="Launched"),
        ],
    )
    return data


def set_limits(db, tenant: str, **limits: float) -> None:
    from control_plane.audit.service import SYSTEM

    with db.session(DbScope.for_platform(), write=True) as session:
        quotas.set_limits(
            session,
            tenant=session.get(Tenant, tenant),
            values=limits,
            actor=SYSTEM,
            reason="test",
            request_id=None,
        )
        session.commit()


def hub(db, tenant: str, provider, **kwargs) -> AgentHub:
    return AgentHub(
        provider=provider,
        data=rows_for(tenant),
        decide=allow_all,
        audit=MemoryAuditSink(),
        quota=DbQuotaGate(db),
        actor="user:tester",
        today=TODAY,
        **kwargs,
    )


def ledger(db, tenant: str) -> dict[str, Decimal]:
    with db.session(DbScope.for_tenant(tenant)) as session:
        return {r["resource"]: r["quantity"] for r in costs.ledger_totals(session, tenant)}


def test_tokens_of_an_ask_are_charged_to_the_cost_ledger(sqlite_stack, tenant, provider):
    db = sqlite_stack.app.state.cp.db
    result = hub(db, tenant, provider).ask(tenant, "advisor", QUESTION)
    assert result.input_tokens > 0 and result.output_tokens > 0
    assert ledger(db, tenant) == {
        "model_input_tokens": Decimal(result.input_tokens),
        "model_output_tokens": Decimal(result.output_tokens),
    }


def test_budget_exhaustion_refuses_the_ask_before_any_model_call(sqlite_stack, tenant, provider, emulator):
    db = sqlite_stack.app.state.cp.db
    set_limits(db, tenant, monthly_compute_usd=1)
    settings = GuardrailSettings(cost_rate_api_call_usd=Decimal("0.01"))
    DbUsageRecorder(db, settings).record(
        tenant, "sync-1", Usage(api_calls=100), usage_at=utcnow(), source="test"
    )
    with pytest.raises(
        QuotaExceeded, match=r"has reached the monthly budget \(\$1\.00.*the agent ask was not started"
    ):
        hub(db, tenant, provider).ask(tenant, "advisor", QUESTION)
    assert emulator.count() == 0


def test_the_daily_token_quota_refuses_the_next_ask(sqlite_stack, tenant, provider, emulator):
    db = sqlite_stack.app.state.cp.db
    set_limits(db, tenant, agent_tokens_per_day=100)
    first = hub(db, tenant, provider).ask(tenant, "advisor", QUESTION)
    assert first.input_tokens + first.output_tokens >= 100
    calls = emulator.count()
    with pytest.raises(
        QuotaExceeded, match=r"agents used [\d,]+ model tokens today .* agent_tokens_per_day = 100"
    ):
        hub(db, tenant, provider).ask(tenant, "advisor", QUESTION)
    assert emulator.count() == calls


def test_an_ask_over_its_own_token_cap_stops_and_is_still_charged(sqlite_stack, tenant, provider, emulator):
    db = sqlite_stack.app.state.cp.db
    with pytest.raises(TokenBudgetExhausted, match="its cap is 50"):
        hub(db, tenant, provider, ask_token_cap=50).ask(tenant, "advisor", QUESTION)
    assert emulator.count("ok") == 1
    charged = ledger(db, tenant)
    assert charged["model_input_tokens"] == emulator.calls[0].input_tokens


def api_ask(stack, headers, tenant, agent, question):
    return stack.client.post(
        f"/tenants/{tenant}/agents/{agent}/ask", json={"question": question}, headers=headers
    )


@pytest.fixture
def wired(sqlite_stack, provider, tenant):
    app = sqlite_stack.app
    before = app.state.agent_provider, app.state.agent_data
    app.state.agent_provider, app.state.agent_data = provider, rows_for(tenant)
    yield sqlite_stack
    app.state.agent_provider, app.state.agent_data = before


def test_the_api_answers_with_citations_and_audits_every_tool_call(wired, tenant):
    analyst = create_key(wired.client, wired.admin, tenant, "analyst")
    resp = api_ask(wired, analyst, tenant, "advisor", QUESTION)
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["citations"] == ["silver.opportunity/O1001"]
    assert [(c["name"], c["outcome"]) for c in body["tool_calls"]] == [
        ("opportunities_needing_attention", "ok")
    ]
    with wired.app.state.cp.db.session(DbScope.for_tenant(tenant)) as session:
        actions = list(
            session.execute(
                select(AuditEntry.action)
                .where(AuditEntry.tenant_id == tenant, AuditEntry.action.like("agent.%"))
                .order_by(AuditEntry.seq)
            ).scalars()
        )
    assert actions == ["agent.tool_call", "agent.ask"]


def test_a_tool_call_the_pdp_denies_is_refused_and_audited_in_the_chain(wired, tenant):
    viewer = create_key(wired.client, wired.admin, tenant, "viewer")  # cleared up to internal only
    resp = api_ask(wired, viewer, tenant, "advisor", QUESTION)
    assert resp.status_code == 200, resp.text
    call = resp.json()["tool_calls"][0]
    assert (call["outcome"], call["reasons"]) == (
        "denied",
        ["role viewer is cleared up to internal, not confidential"],
    )
    assert resp.json()["citations"] == [] and "O1001" not in resp.json()["answer"]
    with wired.app.state.cp.db.session(DbScope.for_tenant(tenant)) as session:
        denied = (
            session.execute(
                select(AuditEntry).where(
                    AuditEntry.tenant_id == tenant, AuditEntry.action == "agent.tool_denied"
                )
            )
            .scalars()
            .all()
        )
    assert [(e.resource, e.reason) for e in denied] == [
        (
            "agent/advisor/tool/opportunities_needing_attention",
            "role viewer is cleared up to internal, not confidential",
        )
    ]


def test_the_api_refuses_another_tenants_agents_and_bad_questions(wired, tenant, sqlite_stack):
    other = f"ent-{uid()}"
    assert (
        sqlite_stack.client.put(
            f"/tenants/{other}", json={"kind": "enterprise", "name": "O"}, headers=sqlite_stack.admin
        ).status_code
        == 201
    )
    analyst = create_key(wired.client, wired.admin, tenant, "analyst")
    assert api_ask(wired, analyst, other, "advisor", QUESTION).status_code == 404
    assert api_ask(wired, analyst, tenant, "spy", QUESTION).status_code == 422
    assert api_ask(wired, analyst, tenant, "advisor", "").status_code == 422


def test_the_api_answers_429_when_the_budget_is_spent(wired, tenant):
    set_limits(wired.app.state.cp.db, tenant, agent_tokens_per_day=0)
    analyst = create_key(wired.client, wired.admin, tenant, "analyst")
    resp = api_ask(wired, analyst, tenant, "advisor", QUESTION)
    assert resp.status_code == 429 and "agent_tokens_per_day = 0" in resp.json()["detail"]
    assert int(resp.headers["Retry-After"]) >= 1


def test_the_prompt_registry_lists_versions_with_owner_model_and_approval(wired, tenant):
    analyst = create_key(wired.client, wired.admin, tenant, "analyst")
    prompts = wired.client.get("/agents/prompts", headers=analyst).json()
    assert [(p["id"], p["version"], p["approval"]["status"]) for p in prompts] == [
        ("partner-advisor", "1.0.0", "approved"),
        ("partner-advisor", "1.1.0-rc.1", "in_review"),
        ("doc-agent", "1.0.0", "approved"),
        ("ops-agent", "1.0.0", "approved"),
        ("support-agent", "1.0.0", "approved"),
    ]


def test_a_requested_change_becomes_a_pending_approval_through_the_approvals_flow(wired, tenant):
    admin_key = create_key(wired.client, wired.admin, tenant, "tenant_admin")
    question = "Please request an update of O1001 next steps to 'Book AWS SA session'"
    resp = api_ask(wired, admin_key, tenant, "advisor", question)
    assert resp.status_code == 200, resp.text
    calls = {c["name"]: c for c in resp.json()["tool_calls"]}
    assert calls["request_opportunity_update"]["outcome"] == "ok", calls["request_opportunity_update"]
    approvals = wired.client.get(f"/tenants/{tenant}/approvals", headers=admin_key).json()
    assert [(a["action"], a["status"], a["target"]) for a in approvals] == [
        ("partner_central.update_opportunity", "pending", "Sandbox/opportunity/O1001")
    ]
    assert f"approval {approvals[0]['id']} requested" in resp.json()["answer"]


def test_an_analyst_may_not_request_changes(wired, tenant):
    analyst = create_key(wired.client, wired.admin, tenant, "analyst")
    question = "Please request an update of O1001 next steps to 'Book AWS SA session'"
    calls = {c["name"]: c for c in api_ask(wired, analyst, tenant, "advisor", question).json()["tool_calls"]}
    assert calls["request_opportunity_update"]["outcome"] == "denied"
    assert wired.client.get(f"/tenants/{tenant}/approvals", headers=wired.admin).json() == []
