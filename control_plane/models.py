"""Imports every domain's models so ``Base.metadata`` is complete (Alembic, tests)."""
from __future__ import annotations

from control_plane.audit.models import AuditEntry, AuditHead
from control_plane.auth.models import ApiKey, SigningKey, User
from control_plane.db import Base
from control_plane.quotas.models import Quota
from control_plane.registry.models import ModuleVersion
from control_plane.tenants.models import Plan, ProvisioningStep, Tenant

__all__ = [
    "ApiKey", "AuditEntry", "AuditHead", "Base", "ModuleVersion", "Plan", "ProvisioningStep", "Quota",
    "SigningKey", "Tenant", "User",
]
