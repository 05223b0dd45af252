"""Approval requests: request, approve or reject, then execute at most once.

Every transition is one conditional ``UPDATE ... WHERE status = <expected>`` (atomic on SQLite and PostgreSQL:
of two concurrent approvers or executors exactly one wins) and is written to the tenant's audit chain in the
same transaction. Rules:

* only a ``pending``, unexpired request can be approved or rejected, and not by its requester nor through
  a credential the requester minted (separation of duties; the PDP states the same rule);
* only an ``approved`` request executes: ``begin`` moves it to ``executing`` (attempt + 1); ``complete`` to
  ``executed`` (final); ``fail`` to ``failed`` (final) or, for a retryable failure, back to ``approved`` — safe
  because every write's ClientToken is derived from the approval id;
* expiry stops an approval from *starting*: once an execution has begun, a retry may resume it after expiry;
* an ``executing`` request whose executor went silent longer than the lease can be taken over (crash recovery).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, Result, or_, select, update
from sqlalchemy.orm import Session

from control_plane.approvals.models import APPROVAL_MODES, ApprovalPolicy, ApprovalRequest
from control_plane.audit.service import Actor
from control_plane.audit.service import record as audit_record
from control_plane.auth.models import ApiKey
from control_plane.costs.settings import GuardrailSettings
from control_plane.db import new_id, utcnow
from control_plane.tenants.models import Tenant
from lakehouse.errors import BadInput
from lakehouse.marketplace.interfaces import ApprovalRefused, payload_digest

MARKETPLACE_CHANGE_SET = "marketplace.change_set.apply"
GENERIC_ACTIONS = (MARKETPLACE_CHANGE_SET,)


class SelfApproval(ApprovalRefused):
    """The requester tried to decide their own request."""


class NotFoundApproval(ApprovalRefused):
    """No such approval (or not visible to the caller)."""


def _rowcount(result: Result[Any]) -> int:
    """Rows an UPDATE matched (``Session.execute`` types its result as a plain ``Result``)."""
    return cast("CursorResult[Any]", result).rowcount


def effective_status(row: ApprovalRequest, now: datetime | None = None) -> str:
    """The status as reported: a pending or approved (never started) request past its expiry is ``expired``."""
    now = now or utcnow()
    if row.status == "pending" and now >= row.expires_at:
        return "expired"
    if row.status == "approved" and row.attempts == 0 and now >= row.expires_at:
        return "expired"
    return row.status


def state(row: ApprovalRequest) -> dict[str, Any]:
    """An approval as audited (digest before/after)."""
    return {
        "id": row.id,
        "tenant_id": row.tenant_id,
        "action": row.action,
        "target": row.target,
        "payload_sha256": row.payload_sha256,
        "status": row.status,
        "requested_by": row.requested_by,
        "decided_by": row.decided_by,
        "attempts": row.attempts,
        "result": row.result,
    }


# ----------------------------------------------------------------------------------------------- policy


def policy_of(db: Session, tenant_id: str, settings: GuardrailSettings) -> tuple[str, int]:
    """The tenant's approval mode and TTL in seconds (``manual`` and the configured TTL by default)."""
    row = db.get(ApprovalPolicy, tenant_id)
    if row is None:
        return "manual", int(settings.approval_ttl_hours * 3600)
    return row.mode, row.ttl_seconds


def set_policy(
    db: Session,
    *,
    tenant: Tenant,
    mode: str,
    ttl_hours: float,
    actor: Actor,
    reason: str | None,
    request_id: str | None,
) -> ApprovalPolicy:
    """Set the tenant's approval mode and TTL (audited; the same values again change nothing)."""
    if mode not in APPROVAL_MODES:
        raise BadInput(f"unknown approval mode {mode!r}: use one of {', '.join(APPROVAL_MODES)}")
    ttl_seconds = round(ttl_hours * 3600)
    row = db.get(ApprovalPolicy, tenant.id)
    before = None if row is None else {"mode": row.mode, "ttl_seconds": row.ttl_seconds}
    if before == {"mode": mode, "ttl_seconds": ttl_seconds}:
        return row  # type: ignore[return-value]
    if row is None:
        row = ApprovalPolicy(
            tenant_id=tenant.id,
            mode=mode,
            ttl_seconds=ttl_seconds,
            updated_at=utcnow(),
            updated_by=actor.subject,
        )
        db.add(row)
    else:
        row.mode, row.ttl_seconds, row.updated_at, row.updated_by = mode, ttl_seconds, utcnow(), actor.subject
    db.flush()
    audit_record(
        db,
        actor=actor,
        action="approval_policy.set",
        tenant_id=tenant.id,
        resource=f"tenant/{tenant.id}/approval-policy",
        reason=reason,
        request_id=request_id,
        before=before,
        after={"mode": mode, "ttl_seconds": ttl_seconds},
    )
    return row


