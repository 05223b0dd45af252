"""The per-request context every state-changing flow receives."""

from __future__ import annotations

from dataclasses import dataclass

from control_plane.auth.principal import Principal


@dataclass(frozen=True)
class RequestContext:
    """Caller, environment, the audit reason (``X-Audit-Reason``) and the request id."""

    principal: Principal
    environment: str
    reason: str | None
    request_id: str | None
