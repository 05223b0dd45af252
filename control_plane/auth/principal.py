"""The authenticated caller."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from control_plane.audit.service import Actor
from control_plane.db import DbScope


@dataclass(frozen=True)
class Principal:
    """Who is calling: subject id, role, home tenant (None for platform_admin) and that tenant's path."""

    subject: str
    role: str
    tenant_id: str | None
    tenant_path: str | None
    via: str  # "api_key" or "jwt"
    key_id: str | None = None  # the API key behind the credentials (API key, or a token issued from one)
    generation: int = 0  # that key's token generation (carried into tokens issued to this caller)

    @property
    def is_platform(self) -> bool:
        return self.role == "platform_admin" and self.tenant_id is None

    @property
    def actor(self) -> Actor:
        return Actor(self.subject, self.role)

    @property
    def scope(self) -> DbScope:
        """The database scope of this caller's transactions."""
        return DbScope.for_platform() if self.is_platform else DbScope.for_tenant(self.tenant_id or "")

    def as_input(self) -> dict[str, Any]:
        """The ``subject`` part of a policy input."""
        return {
            "id": self.subject,
            "role": self.role,
            "tenant_id": self.tenant_id,
            "tenant_path": self.tenant_path,
        }