# ----------------------------------------------------------------------------------------------- requests


def validate_action(action: str, payload: Any, target: str | None) -> tuple[str, str | None, str]:
    """(action, catalog, target) of a request: Partner Central writes are validated against botocore's model;
    other known actions take any JSON object. Raises ``BadInput`` naming the problem."""
    if not isinstance(payload, dict):
        raise BadInput("payload must be a JSON object")
    if action in GENERIC_ACTIONS:
        if not target or not target.strip():
            raise BadInput(f"{action} needs a target (what the action changes)")
        return action, None, target.strip()
    from lakehouse.partner_central.writes import normalize_action, prepare

    try:
        action = normalize_action(action)
    except BadInput:
        raise BadInput(
            f"unknown action {action!r}: use one of partner_central.create_opportunity, "
            "partner_central.update_opportunity, partner_central.accept_invitation, "
            f"partner_central.reject_invitation, {', '.join(GENERIC_ACTIONS)}"
        ) from None
    prepared = prepare(action, payload)
    if target and target.strip() and target.strip() != prepared.target:
        raise BadInput(f"target {target!r} does not match the payload, which targets {prepared.target!r}")
    return prepared.action, prepared.catalog, prepared.target


def request(
    db: Session,
    *,
    tenant: Tenant,
    action: str,
    payload: dict[str, Any],
    target: str | None,
    reason: str | None,
    requester: Actor,
    request_id: str | None,
    settings: GuardrailSettings,
    now: datetime | None = None,
) -> ApprovalRequest:
    """Record a request (``pending``; auto-approved by the system when the tenant's mode is ``auto_sandbox`` and
    the catalog is ``Sandbox``)."""
    if not reason or not reason.strip():
        raise BadInput("a reason is required: say why this action should happen (it is audited)")
    action, catalog, target = validate_action(action, payload, target)
    now = now or utcnow()
    mode, ttl_seconds = policy_of(db, tenant.id, settings)
    row = ApprovalRequest(
        id=new_id("apr-", 12),
        tenant_id=tenant.id,
        action=action,
        target=target,
        catalog=catalog,
        payload=payload,
        payload_sha256=payload_digest(payload),
        reason=reason.strip(),
        mode=mode,
        status="pending",
        requested_by=requester.subject,
        requested_at=now,
        expires_at=now + timedelta(seconds=ttl_seconds),
        decided_by=None,
        decided_at=None,
        decision_reason=None,
        attempts=0,
        executing_by=None,
        executing_since=None,
        executed_at=None,
        result=None,
        last_error=None,
    )
    db.add(row)
    db.flush()
    audit_record(
        db,
        actor=requester,
        action="approval.request",
        tenant_id=tenant.id,
        resource=f"tenant/{tenant.id}/approval/{row.id}",
        reason=row.reason,
        request_id=request_id,
        after=state(row),
    )
    if mode == "auto_sandbox" and catalog == "Sandbox":
        before = state(row)
        row.status, row.decided_by, row.decided_at = "approved", "system:auto_sandbox", now
        row.decision_reason = "auto-approved: tenant mode auto_sandbox and the catalog is Sandbox"
        db.flush()
        audit_record(
            db,
            actor=Actor("system:auto_sandbox", "approver"),
            action="approval.approve",
            tenant_id=tenant.id,
            resource=f"tenant/{tenant.id}/approval/{row.id}",
            reason=row.decision_reason,
            request_id=request_id,
            before=before,
            after=state(row),
        )
    return row


def _load(db: Session, approval_id: str) -> ApprovalRequest:
    query = (
        select(ApprovalRequest)
        .where(ApprovalRequest.id == approval_id)
        .execution_options(populate_existing=True)
    )
    row = db.execute(query).scalar_one_or_none()
    if row is None:
        raise NotFoundApproval(f"approval {approval_id!r} does not exist")
    return row


def _why_not(row: ApprovalRequest, wanted: str, now: datetime) -> str:
    status = effective_status(row, now)
    if status == "expired":
        return (
            f"approval {row.id} expired at {row.expires_at.isoformat()} ({wanted} refused); request it again"
        )
    if status == "executed":
        return f"approval {row.id} was already executed at {row.executed_at.isoformat() if row.executed_at else '?'}"
    if status == "executing":
        return (
            f"approval {row.id} is being executed by {row.executing_by} since "
            f"{row.executing_since.isoformat() if row.executing_since else '?'}"
        )
    return (
        f"approval {row.id} is {status}, not {'pending' if wanted in ('approve', 'reject') else 'approved'}"
    )


