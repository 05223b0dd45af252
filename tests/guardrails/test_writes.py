"""Approval-gated Partner Central writes against the sandbox (real HTTP, botocore, SigV4), gated by the
control-plane database beside a test lake."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from control_plane.approvals.gate import DbApprovalGate, DbAuditSink
from control_plane.approvals.local import LocalApprovals
from control_plane.db import DbScope
from lakehouse.guardrails import ApprovalRefused, TokenBucket
from lakehouse.partner_central.writes import (
    CHANGED_SINCE_APPROVAL,
    ChangedSinceApproval,
    EngagementTaskFailed,
    PartnerCentralWriter,
    WriteFailed,
    client_token,
    strip_nulls,
)
from tests.guardrails.conftest import create_payload, reader_for

pytestmark = pytest.mark.slow  # over a second of work in all: left out of `make test-fast`

WRITES = (
    "CreateOpportunity",
    "UpdateOpportunity",
    "AssociateOpportunity",
    "StartEngagementFromOpportunityTask",
    "AcceptEngagementInvitation",
    "RejectEngagementInvitation",
)


class FakeClock:
    """Time that only moves when someone sleeps."""

    def __init__(self) -> None:
        self.t = 0.0
        self.sleeps: list[float] = []

    def now(self) -> float:
        return self.t

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.t += seconds


def approved(cp, action: str, payload: dict[str, Any]) -> str:
    """alice requests, bob approves."""
    local = LocalApprovals(cp.db)
    row = local.request("acme", action=action, payload=payload, target=None, reason="pilot", user_id="alice")
    local.decide(row.id, approve=True, user_id="bob", reason="ok")
    return row.id


def make_writer(cp, reader, clock: FakeClock | None = None, **kwargs: Any) -> PartnerCentralWriter:
    clock = clock or FakeClock()
    return PartnerCentralWriter(
        reader,
        tenant_id="acme",
        gate=DbApprovalGate(cp.db, tenant_id="acme"),
        audit=DbAuditSink(cp.db),
        write_limiter=TokenBucket(1.0, 1, clock=clock.now, sleep=clock.sleep),
        sleep=clock.sleep,
        clock=clock.now,
        **kwargs,
    )


def status_of(cp, approval_id: str) -> str:
    from control_plane.approvals.models import ApprovalRequest
    from control_plane.approvals.service import effective_status

    with cp.db.session(DbScope.for_platform()) as session:
        return effective_status(session.get(ApprovalRequest, approval_id))


def opportunities(sandbox) -> dict[str, Any]:
    return dict(sandbox.state.tenants["acme"].catalog("Sandbox").opportunities)


def writes_received(sandbox) -> int:
    return sum(sandbox.calls(op, "acme") for op in WRITES)


def test_the_create_flow_creates_associates_and_starts_the_engagement_once(local_cp, sandbox):
    payload = create_payload(sandbox)
    local = LocalApprovals(local_cp.db)
    pending = local.request(
        "acme", action="create-opportunity", payload=payload, target=None, reason="pilot", user_id="alice"
    )
    clock = FakeClock()
    writer = make_writer(local_cp, reader_for(sandbox.url, sandbox), clock)
    with pytest.raises(ApprovalRefused, match="is pending, not approved"):
        writer.execute(pending.id, executor="user:svc")
    assert writes_received(sandbox) == 0
    before = opportunities(sandbox)
    local.decide(pending.id, approve=True, user_id="bob", reason="ok")

    outcome = writer.execute(pending.id, executor="user:svc")

    new = set(opportunities(sandbox)) - set(before)
    assert len(new) == 1
    opp_id = new.pop()
    record = opportunities(sandbox)[opp_id].record
    solution = payload["associations"][0]["RelatedEntityIdentifier"]
    assert record["RelatedEntityIdentifiers"]["Solutions"] == [solution]
    assert record["LifeCycle"]["ReviewStatus"] == "Submitted"
    assert record["Project"]["Title"] == "Lakehouse pilot"
    assert outcome.status == "executed"
    assert (outcome.result["opportunity_id"], outcome.result["task_status"]) == (opp_id, "COMPLETE")
    assert outcome.result["engagement_id"] in sandbox.state.tenants["acme"].catalog("Sandbox").engagements
    assert [(s.operation, s.status) for s in outcome.steps] == [
        ("CreateOpportunity", "succeeded"),
        ("AssociateOpportunity", "succeeded"),
        ("StartEngagementFromOpportunityTask", "succeeded"),
    ]
    assert outcome.api_calls == 3 == writes_received(sandbox)
    # the write quota: three writes from a full bucket of one at 1/s wait 1 s before each of the last two
    assert (writer.write_limiter.acquired, clock.sleeps) == (3, [1.0, 1.0])
    assert status_of(local_cp, pending.id) == "executed"
    actions = local_cp.audit_actions("acme")
    assert actions[-6:] == [
        "approval.execute_start",
        "partner_central.CreateOpportunity.succeeded",
        "partner_central.AssociateOpportunity.succeeded",
        "partner_central.StartEngagementFromOpportunityTask.succeeded",
        "partner_central.create_opportunity.executed",
        "approval.executed",
    ]
    with pytest.raises(ApprovalRefused, match="was already executed"):
        writer.execute(pending.id, executor="user:svc")
    assert writes_received(sandbox) == 3


def test_a_retry_after_a_network_failure_in_createopportunity_leaves_one_opportunity(
    local_cp, sandbox, proxy
):
    approval = approved(local_cp, "create-opportunity", create_payload(sandbox, start=False))
    before = set(opportunities(sandbox))
    proxy.drop["CreateOpportunity"] = 1
    writer = make_writer(local_cp, reader_for(proxy.url, sandbox, max_attempts=1))
    with pytest.raises(WriteFailed, match="retrying this approval is safe") as failure:
        writer.execute(approval, executor="user:svc")
    assert failure.value.retryable
    assert proxy.dropped == ["CreateOpportunity"]
    created = set(opportunities(sandbox)) - before
    assert len(created) == 1  # the service did create it; only the answer was lost
    assert status_of(local_cp, approval) == "approved"  # retryable: the approval can run again

    outcome = make_writer(local_cp, reader_for(proxy.url, sandbox, max_attempts=1)).execute(
        approval, executor="user:svc"
    )

    assert set(opportunities(sandbox)) - before == created
    assert outcome.result["opportunity_id"] == created.pop()
    assert sandbox.calls("CreateOpportunity", "acme") == 2
    assert status_of(local_cp, approval) == "executed"


def test_botocores_retry_of_a_write_waits_for_the_write_limiter_and_reuses_the_token(
    local_cp, sandbox, proxy
):
    approval = approved(local_cp, "create-opportunity", create_payload(sandbox, start=False))
    before = set(opportunities(sandbox))
    proxy.drop["CreateOpportunity"] = 1
    writer = make_writer(local_cp, reader_for(proxy.url, sandbox, max_attempts=3))

    outcome = writer.execute(approval, executor="user:svc")

    assert outcome.status == "executed" and proxy.dropped == ["CreateOpportunity"]
    assert len(set(opportunities(sandbox)) - before) == 1  # the retried attempt carried the same ClientToken
    assert sandbox.calls("CreateOpportunity", "acme") == 2
    # every write attempt (two CreateOpportunity, one AssociateOpportunity) took a write token; reads took none
    assert writer.write_limiter.acquired == writes_received(sandbox) == 3


def test_botocore_fills_a_random_client_token_so_a_naive_retry_creates_a_duplicate(sandbox, proxy):
    """Why the token is derived from the approval id: the same two calls without it create two opportunities."""
    reader = reader_for(proxy.url, sandbox, max_attempts=1)
    sent: list[str] = []
    reader.client.meta.events.register(
        "before-call.partnercentral-selling.CreateOpportunity",
        lambda params, **_: sent.append(params["body"]),
    )
    request = copy.deepcopy(create_payload(sandbox)["opportunity"])
    before = set(opportunities(sandbox))
    proxy.drop["CreateOpportunity"] = 1
    with pytest.raises(Exception, match=r"Connection was closed|ConnectionClosed|closed"):
        reader.client.create_opportunity(Catalog="Sandbox", **request)
    reader.client.create_opportunity(Catalog="Sandbox", **request)
    assert len(set(opportunities(sandbox)) - before) == 2
    tokens = [__import__("json").loads(body)["ClientToken"] for body in sent]
    assert len(tokens) == 2 and tokens[0] != tokens[1]
    assert (
        client_token("apr-x", "create") == client_token("apr-x", "create") != client_token("apr-y", "create")
    )


def _updatable(sandbox, reader) -> tuple[str, dict[str, Any]]:
    for opp_id, entry in sorted(opportunities(sandbox).items()):
        if entry.record["LifeCycle"].get("ReviewStatus") in (
            "Pending Submission",
            "Approved",
            "Action Required",
        ):
            return opp_id, reader.client.get_opportunity(Catalog="Sandbox", Identifier=opp_id)
    raise AssertionError("the seeded sandbox has no updatable opportunity")


def _update_payload(opp_id: str, current: dict[str, Any], next_steps: str) -> dict[str, Any]:
    return {
        "catalog": "Sandbox",
        "opportunity_id": opp_id,
        "last_modified_date": current["LastModifiedDate"].isoformat(),
        "changes": {"LifeCycle": {"NextSteps": next_steps}},
    }


def test_an_update_after_someone_else_changed_the_opportunity_is_refused(local_cp, sandbox):
    reader = reader_for(sandbox.url, sandbox)
    opp_id, current = _updatable(sandbox, reader)
    approval = approved(local_cp, "update-opportunity", _update_payload(opp_id, current, "Send the proposal"))
    sandbox.state.touch_opportunities("acme", "Sandbox", [opp_id])  # a Partner Central user edits it
    theirs = copy.deepcopy(opportunities(sandbox)[opp_id].record)

    with pytest.raises(ChangedSinceApproval) as refused:
        make_writer(local_cp, reader).execute(approval, executor="user:svc")

    assert CHANGED_SINCE_APPROVAL in str(refused.value) and opp_id in str(refused.value)
    assert refused.value.exit_code == 4
    assert opportunities(sandbox)[opp_id].record == theirs  # nothing of ours was applied
    assert status_of(local_cp, approval) == "failed"  # a new approval is needed
    assert "partner_central.UpdateOpportunity.failed" in local_cp.audit_actions("acme")


def test_an_approved_update_is_a_full_replace_that_changes_only_what_was_approved(local_cp, sandbox):
    reader = reader_for(sandbox.url, sandbox)
    opp_id, current = _updatable(sandbox, reader)
    before = copy.deepcopy(opportunities(sandbox)[opp_id].record)
    approval = approved(local_cp, "update-opportunity", _update_payload(opp_id, current, "Send the proposal"))

    outcome = make_writer(local_cp, reader).execute(approval, executor="user:svc")

    after = opportunities(sandbox)[opp_id].record
    assert after["LifeCycle"]["NextSteps"] == "Send the proposal"
    for key in ("Customer", "Project", "OpportunityType", "PrimaryNeedsFromAws"):
        assert strip_nulls(after.get(key)) == strip_nulls(before.get(key)), (
            key
        )  # null and absent are the same
    assert (
        outcome.result["last_modified_date"]
        == reader.client.get_opportunity(Catalog="Sandbox", Identifier=opp_id)["LastModifiedDate"].isoformat()
    )
    assert sandbox.calls("UpdateOpportunity", "acme") == 1


def test_an_update_whose_answer_was_lost_is_recognised_as_applied_on_retry(local_cp, sandbox, proxy):
    reader = reader_for(proxy.url, sandbox, max_attempts=1)
    opp_id, current = _updatable(sandbox, reader)
    approval = approved(local_cp, "update-opportunity", _update_payload(opp_id, current, "Book the workshop"))
    proxy.drop["UpdateOpportunity"] = 1
    with pytest.raises(WriteFailed):
        make_writer(local_cp, reader).execute(approval, executor="user:svc")
    outcome = make_writer(local_cp, reader).execute(approval, executor="user:svc")
    assert outcome.steps[-1].status == "already_applied" and outcome.result["already_applied"] is True
    assert opportunities(sandbox)[opp_id].record["LifeCycle"]["NextSteps"] == "Book the workshop"


def test_a_failed_engagement_task_surfaces_its_reason_code(local_cp, sandbox):
    reader = reader_for(sandbox.url, sandbox)
    account = sandbox.state.tenants["acme"]

    def submitted_meanwhile(**_: Any) -> None:  # someone submits the new opportunity between our two calls
        opp_id = max(opportunities(sandbox))
        sandbox.state.call(
            account,
            "SubmitOpportunity",
            {"Catalog": "Sandbox", "Identifier": opp_id, "InvolvementType": "For Visibility Only"},
        )

    reader.client.meta.events.register(
        "after-call.partnercentral-selling.AssociateOpportunity", submitted_meanwhile
    )
    approval = approved(local_cp, "create-opportunity", create_payload(sandbox))
    with pytest.raises(
        EngagementTaskFailed, match="FAILED with ReasonCode OpportunitySubmissionFailed"
    ) as failed:
        make_writer(local_cp, reader).execute(approval, executor="user:svc")
    assert failed.value.reason_code == "OpportunitySubmissionFailed"
    assert status_of(local_cp, approval) == "failed"
    with local_cp.db.session(DbScope.for_platform()) as session:
        from control_plane.approvals.models import ApprovalRequest

        result = session.get(ApprovalRequest, approval).result
    last = result["steps"][-1]
    assert (last["task_status"], last["reason_code"]) == ("FAILED", "OpportunitySubmissionFailed")


def test_an_engagement_task_in_progress_is_polled_until_it_completes(local_cp, sandbox):
    reader = reader_for(sandbox.url, sandbox)

    def still_running(parsed=None, **_: Any) -> None:
        parsed["TaskStatus"] = "IN_PROGRESS"  # as AWS answers before the task finishes

    reader.client.meta.events.register(
        "after-call.partnercentral-selling.StartEngagementFromOpportunityTask", still_running
    )
    clock = FakeClock()
    approval = approved(local_cp, "create-opportunity", create_payload(sandbox))
    outcome = make_writer(local_cp, reader, clock, poll_interval_s=5.0).execute(approval, executor="user:svc")
    assert outcome.result["task_status"] == "COMPLETE"
    assert sandbox.calls("ListEngagementFromOpportunityTasks", "acme") == 1
    assert clock.sleeps == [1.0, 1.0, 5.0]  # two write-quota waits, then one poll interval


def test_accepting_and_rejecting_aws_referrals(local_cp, sandbox):
    invitations = sandbox.state.tenants["acme"].catalog("Sandbox").invitations
    accept_id, reject_id = sorted(invitations)[:2]
    for inv in (accept_id, reject_id):
        invitations[inv]["Status"] = "PENDING"
    before = set(opportunities(sandbox))
    reader = reader_for(sandbox.url, sandbox)
    accepted = make_writer(local_cp, reader).execute(
        approved(local_cp, "accept-invitation", {"catalog": "Sandbox", "invitation_id": accept_id}),
        executor="user:svc",
    )
    rejected = make_writer(local_cp, reader).execute(
        approved(
            local_cp,
            "reject-invitation",
            {
                "catalog": "Sandbox",
                "invitation_id": reject_id,
                "rejection_reason": "Customer is out of our region",
            },
        ),
        executor="user:svc",
    )
    assert [
        (o.result["invitation_id"], o.result["invitation_status"], o.status) for o in (accepted, rejected)
    ] == [(accept_id, "ACCEPTED", "executed"), (reject_id, "REJECTED", "executed")]
    assert (invitations[accept_id]["Status"], invitations[reject_id]["Status"]) == ("ACCEPTED", "REJECTED")
    assert invitations[reject_id]["RejectionReason"] == "Customer is out of our region"
    assert len(set(opportunities(sandbox)) - before) == 1  # accepting a referral creates the partner's copy


def test_dry_run_mode_validates_every_request_and_sends_nothing(local_cp, sandbox):
    from control_plane.approvals import service
    from control_plane.audit.service import SYSTEM
    from control_plane.tenants.models import Tenant
    from lakehouse.aws_validation import RequestCheck

    with local_cp.db.session(DbScope.for_platform(), write=True) as session:
        service.set_policy(
            session,
            tenant=session.get(Tenant, "acme"),
            mode="dry_run",
            ttl_hours=1,
            actor=SYSTEM,
            reason="try it",
            request_id=None,
        )
        session.commit()
    good = approved(local_cp, "create-opportunity", create_payload(sandbox))
    outcome = make_writer(local_cp, None, validator=RequestCheck("partnercentral-selling")).execute(
        good, executor="user:svc"
    )
    assert outcome.status == "dry_run" and outcome.result["dry_run"] is True
    assert [r["operation"] for r in outcome.result["requests"]] == [
        "CreateOpportunity",
        "AssociateOpportunity",
        "StartEngagementFromOpportunityTask",
    ]
    assert outcome.result["requests"][0]["params"]["ClientToken"] == client_token(good, "create")
    assert writes_received(sandbox) == 0 and sandbox.calls(None, "acme") == 0
    # the sandbox's server-side rules catch what botocore does not (a phone number that breaks the pattern)
    payload = create_payload(sandbox)
    payload["opportunity"]["Customer"]["Contacts"] = [{"Email": "dana@example.com", "Phone": "555-1234"}]
    bad = approved(local_cp, "create-opportunity", payload)
    with pytest.raises(
        WriteFailed, match=r"dry run: the request would be refused: CreateOpportunity: .*Phone"
    ):
        make_writer(local_cp, None, validator=RequestCheck("partnercentral-selling")).execute(
            bad, executor="user:svc"
        )
    assert status_of(local_cp, bad) == "failed" and sandbox.calls(None, "acme") == 0
