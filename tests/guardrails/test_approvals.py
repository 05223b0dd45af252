"""Approvals on both backends: who may decide, what may execute, and exactly once."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest

from control_plane.approvals import service
from control_plane.approvals.gate import DbApprovalGate
from control_plane.audit.service import Actor
from control_plane.costs.settings import GuardrailSettings
from control_plane.db import Database, DbScope, utcnow
from lakehouse.guardrails import ApprovalRefused
from lakehouse.marketplace.interfaces import payload_digest
from tests.control_plane.conftest import create_key, reasoned, uid

UPDATE = {
    "catalog": "Sandbox",
    "opportunity_id": "O3000000001",
    "last_modified_date": "2026-01-02T03:04:05.678Z",
    "changes": {"LifeCycle": {"NextSteps": "Call the CFO"}},
}


@pytest.fixture
def tenant(client, admin) -> str:
    tenant_id = f"ent-{uid()}"
    assert (
        client.put(
            f"/tenants/{tenant_id}", json={"kind": "enterprise", "name": "E"}, headers=admin
        ).status_code
        == 201
    )
    return tenant_id


@pytest.fixture
def keys(client, admin, tenant) -> dict[str, dict[str, str]]:
    """Two approvers, a tenant admin and an analyst of the tenant."""
    return {
        "ann": create_key(client, admin, tenant, "approver"),
        "ben": create_key(client, admin, tenant, "approver"),
        "admin": create_key(client, admin, tenant, "tenant_admin"),
        "analyst": create_key(client, admin, tenant, "analyst"),
    }


def _request(client, headers, tenant, payload=None, action="partner_central.update_opportunity"):
    body = {"tenant_id": tenant, "action": action, "payload": payload or UPDATE, "reason": "customer asked"}
    return client.post("/approvals", json=body, headers=headers)


def test_a_request_is_pending_and_bound_to_its_payload_digest(client, keys, tenant):
    resp = _request(client, keys["ann"], tenant)
    assert resp.status_code == 201, resp.text
    body = resp.json()
    assert (body["status"], body["target"], body["catalog"], body["mode"]) == (
        "pending",
        "Sandbox/opportunity/O3000000001",
        "Sandbox",
        "manual",
    )
    assert body["payload_sha256"] == payload_digest(UPDATE)
    listed = client.get(f"/tenants/{tenant}/approvals?status=pending", headers=keys["admin"]).json()
    assert [a["id"] for a in listed] == [body["id"]]


def test_a_requester_cannot_approve_their_own_request_but_another_approver_can(client, keys, tenant):
    approval = _request(client, keys["ann"], tenant).json()["id"]
    own = client.post(f"/approvals/{approval}/approve", headers=keys["ann"])
    assert own.status_code == 403
    assert "cannot approve it; another approver must decide" in own.json()["detail"]
    assert client.get(f"/approvals/{approval}", headers=keys["ann"]).json()["status"] == "pending"
    other = client.post(f"/approvals/{approval}/approve", headers=reasoned(keys["ben"], "looks right"))
    assert other.status_code == 200, other.text
    assert (other.json()["status"], other.json()["decision_reason"]) == ("approved", "looks right")
    again = client.post(f"/approvals/{approval}/reject", headers=keys["ben"])
    assert again.status_code == 409 and "is approved, not pending" in again.json()["detail"]


def test_only_the_approver_role_decides(client, keys, tenant):
    approval = _request(client, keys["ann"], tenant).json()["id"]
    for who in ("admin", "analyst"):
        assert client.post(f"/approvals/{approval}/approve", headers=keys[who]).status_code == 403


def test_invalid_payloads_are_refused_naming_the_problem(client, keys, tenant):
    bad = {**UPDATE, "changes": {"OpportunityType": "Shiny"}}
    resp = _request(client, keys["ann"], tenant, bad)
    assert resp.status_code == 422
    unknown = _request(client, keys["ann"], tenant, UPDATE, action="partner_central.delete_everything")
    assert unknown.status_code == 422 and "unknown action" in unknown.json()["detail"]
    missing = _request(client, keys["ann"], tenant, {"catalog": "Sandbox", "opportunity_id": "O1"})
    assert missing.status_code == 422 and "last_modified_date" in missing.json()["detail"]


def test_approvals_of_another_tenant_are_invisible(client, admin, keys, tenant):
    approval = _request(client, keys["ann"], tenant).json()["id"]
    other = f"ent-{uid()}"
    client.put(f"/tenants/{other}", json={"kind": "enterprise", "name": "O"}, headers=admin)
    stranger = create_key(client, admin, other, "approver")
    assert client.get(f"/approvals/{approval}", headers=stranger).status_code == 404
    assert client.post(f"/approvals/{approval}/approve", headers=stranger).status_code == 404
    assert client.get(f"/tenants/{tenant}/approvals", headers=stranger).status_code == 404
    assert _request(client, stranger, tenant).status_code == 404


def test_auto_sandbox_mode_approves_sandbox_requests_only(client, keys, tenant):
    resp = client.put(
        f"/tenants/{tenant}/approval-policy",
        json={"mode": "auto_sandbox", "ttl_hours": 2},
        headers=reasoned(keys["admin"]),
    )
    assert resp.status_code == 200 and resp.json() == {
        "tenant_id": tenant,
        "mode": "auto_sandbox",
        "ttl_hours": 2.0,
    }
    sandbox = _request(client, keys["ann"], tenant).json()
    assert (sandbox["status"], sandbox["decided_by"], sandbox["mode"]) == (
        "approved",
        "system:auto_sandbox",
        "auto_sandbox",
    )
    aws = _request(client, keys["ann"], tenant, {**UPDATE, "catalog": "AWS"}).json()
    assert aws["status"] == "pending"


# --- the execution gate (database level, both backends) ----------------------------------------------------


def _db(stack) -> Database:
    return stack.app.state.cp.db


def _new(db: Database, tenant: str, *, approve: bool | None = True, ttl=timedelta(hours=1)) -> str:
    from control_plane.tenants.models import Tenant

    with db.session(DbScope.for_tenant(tenant), write=True) as session:
        row = service.request(
            session,
            tenant=session.get(Tenant, tenant),
            action="update-opportunity",
            payload=UPDATE,
            target=None,
            reason="test",
            requester=Actor("user:ann", "approver"),
            request_id=None,
            settings=GuardrailSettings(approval_ttl_hours=ttl.total_seconds() / 3600),
        )
        if approve is not None:
            service.decide(
                session,
                approval_id=row.id,
                approve=approve,
                decider=Actor("user:ben", "approver"),
                reason=None,
                request_id=None,
            )
        session.commit()
        return row.id


def test_unapproved_rejected_expired_and_executed_requests_cannot_execute(stack, tenant):
    db = _db(stack)
    gate = DbApprovalGate(db, tenant_id=tenant)
    pending = _new(db, tenant, approve=None)
    with pytest.raises(ApprovalRefused, match=f"approval {pending} is pending, not approved"):
        gate.begin(pending, executor="user:svc")
    rejected = _new(db, tenant, approve=False)
    with pytest.raises(ApprovalRefused, match=f"approval {rejected} is rejected, not approved"):
        gate.begin(rejected, executor="user:svc")
    expired = _new(db, tenant)
    with (
        pytest.raises(ApprovalRefused, match=f"approval {expired} expired at"),
        db.session(DbScope.for_tenant(tenant), write=True) as session,
    ):
        service.begin(
            session,
            approval_id=expired,
            executor=Actor("user:svc", "service"),
            settings=GuardrailSettings(),
            now=utcnow() + timedelta(hours=2),
        )
    with pytest.raises(ApprovalRefused, match="does not exist"):
        gate.begin("apr-000000000000000000000000", executor="user:svc")
    done = _new(db, tenant)
    ticket = gate.begin(done, executor="user:svc")
    assert (ticket.attempt, ticket.payload_sha256) == (1, payload_digest(UPDATE))
    gate.complete(done, result={"status": "executed"})
    with pytest.raises(ApprovalRefused, match=f"approval {done} was already executed at"):
        gate.begin(done, executor="user:svc")
    with db.session(DbScope.for_tenant(tenant)) as session:
        assert (
            service.effective_status(
                session.get(service.ApprovalRequest, expired), utcnow() + timedelta(hours=2)
            )
            == "expired"
        )


def test_an_expired_request_cannot_be_approved(stack, tenant):
    db = _db(stack)
    approval = _new(db, tenant, approve=None)
    with (
        pytest.raises(ApprovalRefused, match="expired at"),
        db.session(DbScope.for_tenant(tenant), write=True) as s,
    ):
        service.decide(
            s,
            approval_id=approval,
            approve=True,
            decider=Actor("user:ben", "approver"),
            reason=None,
            request_id=None,
            now=utcnow() + timedelta(days=2),
        )


def test_a_retryable_failure_leaves_the_approval_executable_and_a_final_one_spends_it(stack, tenant):
    db = _db(stack)
    gate = DbApprovalGate(db, tenant_id=tenant)
    approval = _new(db, tenant)
    gate.begin(approval, executor="user:svc")
    with pytest.raises(ApprovalRefused, match="is being executed by user:svc"):
        gate.begin(approval, executor="user:other")
    gate.fail(approval, error="connection reset", retryable=True, result={})
    assert gate.begin(approval, executor="user:svc").attempt == 2
    gate.fail(approval, error="ConflictException", retryable=False, result={})
    with pytest.raises(ApprovalRefused, match="is failed, not approved"):
        gate.begin(approval, executor="user:svc")


def test_a_stale_execution_can_be_taken_over_after_its_lease(stack, tenant):
    db = _db(stack)
    approval = _new(db, tenant)
    DbApprovalGate(db, tenant_id=tenant).begin(approval, executor="user:crashed")
    with db.session(DbScope.for_tenant(tenant), write=True) as session:
        row = service.begin(
            session,
            approval_id=approval,
            executor=Actor("user:svc", "service"),
            settings=GuardrailSettings(approval_execution_lease_seconds=60),
            now=utcnow() + timedelta(minutes=5),
        )
        session.commit()
    assert (row.executing_by, row.attempts) == ("user:svc", 2)


def test_two_concurrent_executors_of_one_approval_exactly_one_wins(stack, tenant):
    approval = _new(_db(stack), tenant)
    databases = [Database(stack.backend.app_url, pool_size=1) for _ in range(2)]
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def run(db: Database) -> None:
        barrier.wait()
        try:
            DbApprovalGate(db, tenant_id=tenant).begin(approval, executor=f"user:{id(db)}")
            outcomes.append("claimed")
        except ApprovalRefused:
            outcomes.append("refused")

    threads = [threading.Thread(target=run, args=(db,)) for db in databases]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for db in databases:
        db.dispose()
    assert sorted(outcomes) == ["claimed", "refused"]


def test_the_marketplace_gate_verifies_action_and_payload_and_executes_once(stack, tenant):
    from control_plane.tenants.models import Tenant

    db = _db(stack)
    payload = {"change_set": [{"ChangeType": "CreateProduct"}]}
    with db.session(DbScope.for_tenant(tenant), write=True) as session:
        row = service.request(
            session,
            tenant=session.get(Tenant, tenant),
            action="marketplace.change_set.apply",
            payload=payload,
            target="marketplace/product/new",
            reason="launch",
            requester=Actor("user:ann", "approver"),
            request_id=None,
            settings=GuardrailSettings(),
        )
        service.decide(
            session,
            approval_id=row.id,
            approve=True,
            decider=Actor("user:ben", "approver"),
            reason=None,
            request_id=None,
        )
        session.commit()
    gate = DbApprovalGate(db)
    with pytest.raises(ApprovalRefused, match="different payload"):
        gate.verify(row.id, action="marketplace.change_set.apply", payload_sha256=payload_digest({"x": 1}))
    with pytest.raises(ApprovalRefused, match="is for action"):
        gate.verify(
            row.id, action="partner_central.update_opportunity", payload_sha256=payload_digest(payload)
        )
    assert (
        gate.verify(
            row.id, action="marketplace.change_set.apply", payload_sha256=payload_digest(payload)
        ).status
        == "approved"
    )
    gate.mark_executed(row.id, result={"ChangeSetId": "cs-1"})
    with pytest.raises(ApprovalRefused, match="already executed"):
        gate.mark_executed(row.id, result={"ChangeSetId": "cs-1"})
