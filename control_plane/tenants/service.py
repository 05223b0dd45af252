"""Tenant queries scoped to the caller (the same rule as the PostgreSQL policies, for SQLite too)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from control_plane.auth.principal import Principal
from control_plane.tenants.models import Plan, ProvisioningStep, Tenant


def subtree_ids(tenant_id: str) -> Select[Any]:
    """Ids of ``tenant_id`` and its descendants."""
    return select(Tenant.id).where(Tenant.path.contains(f"/{tenant_id}/", autoescape=True))


def scoped(query: Select[Any], column: InstrumentedAttribute[Any], principal: Principal) -> Select[Any]:
    """Restrict ``query`` to rows whose tenant ``column`` the caller covers (no-op for the platform)."""
    if principal.is_platform:
        return query
    return query.where(column.in_(subtree_ids(principal.tenant_id or "")))


def get_tenant(db: Session, principal: Principal, tenant_id: str) -> Tenant | None:
    """The tenant if the caller can see it, else None."""
    if tenant_id == principal.tenant_id:
        return db.get(Tenant, tenant_id)  # the caller's own tenant: loaded by authentication already
    return db.execute(
        scoped(select(Tenant).where(Tenant.id == tenant_id), Tenant.id, principal)
    ).scalar_one_or_none()


def list_tenants(
    db: Session, principal: Principal, *, kind: str | None, parent_id: str | None, limit: int, offset: int
) -> list[Tenant]:
    """Visible tenants, by path (so a parent precedes its children)."""
    query = scoped(select(Tenant), Tenant.id, principal)
    if kind:
        query = query.where(Tenant.kind == kind)
    if parent_id:
        query = query.where(Tenant.parent_id == parent_id)
    return list(db.execute(query.order_by(Tenant.path).limit(limit).offset(offset)).scalars())


def steps(db: Session, tenant_id: str) -> list[ProvisioningStep]:
    """The recorded provisioning steps of a (visible) tenant."""
    from control_plane.tenants.provisioning import STEPS

    rows = {
        r.step: r
        for r in db.execute(select(ProvisioningStep).where(ProvisioningStep.tenant_id == tenant_id)).scalars()
    }
    return [rows[s] for s in STEPS if s in rows]


def tenant_state(tenant: Tenant) -> dict[str, Any]:
    """The tenant as audited (digest before/after) and returned."""
    return {
        "id": tenant.id,
        "kind": tenant.kind,
        "parent_id": tenant.parent_id,
        "path": tenant.path,
        "name": tenant.name,
        "plan_id": tenant.plan_id,
        "isolation_mode": tenant.isolation_mode,
        "status": tenant.status,
    }


def plan_state(plan: Plan) -> dict[str, Any]:
    """A plan as audited."""
    return {
        "id": plan.id,
        "name": plan.name,
        "quotas": plan.quotas,
        "allowed_module_types": plan.allowed_module_types,
    }
