"""What ``lakehouse actions`` does against the control-plane database (imported lazily by the command).

The CLI is a trusted local tool: ``--as USER`` names a user of the tenant (or of one of its ancestors) in the
``users`` table, and that user's role is checked with the same policy decision point as the API (``approver`` to
decide; a requester never decides their own request).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Self

from sqlalchemy import select

from control_plane.approvals import service
from control_plane.approvals.gate import DbApprovalGate, DbAuditSink
from control_plane.approvals.models import ApprovalRequest
from control_plane.auth.models import User
from control_plane.auth.principal import Principal
from control_plane.authz.policy import decide
from control_plane.authz.service import policy_input, tenant_resource
from control_plane.costs.settings import GuardrailSettings
from control_plane.db import Database, DbScope
from control_plane.quotas.local import open_database
from control_plane.tenants.models import Tenant
from lakehouse.errors import BadInput, Refused
from lakehouse.marketplace.interfaces import ApprovalRefused


@dataclass(frozen=True)
class CliUser:
    """A user acting through the CLI, as a principal of the policy decision point."""

    principal: Principal

    @property
    def subject(self) -> str:
        return self.principal.subject


class LocalApprovals:
    """Approval operations for the CLI over one database connection pool."""

    def __init__(self, db: Database, settings: GuardrailSettings | None = None) -> None:
        self.db = db
        self.settings = settings or GuardrailSettings()

    @classmethod
    def open(cls) -> LocalApprovals:
        return cls(open_database())

    def close(self) -> None:
        self.db.dispose()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------------------------- lookups

    def tenant(self, tenant_id: str) -> Tenant:
        with self.db.session(DbScope.for_platform()) as session:
            tenant = session.get(Tenant, tenant_id)
        if tenant is None:
            raise Refused(
                f"tenant {tenant_id!r} is not provisioned in the control plane; approvals need a "
                f"provisioned tenant with users (PUT /tenants/{tenant_id})"
            )
        return tenant

    def get(self, approval_id: str) -> ApprovalRequest:
        with self.db.session(DbScope.for_platform()) as session:
            row = session.get(ApprovalRequest, approval_id)
        if row is None:
            raise ApprovalRefused(f"approval {approval_id!r} does not exist")
        return row

    def user(self, tenant: Tenant, user_id: str, actions: tuple[str, ...], what: str) -> CliUser:
        """``user_id`` of the tenant or an ancestor, active, allowed one of ``actions`` (else Refused)."""
        chain = [*tenant.ancestors, tenant.id]
        with self.db.session(DbScope.for_platform()) as session:
            rows = {
                u.tenant_id: u
                for u in session.execute(
                    select(User).where(User.id == user_id, User.tenant_id.in_(chain))
                ).scalars()
            }
            paths = {
                t.id: t.path for t in session.execute(select(Tenant).where(Tenant.id.in_(chain))).scalars()
            }
        user = next((rows[t] for t in reversed(chain) if t in rows), None)
        if user is None or user.status != "active":
            raise Refused(
                f"{user_id!r} is not an active user of tenant {tenant.id} or its ancestors; add the user "
                f"(PUT /tenants/{tenant.id}/users/{user_id}) before they can {what}"
            )
        principal = Principal(
            subject=f"user:{user.id}",
            role=user.role,
            tenant_id=user.tenant_id,
            tenant_path=paths[user.tenant_id],
            via="cli",
        )
        reasons: list[str] = []
        for action in actions:
            decision = decide(
                policy_input(
                    principal, action, tenant_resource(tenant.id, tenant.path), environment=_environment()
                )
            )
            if decision["result"]["allow"]:
                return CliUser(principal)
            reasons += decision["result"]["reasons"]
        raise Refused(
            f"user {user_id} ({user.role}) may not {what} in tenant {tenant.id}: {'; '.join(reasons)}"
        )

    # ------------------------------------------------------------------------------------- operations

    def request(
        self, tenant_id: str, *, action: str, payload: Any, target: str | None, reason: str, user_id: str
    ) -> ApprovalRequest:
        tenant = self.tenant(tenant_id)
        who = self.user(tenant, user_id, ("approvals:request", "data:write"), "request approvals")
        with self.db.session(DbScope.for_tenant(tenant.id), write=True) as session:
            row = service.request(
                session,
                tenant=tenant,
                action=action,
                payload=payload,
                target=target,
                reason=reason,
                requester=who.principal.actor,
                request_id=None,
                settings=self.settings,
            )
            session.commit()
            return row

    def decide(self, approval_id: str, *, approve: bool, user_id: str, reason: str | None) -> ApprovalRequest:
        row = self.get(approval_id)
        tenant = self.tenant(row.tenant_id)
        verb = "approve" if approve else "reject"
        who = self.user(tenant, user_id, ("approvals:approve",), f"{verb} requests")
        if who.principal.role != "approver":
            raise Refused(
                f"user {user_id} has role {who.principal.role}; only a user with the approver role may "
                f"{verb} requests"
            )
        with self.db.session(DbScope.for_tenant(tenant.id), write=True) as session:
            decided = service.decide(
                session,
                approval_id=approval_id,
                approve=approve,
                decider=who.principal.actor,
                reason=reason,
                request_id=None,
            )
            session.commit()
            return decided

    def executor(self, approval_id: str, user_id: str) -> tuple[ApprovalRequest, CliUser]:
        """The approval to execute and the user executing it (allowed to execute: approvals or data:write)."""
        row = self.get(approval_id)
        if row.action not in _executable():
            raise BadInput(
                f"approval {approval_id} is for {row.action}, which `lakehouse actions execute` does not "
                "run (Marketplace change sets are applied by `lakehouse marketplace package --apply`)"
            )
        tenant = self.tenant(row.tenant_id)
        return row, self.user(
            tenant, user_id, ("approvals:execute", "data:write"), "execute approved actions"
        )

    def gate(self, tenant_id: str) -> DbApprovalGate:
        return DbApprovalGate(self.db, tenant_id=tenant_id, settings=self.settings)

    def audit(self) -> DbAuditSink:
        return DbAuditSink(self.db)

    def list(self, tenant_id: str, status: str | None) -> list[ApprovalRequest]:
        tenant = self.tenant(tenant_id)
        with self.db.session(DbScope.for_tenant(tenant.id)) as session:
            return service.list_requests(session, tenant.id, status=status, limit=500)


def _environment() -> str:
    from lakehouse.settings import get_settings

    return get_settings().environment


def _executable() -> tuple[str, ...]:
    from lakehouse.partner_central.writes import ACTIONS

    return ACTIONS
