"""Who is looking: sign-in with a control-plane API key or token, and the tenants the policy lets them read.

Pages talk to ``TenantAccess`` only. ``ControlPlaneAccess`` implements it with the control plane's own service
functions (the same ``authenticate`` the API runs, and the policy decision point behind ``POST /authz/decide``),
against the control-plane database (``LAKEHOUSE_DATABASE_URL``, SQLite beside the lake by default). Tokens are
verified with ``LAKEHOUSE_JWT_SECRET`` (and OIDC settings), so set the same secret as the API that issued them.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, Protocol

from lakehouse.catalog import CLASSIFICATIONS, TableDef
from lakehouse.errors import LakehouseError

audit_log = logging.getLogger("lakehouse.audit")

READ_ACTION = "data:read"


class SignInFailed(LakehouseError):
    """The credential was refused (malformed, unknown, revoked or expired) or the control plane is unreachable."""

    exit_code = 4


@dataclass(frozen=True)
class Viewer:
    """A signed-in user: subject, role, home tenant, the tenants they may read and their data clearance."""

    subject: str
    role: str
    home_tenant: str | None
    tenants: tuple[str, ...]
    clearance: str
    is_platform_admin: bool = False
    tenant_names: dict[str, str] = field(default_factory=dict, compare=False)

    def may_read(self, tenant_id: str) -> bool:
        """Whether the policy granted this viewer ``data:read`` on ``tenant_id``."""
        return tenant_id in self.tenants

    def cleared_for(self, classification: str) -> bool:
        """Whether a column of ``classification`` may be shown (pii never is, on any dashboard)."""
        if classification == "pii" or classification not in CLASSIFICATIONS:
            return False
        return CLASSIFICATIONS.index(classification) <= CLASSIFICATIONS.index(self.clearance)

    def visible_columns(self, td: TableDef, columns: list[str] | None = None) -> list[str]:
        """The columns of ``td`` (declared order) or of ``columns`` (their order) this viewer may see."""
        names = td.schema.fieldNames() if columns is None else [c for c in columns if c in td.classification]
        return [c for c in names if self.cleared_for(td.classification[c])]


class TenantAccess(Protocol):
    """Resolves a credential to a ``Viewer``; raises ``SignInFailed`` when it is refused."""

    def sign_in(self, credential: str) -> Viewer: ...

    def record_view(self, viewer: Viewer, tenant_id: str) -> None:
        """Audit a viewer looking at a tenant other than their own (platform admins, parent-tenant admins)."""
        ...


class ControlPlaneAccess:
    """``TenantAccess`` over the control-plane service functions and its policy decision point."""

    def __init__(self, database_url: str | None = None, settings: Any = None) -> None:
        from control_plane.db import Database
        from control_plane.settings import ControlPlaneSettings

        self.settings = settings or ControlPlaneSettings()
        self.database_url = database_url or self.settings.resolved_database_url()
        self.db = Database(self.database_url, pool_size=2)

    def sign_in(self, credential: str) -> Viewer:
        from sqlalchemy.exc import SQLAlchemyError

        from control_plane.auth.service import authenticate
        from control_plane.errors import ApiError
        from control_plane.tenants.service import list_tenants

        credential = (credential or "").strip()
        if not credential:
            raise SignInFailed("enter a control-plane API key (lh.…) or a bearer token")
        is_key = credential.startswith("lh.")
        try:
            with self.db.session() as session:
                principal = authenticate(
                    session,
                    self.settings,
                    api_key=credential if is_key else None,
                    bearer=None if is_key else credential,
                )
                tenants = list_tenants(session, principal, kind=None, parent_id=None, limit=10_000, offset=0)
                visible = [(t.id, t.path, t.name) for t in tenants]
        except ApiError as exc:
            raise SignInFailed(f"sign-in refused: {exc}") from None
        except SQLAlchemyError as exc:
            raise SignInFailed(
                f"the control-plane database at {self.db.url.split('@')[-1]} cannot be read "
                f"({type(exc).__name__}); start the control plane or run `lakehouse demo` first"
            ) from None
        environment = self.settings.environment or "development"
        readable = [
            (tid, path, name)
            for tid, path, name in visible
            if self._allowed(principal, READ_ACTION, tid, path, None, environment)
        ]
        clearance = "public"
        probe = readable[0] if readable else (principal.tenant_id or "", principal.tenant_path or "", "")
        for level in CLASSIFICATIONS:
            if level != "pii" and self._allowed(
                principal, READ_ACTION, probe[0], probe[1], level, environment
            ):
                clearance = level
        return Viewer(
            subject=principal.subject,
            role=principal.role,
            home_tenant=principal.tenant_id,
            tenants=tuple(tid for tid, _, _ in readable),
            clearance=clearance,
            is_platform_admin=principal.is_platform,
            tenant_names={tid: name for tid, _, name in readable},
        )

    def record_view(self, viewer: Viewer, tenant_id: str) -> None:
        from control_plane.audit.service import Actor, record
        from control_plane.db import DbScope

        if not needs_audit(viewer, tenant_id):
            return
        with self.db.session(DbScope.for_platform(), write=True) as session:
            record(
                session,
                actor=Actor(viewer.subject, viewer.role),
                action="dashboard.view",
                tenant_id=tenant_id,
                resource=f"tenant/{tenant_id}/dashboards",
                reason="dashboard tenant switch",
            )
            session.commit()
        audit_log.warning("dashboard: %s (%s) views tenant %s", viewer.subject, viewer.role, tenant_id)

    @staticmethod
    def _allowed(
        principal: Any,
        action: str,
        tenant_id: str,
        tenant_path: str,
        classification: str | None,
        environment: str,
    ) -> bool:
        from control_plane.authz.policy import decide
        from control_plane.authz.service import policy_input, tenant_resource

        resource = tenant_resource(tenant_id, tenant_path, type_="dataset", classification=classification)
        decision = decide(policy_input(principal, action, resource, environment=environment))
        return bool(decision["result"]["allow"])


def needs_audit(viewer: Viewer, tenant_id: str) -> bool:
    """Whether looking at ``tenant_id`` crosses the viewer's own tenant (and so is audited)."""
    return viewer.is_platform_admin or tenant_id != viewer.home_tenant
