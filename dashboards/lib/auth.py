"""Who is looking: sign-in with a control-plane API key or token, and the tenants the policy lets them read.

Pages talk to ``TenantAccess`` only. ``ControlPlaneAccess`` implements it over the control-plane API
(``control_plane.client``, at ``LAKEHOUSE_CONTROL_PLANE_URL``): the user's credential is forwarded to the API,
which authenticates it (revocation, expiry and rotation included), asks its policy decision point which tenants'
data the user may read and up to which classification, and writes the audit entries. So this process holds
neither the control-plane database URL nor the token-signing secret.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol, TypeVar

from control_plane.client import (
    AuthenticationFailed,
    ControlPlaneClient,
    ControlPlaneError,
    ControlPlaneUnavailable,
    PermissionDenied,
)
from lakehouse.catalog import CLASSIFICATIONS, TableDef
from lakehouse.errors import LakehouseError

audit_log = logging.getLogger("lakehouse.audit")

READ_ACTION = "data:read"
_T = TypeVar("_T")


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

    def record_view(self, credential: str, viewer: Viewer, tenant_id: str) -> None:
        """Tell the control plane the viewer looks at ``tenant_id`` (it audits looks outside their own tenant)."""
        ...


class ControlPlaneAccess:
    """``TenantAccess`` over the control-plane API, calling with the signed-in user's own credential."""

    def __init__(self, client: ControlPlaneClient) -> None:
        self.client = client

    def sign_in(self, credential: str) -> Viewer:
        """Ask the API who ``credential`` is and which tenants' data it may read (``GET /authz/data-access``)."""
        credential = (credential or "").strip()
        if not credential:
            raise SignInFailed("enter a control-plane API key (lh.…) or a bearer token")
        access = self._as(credential, lambda c: c.data_access(READ_ACTION))
        tenants = [t for t in access.tenants if t.clearance in CLASSIFICATIONS]
        return Viewer(
            subject=access.subject,
            role=access.role,
            home_tenant=access.tenant_id,
            tenants=tuple(t.id for t in tenants),
            clearance=_common_clearance([t.clearance for t in tenants]),
            is_platform_admin=access.is_platform,
            tenant_names={t.id: t.name for t in tenants},
        )

    def record_view(self, credential: str, viewer: Viewer, tenant_id: str) -> None:
        """``POST /tenants/{id}/audit/dashboard-views`` as the viewer (the API decides whether it is audited)."""
        answer = self._as(credential, lambda c: c.record_dashboard_view(tenant_id))
        if answer.recorded:
            audit_log.warning("dashboard: %s (%s) views tenant %s", viewer.subject, viewer.role, tenant_id)

    def _as(self, credential: str, call: Callable[[ControlPlaneClient], _T]) -> _T:
        try:
            return call(self.client.as_caller(credential))
        except ValueError as exc:  # a credential that cannot be sent as a header
            raise SignInFailed(f"sign-in refused: {exc}") from None
        except (AuthenticationFailed, PermissionDenied) as exc:
            raise SignInFailed(f"sign-in refused: {exc.detail}") from None
        except ControlPlaneUnavailable as exc:
            raise SignInFailed(
                f"{exc}; start the control plane (`lakehouse api`) or set LAKEHOUSE_CONTROL_PLANE_URL to its URL"
            ) from None
        except ControlPlaneError as exc:
            raise SignInFailed(f"the control plane refused the request: {exc}") from None


def _common_clearance(levels: list[str]) -> str:
    """The clearance that holds on every readable tenant, capped below ``pii`` (never shown on a dashboard)."""
    shown = [c for c in CLASSIFICATIONS if c != "pii"]
    if not levels:
        return shown[0]
    lowest = min(CLASSIFICATIONS.index(level) for level in levels)
    return shown[min(lowest, len(shown) - 1)]