def credential_minter(db: Session, subject: str) -> str | None:
    """Who minted the credential ``subject`` acts through (``key:<id>`` subjects; None for users)."""
    if not subject.startswith("key:"):
        return None
    key = db.get(ApiKey, subject.split(":", 1)[1])
    return key.created_by if key is not None else None


def check_separation_of_duties(
    row: ApprovalRequest, *, decider_subject: str, credential_minted_by: str | None, approve: bool
) -> None:
    """Raise ``SelfApproval`` when the decider is the requester or acts through a key the requester minted."""
    verb = "approve" if approve else "reject"
    if decider_subject == row.requested_by:
        raise SelfApproval(
            f"approval {row.id}: {decider_subject} requested it and cannot {verb} it; "
            "another approver must decide"
        )
    if credential_minted_by is not None and credential_minted_by == row.requested_by:
        raise SelfApproval(
            f"approval {row.id}: the credential of {decider_subject} was minted by the requester "
            f"{row.requested_by}, so it cannot {verb} it; an approver with their own credential must decide"
        )


def decide(
    db: Session,
    *,
    approval_id: str,
    approve: bool,
    decider: Actor,
    reason: str | None,
    request_id: str | None,
    now: datetime | None = None,
    credential_minted_by: str | None = None,
) -> ApprovalRequest:
    """Approve or reject a pending, unexpired request, never by its requester nor through a credential the
    requester minted (looked up when not given). Role checks are the caller's."""
    now = now or utcnow()
    row = _load(db, approval_id)
    check_separation_of_duties(
        row,
        decider_subject=decider.subject,
        credential_minted_by=credential_minted_by or credential_minter(db, decider.subject),
        approve=approve,
    )
    before = state(row)
    new_status = "approved" if approve else "rejected"
    result = db.execute(
        update(ApprovalRequest)
        .where(
            ApprovalRequest.id == approval_id,
            ApprovalRequest.status == "pending",
            ApprovalRequest.expires_at > now,
        )
        .values(
            status=new_status,
            decided_by=decider.subject,
            decided_at=now,
            decision_reason=reason.strip() if reason and reason.strip() else None,
        )
        .execution_options(synchronize_session=False)
    )
    if _rowcount(result) != 1:
        raise ApprovalRefused(_why_not(_load(db, approval_id), "approve" if approve else "reject", now))
    row = _load(db, approval_id)
    audit_record(
        db,
        actor=decider,
        action=f"approval.{'approve' if approve else 'reject'}",
        tenant_id=row.tenant_id,
        resource=f"tenant/{row.tenant_id}/approval/{row.id}",
        reason=row.decision_reason,
        request_id=request_id,
        before=before,
        after=state(row),
    )
    return row


# ----------------------------------------------------------------------------------------------- execution


def begin(
    db: Session,
    *,
    approval_id: str,
    executor: Actor,
    settings: GuardrailSettings,
    now: datetime | None = None,
) -> ApprovalRequest:
    """Claim an approval for execution (approved and unexpired — or resuming a started one — or an execution
    whose lease ran out); raises ``ApprovalRefused`` naming why not."""
    now = now or utcnow()
    claim = {
        "status": "executing",
        "executing_by": executor.subject,
        "executing_since": now,
        "attempts": ApprovalRequest.attempts + 1,
    }
    result = db.execute(
        update(ApprovalRequest)
        .where(
            ApprovalRequest.id == approval_id,
            ApprovalRequest.status == "approved",
            or_(ApprovalRequest.expires_at > now, ApprovalRequest.attempts > 0),
        )
        .values(**claim)
        .execution_options(synchronize_session=False)
    )
    took_over = False
    if _rowcount(result) != 1:
        stale = now - timedelta(seconds=settings.approval_execution_lease_seconds)
        result = db.execute(
            update(ApprovalRequest)
            .where(
                ApprovalRequest.id == approval_id,
                ApprovalRequest.status == "executing",
                ApprovalRequest.executing_since < stale,
            )
            .values(**claim)
            .execution_options(synchronize_session=False)
        )
        took_over = _rowcount(result) == 1
        if not took_over:
            raise ApprovalRefused(_why_not(_load(db, approval_id), "execute", now))
    row = _load(db, approval_id)
    audit_record(
        db,
        actor=executor,
        action="approval.execute_start",
        tenant_id=row.tenant_id,
        resource=f"tenant/{row.tenant_id}/approval/{row.id}",
        reason=f"attempt {row.attempts}" + (" (took over a stale execution)" if took_over else ""),
        after=state(row),
    )
    return row


