"""Imports every domain's models so ``Base.metadata`` is complete (Alembic, tests)."""

from __future__ import annotations

from control_plane.approvals.models import ApprovalPolicy, ApprovalRequest
from control_plane.audit.models import AuditEntry, AuditHead
from control_plane.auth.models import ApiKey, SigningKey, User
from control_plane.connectors.models import Connector
from control_plane.costs.models import CostAlert, CostLedgerEntry, MarketplaceBuyer
from control_plane.db import Base
from control_plane.quotas.models import Quota, QuotaReservation
from control_plane.registry.models import ModuleVersion
from control_plane.tenants.models import Plan, ProvisioningStep, Tenant

__all__ = [
    "ApiKey",
    "ApprovalPolicy",
    "ApprovalRequest",
    "AuditEntry",
    "AuditHead",
    "Base",
    "Connector",
    "CostAlert",
    "CostLedgerEntry",
    "MarketplaceBuyer",
    "ModuleVersion",
    "Plan",
    "ProvisioningStep",
    "Quota",
    "QuotaReservation",
    "SigningKey",
    "Tenant",
    "User",
]
