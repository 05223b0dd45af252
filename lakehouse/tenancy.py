"""Tenant scope: the one object that says which tenant's data a piece of code may touch."""

from __future__ import annotations

import re
from dataclasses import dataclass

from lakehouse.errors import BadInput, Refused

# Matched with fullmatch: ``$`` alone would also accept a trailing newline ("ta\n" -> tenant_id=ta%0A).
TENANT_ID_REGEX = r"[a-z0-9][a-z0-9_-]{0,62}"
_TENANT_ID = re.compile(TENANT_ID_REGEX)
# For pydantic/FastAPI ``pattern=``: pydantic-core matches with Rust's regex, where ``$`` is the end of the text
# (no trailing-newline exception), so this anchored form is a full match there.
TENANT_ID_PATTERN = rf"^{TENANT_ID_REGEX}$"


class TenantViolation(Refused):
    """A read or write tried to cross its tenant scope; nothing was done."""


def validate_tenant_id(tenant_id: str) -> str:
    """Return ``tenant_id`` if it is a safe identifier (it becomes a path segment and a SQL literal)."""
    if not isinstance(tenant_id, str) or _TENANT_ID.fullmatch(tenant_id) is None:
        raise BadInput(
            f"invalid tenant id {tenant_id!r}: use 1-63 characters of a-z, 0-9, '_' or '-', starting with a letter or digit"
        )
    return tenant_id


@dataclass(frozen=True)
class TenantScope:
    """Either exactly one tenant, or the platform-admin scope (all tenants, audited, with a reason)."""

    tenant_id: str | None
    platform_admin: bool = False
    reason: str | None = None

    def __post_init__(self) -> None:
        if self.platform_admin:
            if self.tenant_id is not None:
                raise BadInput("a platform-admin scope is not bound to one tenant")
            if not self.reason or not self.reason.strip():
                raise BadInput("a platform-admin scope needs a reason (it is audited)")
        else:
            validate_tenant_id(self.tenant_id)  # type: ignore[arg-type]

    @classmethod
    def for_tenant(cls, tenant_id: str) -> TenantScope:
        return cls(tenant_id=tenant_id)

    @classmethod
    def admin(cls, reason: str) -> TenantScope:
        """Cross-tenant scope for platform operators; every use is written to the audit trail."""
        return cls(tenant_id=None, platform_admin=True, reason=reason)

    def require_single(self, action: str) -> str:
        """The one tenant of this scope; writes need exactly one."""
        if self.tenant_id is None:
            raise TenantViolation(f"{action} needs a single-tenant scope, not the platform-admin scope")
        return self.tenant_id

    def __str__(self) -> str:
        return f"tenant:{self.tenant_id}" if self.tenant_id else "platform-admin"