def complete(
    db: Session, *, approval_id: str, result: dict[str, Any], actor: Actor, now: datetime | None = None
) -> ApprovalRequest:
    """Mark an executing approval executed (final)."""
    now = now or utcnow()
    updated = db.execute(
        update(ApprovalRequest)
        .where(ApprovalRequest.id == approval_id, ApprovalRequest.status == "executing")
        .values(status="executed", executed_at=now, result=result, last_error=None)
        .execution_options(synchronize_session=False)
    )
    if _rowcount(updated) != 1:
        raise ApprovalRefused(_why_not(_load(db, approval_id), "complete", now))
    row = _load(db, approval_id)
    audit_record(
        db,
        actor=actor,
        action="approval.executed",
        tenant_id=row.tenant_id,
        resource=f"tenant/{row.tenant_id}/approval/{row.id}",
        reason=f"attempt {row.attempts}",
        after=state(row),
    )
    return row


def fail(
    db: Session,
    *,
    approval_id: str,
    error: str,
    retryable: bool,
    result: dict[str, Any],
    actor: Actor,
    now: datetime | None = None,
) -> ApprovalRequest:
    """Record a failed execution: back to ``approved`` when retryable, else ``failed`` (final)."""
    now = now or utcnow()
    updated = db.execute(
        update(ApprovalRequest)
        .where(ApprovalRequest.id == approval_id, ApprovalRequest.status == "executing")
        .values(
            status="approved" if retryable else "failed",
            result=result,
            last_error=error[:2000],
            executing_since=None,
        )
        .execution_options(synchronize_session=False)
    )
    if _rowcount(updated) != 1:
        raise ApprovalRefused(_why_not(_load(db, approval_id), "fail", now))
    row = _load(db, approval_id)
    audit_record(
        db,
        actor=actor,
        action="approval.execute_failed",
        tenant_id=row.tenant_id,
        resource=f"tenant/{row.tenant_id}/approval/{row.id}",
        reason=(f"retryable: {error}" if retryable else error)[:1000],
        after=state(row),
    )
    return row


def verify(
    db: Session, *, approval_id: str, action: str, payload_sha256: str, now: datetime | None = None
) -> ApprovalRequest:
    """The Marketplace gate's check: approved, unexpired, not executed, for exactly this action and payload."""
    now = now or utcnow()
    row = _load(db, approval_id)
    if row.action != action:
        raise ApprovalRefused(f"approval {approval_id} is for action {row.action!r}, not {action!r}")
    if row.payload_sha256 != payload_sha256:
        raise ApprovalRefused(
            f"approval {approval_id} was given for a different payload; request a new approval"
        )
    if effective_status(row, now) != "approved":
        raise ApprovalRefused(_why_not(row, "execute", now))
    return row


def mark_executed(
    db: Session, *, approval_id: str, result: dict[str, Any], actor: Actor, now: datetime | None = None
) -> ApprovalRequest:
    """Approved (or executing) -> executed, exactly once."""
    now = now or utcnow()
    updated = db.execute(
        update(ApprovalRequest)
        .where(ApprovalRequest.id == approval_id, ApprovalRequest.status.in_(("approved", "executing")))
        .values(status="executed", executed_at=now, result=result, attempts=ApprovalRequest.attempts + 1)
        .execution_options(synchronize_session=False)
    )
    if _rowcount(updated) != 1:
        raise ApprovalRefused(_why_not(_load(db, approval_id), "execute", now))
    row = _load(db, approval_id)
    audit_record(
        db,
        actor=actor,
        action="approval.executed",
        tenant_id=row.tenant_id,
        resource=f"tenant/{row.tenant_id}/approval/{row.id}",
        reason="marked executed",
        after=state(row),
    )
    return row


def list_requests(
    db: Session, tenant_id: str, *, status: str | None = None, limit: int = 100, now: datetime | None = None
) -> list[ApprovalRequest]:
    """The tenant's requests, newest first (``status`` filters by the effective status, ``expired`` included)."""
    now = now or utcnow()
    rows = db.execute(
        select(ApprovalRequest)
        .where(ApprovalRequest.tenant_id == tenant_id)
        .order_by(ApprovalRequest.requested_at.desc(), ApprovalRequest.id)
    ).scalars()
    out = [r for r in rows if status is None or effective_status(r, now) == status]
    return out[:limit]
