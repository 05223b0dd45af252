"""The control plane's implementations of the library's approval and audit interfaces.

``DbApprovalGate`` is both ``lakehouse.guardrails.ExecutionGate`` (Partner Central writes: begin / complete /
fail) and ``lakehouse.marketplace.interfaces.ApprovalGate`` (Marketplace change sets: verify / mark_executed).
``DbAuditSink`` appends to the tenant's hash-chained audit log.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from control_plane.approvals import service
from control_plane.audit.service import Actor, canonical
from control_plane.audit.service import record as audit_record
from control_plane.costs.settings import GuardrailSettings
from control_plane.db import Database, DbScope
from lakehouse.guardrails import ApprovalTicket
from lakehouse.marketplace.interfaces import Approval


def ticket_of(row: Any) -> ApprovalTicket:
    """The library's view of a claimed approval."""
    return ApprovalTicket(
        row.id,
        row.tenant_id,
        row.action,
        row.target,
        dict(row.payload),
        row.payload_sha256,
        row.mode,
        row.requested_by,
        row.decided_by,
        row.reason,
        row.attempts,
        row.expires_at,
    )


class DbApprovalGate:
    """Approvals in the control-plane database; ``tenant_id`` (when known) scopes every transaction to it."""

    def __init__(
        self,
        db: Database,
        *,
        tenant_id: str | None = None,
        settings: GuardrailSettings | None = None,
        executor_role: str = "service",
    ) -> None:
        self.db = db
        self.scope = DbScope.for_tenant(tenant_id) if tenant_id else DbScope.for_platform()
        self.settings = settings or GuardrailSettings()
        self.executor_role = executor_role

    def _actor(self, subject: str) -> Actor:
        return Actor(subject, self.executor_role)

    def begin(self, approval_id: str, *, executor: str) -> ApprovalTicket:
        with self.db.session(self.scope, write=True) as session:
            row = service.begin(
                session, approval_id=approval_id, executor=self._actor(executor), settings=self.settings
            )
            session.commit()
            return ticket_of(row)

    def complete(self, approval_id: str, *, result: Mapping[str, Any]) -> None:
        with self.db.session(self.scope, write=True) as session:
            row = service._load(session, approval_id)
            service.complete(
                session,
                approval_id=approval_id,
                result=_json(result),
                actor=self._actor(row.executing_by or "system"),
            )
            session.commit()

    def fail(self, approval_id: str, *, error: str, retryable: bool, result: Mapping[str, Any]) -> None:
        with self.db.session(self.scope, write=True) as session:
            row = service._load(session, approval_id)
            service.fail(
                session,
                approval_id=approval_id,
                error=error,
                retryable=retryable,
                result=_json(result),
                actor=self._actor(row.executing_by or "system"),
            )
            session.commit()

    # Marketplace ApprovalGate ---------------------------------------------------------------------------

    def verify(self, approval_id: str, *, action: str, payload_sha256: str) -> Approval:
        with self.db.session(self.scope) as session:
            row = service.verify(
                session, approval_id=approval_id, action=action, payload_sha256=payload_sha256
            )
            return Approval(
                row.id,
                row.action,
                row.payload_sha256,
                row.status,
                row.requested_by,
                row.decided_by,
                row.expires_at,
                row.executed_at,
                row.result,
            )

    def mark_executed(self, approval_id: str, *, result: Mapping[str, Any]) -> None:
        with self.db.session(self.scope, write=True) as session:
            service.mark_executed(
                session,
                approval_id=approval_id,
                result=_json(result),
                actor=self._actor("system:marketplace"),
            )
            session.commit()


class DbAuditSink:
    """``AuditSink`` on the control plane's hash-chained log (one transaction per entry)."""

    def __init__(self, db: Database, *, role: str = "service") -> None:
        self.db = db
        self.role = role

    def record(
        self,
        tenant_id: str,
        action: str,
        resource: str,
        *,
        actor: str,
        reason: str | None,
        detail: Mapping[str, Any],
    ) -> None:
        with self.db.session(DbScope.for_tenant(tenant_id), write=True) as session:
            audit_record(
                session,
                actor=Actor(actor[:200], self.role),
                action=action[:64],
                tenant_id=tenant_id,
                resource=resource[:400],
                reason=(reason or "")[:1000] or None,
                after=_json(detail),
            )
            session.commit()


def _json(value: Mapping[str, Any]) -> dict[str, Any]:
    """A JSON-safe copy (datetimes and decimals as strings)."""
    copy: dict[str, Any] = json.loads(canonical(dict(value)))
    return copy
