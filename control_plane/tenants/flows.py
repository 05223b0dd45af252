"""Idempotent tenant provisioning (``PUT /tenants/{id}``) and plan management."""

from __future__ import annotations

from datetime import UTC, timedelta
from typing import Any, Literal

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from control_plane.audit.service import canonical, digest
from control_plane.audit.service import record as audit_record
from control_plane.authz.service import require, tenant_resource
from control_plane.context import RequestContext
from control_plane.db import utcnow
from control_plane.errors import Conflict, Forbidden, Invalid, NotFound, Unavailable
from control_plane.tenants.models import PARENT_KIND, Plan, ProvisioningStep, Tenant
from control_plane.tenants.provisioning import STEPS, Provisioner, StepFailed
from control_plane.tenants.service import get_tenant, plan_state, tenant_state

DEFAULT_PLAN = "free"
DEFAULT_PLANS: dict[str, dict[str, Any]] = {
    "free": {
        "name": "Free",
        "quotas": {
            "workspaces": 3,
            "users": 25,
            "api_keys": 10,
            "storage_gb": 50,
            "monthly_compute_usd": 100,
            "modules": 5,
        },
        "allowed_module_types": ["connector", "pipeline", "dashboard"],
    },
    "team": {
        "name": "Team",
        "quotas": {
            "workspaces": 20,
            "users": 250,
            "api_keys": 100,
            "storage_gb": 1000,
            "monthly_compute_usd": 2000,
            "modules": 25,
        },
        "allowed_module_types": ["connector", "pipeline", "dashboard", "notebook"],
    },
    "enterprise": {
        "name": "Enterprise",
        "quotas": {
            "workspaces": 500,
            "users": 10000,
            "api_keys": 2000,
            "storage_gb": 50000,
            "monthly_compute_usd": 50000,
            "modules": 200,
        },
        "allowed_module_types": ["connector", "pipeline", "dashboard", "notebook", "export", "feature_set"],
    },
}

Outcome = Literal["created", "unchanged", "updated", "resumed"]


def ensure_default_plans(db: Session) -> None:
    """Insert the built-in plans that do not exist yet (platform scope)."""
    present = set(db.execute(select(Plan.id)).scalars())
    now = utcnow()
    for plan_id, spec in DEFAULT_PLANS.items():
        if plan_id not in present:
            db.add(
                Plan(
                    id=plan_id,
                    name=spec["name"],
                    quotas=spec["quotas"],
                    allowed_module_types=spec["allowed_module_types"],
                    created_at=now,
                    updated_at=now,
                )
            )
    db.commit()


def provision(
    db: Session, ctx: RequestContext, provisioner: Provisioner, tenant_id: str, spec: dict[str, Any]
) -> tuple[Tenant, Outcome]:
    """Create, update or resume a tenant so that it matches ``spec``; repeating the same spec changes nothing."""
    spec_digest = digest(spec)
    assert spec_digest is not None
    existing = get_tenant(db, ctx.principal, tenant_id)
    if existing is not None:
        return _provision_existing(db, ctx, provisioner, existing, spec, spec_digest)

    kind = spec["kind"]
    parent = None
    if PARENT_KIND[kind] is None:
        if spec.get("parent_id") is not None:
            raise Invalid(
                "an enterprise has no parent",
                problems=[{"loc": ["body", "parent_id"], "msg": "must be null for an enterprise"}],
            )
    else:
        if not spec.get("parent_id"):
            raise Invalid(
                f"a {kind} needs a parent {PARENT_KIND[kind]}",
                problems=[{"loc": ["body", "parent_id"], "msg": f"required for a {kind}"}],
            )
        parent = get_tenant(db, ctx.principal, spec["parent_id"])
        if parent is None:
            raise NotFound(f"parent tenant {spec['parent_id']!r} not found")
        if parent.kind != PARENT_KIND[kind]:
            raise Invalid(
                f"the parent of a {kind} must be an {PARENT_KIND[kind]}, not a {parent.kind}",
                problems=[{"loc": ["body", "parent_id"], "msg": f"{parent.id} is a {parent.kind}"}],
            )
    path = (parent.path if parent else "/") + tenant_id + "/"
    require(
        ctx.principal,
        "tenants:provision",
        tenant_resource(tenant_id, path),
        environment=ctx.environment,
        reason=ctx.reason,
        request_id=ctx.request_id,
    )
    plan_id = _effective_plan(db, kind, spec.get("plan_id"), parent)
    if plan_id != _effective_plan(db, kind, None, parent):
        _require_plan_assign(ctx, tenant_id, path, plan_id)
    isolation = _effective_isolation(kind, spec.get("isolation_mode"), parent)
    now = utcnow()
    tenant = Tenant(
        id=tenant_id,
        kind=kind,
        parent_id=parent.id if parent else None,
        path=path,
        name=spec["name"],
        plan_id=plan_id,
        isolation_mode=isolation,
        status="provisioning",
        spec_digest=spec_digest,
        created_at=now,
        updated_at=now,
        created_by=ctx.principal.subject,
    )
    db.add(tenant)
    try:
        db.flush()
    except IntegrityError:
        db.rollback()
        again = get_tenant(db, ctx.principal, tenant_id)
        if again is None:  # taken by a tenant the caller cannot see; do not reveal which
            raise Forbidden(
                f"tenant id {tenant_id!r} is not available", reasons=["tenant id already in use"]
            ) from None
        return _provision_existing(db, ctx, provisioner, again, spec, spec_digest)
    audit_record(
        db,
        actor=ctx.principal.actor,
        action="tenant.create",
        tenant_id=tenant_id,
        resource=f"tenant/{tenant_id}",
        reason=ctx.reason,
        request_id=ctx.request_id,
        after=tenant_state(tenant),
    )
    db.commit()
    _run(db, ctx, provisioner, tenant)
    return tenant, "created"


def _provision_existing(
    db: Session,
    ctx: RequestContext,
    provisioner: Provisioner,
    tenant: Tenant,
    spec: dict[str, Any],
    spec_digest: str,
) -> tuple[Tenant, Outcome]:
    require(
        ctx.principal,
        "tenants:provision",
        tenant_resource(tenant.id, tenant.path),
        environment=ctx.environment,
        reason=ctx.reason,
        request_id=ctx.request_id,
    )
    immutable = {"kind": tenant.kind, "parent_id": tenant.parent_id}
    changed = [k for k, v in immutable.items() if spec.get(k) != v]
    if changed:
        raise Conflict(
            f"{', '.join(changed)} of tenant {tenant.id!r} cannot change",
            problems=[{"loc": ["body", k], "msg": f"is {immutable[k]!r}"} for k in changed],
        )
    if tenant.status == "provisioning" and _recently_active(db, tenant):
        raise Conflict(
            f"tenant {tenant.id!r} is being provisioned by another request; repeat the PUT shortly"
        )
    if tenant.spec_digest == spec_digest:
        if tenant.status == "active":
            return tenant, "unchanged"
        _run(db, ctx, provisioner, tenant)
        return tenant, "resumed"

    parent = get_tenant(db, ctx.principal, tenant.parent_id) if tenant.parent_id else None
    if tenant.parent_id and parent is None:
        raise NotFound(f"parent tenant {tenant.parent_id!r} not found")
    isolation = _effective_isolation(tenant.kind, spec.get("isolation_mode"), parent)
    if isolation != tenant.isolation_mode:
        raise Conflict(
            f"isolation mode of tenant {tenant.id!r} cannot change after provisioning",
            problems=[{"loc": ["body", "isolation_mode"], "msg": f"is {tenant.isolation_mode!r}"}],
        )
    before = tenant_state(tenant)
    plan_id = _effective_plan(db, tenant.kind, spec.get("plan_id"), parent)
    if plan_id != tenant.plan_id:
        _require_plan_assign(ctx, tenant.id, tenant.path, plan_id)
        step = db.get(ProvisioningStep, (tenant.id, "default_quotas"))
        if step is not None:
            step.status = "pending"
    tenant.name, tenant.plan_id, tenant.spec_digest, tenant.updated_at = (
        spec["name"],
        plan_id,
        spec_digest,
        utcnow(),
    )
    done = set(
        db.execute(
            select(ProvisioningStep.step).where(
                ProvisioningStep.tenant_id == tenant.id, ProvisioningStep.status == "done"
            )
        ).scalars()
    )
    pending = tenant.status != "active" or not set(STEPS) <= done
    if pending:
        tenant.status = "provisioning"
    audit_record(
        db,
        actor=ctx.principal.actor,
        action="tenant.update",
        tenant_id=tenant.id,
        resource=f"tenant/{tenant.id}",
        reason=ctx.reason,
        request_id=ctx.request_id,
        before=before,
        after=tenant_state(tenant),
    )
    db.commit()
    if pending:
        _run(db, ctx, provisioner, tenant)
    return tenant, "updated"


STALE_AFTER = timedelta(seconds=60)


def _recently_active(db: Session, tenant: Tenant) -> bool:
    """Whether a provisioning of ``tenant`` made progress within STALE_AFTER (else it crashed: resume it)."""
    last_step = db.execute(
        select(func.max(ProvisioningStep.updated_at)).where(ProvisioningStep.tenant_id == tenant.id)
    ).scalar_one_or_none()
    if last_step is not None and last_step.tzinfo is None:
        last_step = last_step.replace(tzinfo=UTC)
    latest = max(t for t in (tenant.updated_at, last_step) if t is not None)
    return utcnow() - latest < STALE_AFTER


def _run(db: Session, ctx: RequestContext, provisioner: Provisioner, tenant: Tenant) -> None:
    """Run the pending steps; record success (active) or the failure (failed, 503) with an audit entry."""
    try:
        ran = provisioner.run(db, tenant)
    except IntegrityError:
        db.rollback()
        raise Conflict(
            f"tenant {tenant.id!r} is being provisioned by another request; repeat the PUT shortly"
        ) from None
    except StepFailed as exc:
        tenant.status, tenant.updated_at = "failed", utcnow()
        audit_record(
            db,
            actor=ctx.principal.actor,
            action="tenant.provision_failed",
            tenant_id=tenant.id,
            resource=f"tenant/{tenant.id}",
            reason=exc.error,
            request_id=ctx.request_id,
        )
        db.commit()
        raise Unavailable(
            f"provisioning of tenant {tenant.id!r} stopped at step {exc.step!r}; "
            "repeat the same PUT to resume",
            problems=[{"step": exc.step, "error": exc.error}],
        ) from None
    before = tenant_state(tenant)
    tenant.status, tenant.updated_at = "active", utcnow()
    audit_record(
        db,
        actor=ctx.principal.actor,
        action="tenant.provisioned",
        tenant_id=tenant.id,
        resource=f"tenant/{tenant.id}",
        reason=ctx.reason,
        request_id=ctx.request_id,
        before=before,
        after={**tenant_state(tenant), "steps_run": ran},
    )
    db.commit()


def _require_plan_assign(ctx: RequestContext, tenant_id: str, path: str, plan_id: str) -> None:
    """Refuse (403) unless the caller may put a tenant on a plan other than the inherited one (platform only)."""
    require(
        ctx.principal,
        "plans:assign",
        tenant_resource(tenant_id, path, plan_id=plan_id),
        environment=ctx.environment,
        reason=ctx.reason,
        request_id=ctx.request_id,
    )


def _effective_plan(db: Session, kind: str, plan_id: str | None, parent: Tenant | None) -> str:
    """The plan a tenant gets: its own (enterprises and orgs), else its parent's, else the default."""
    if plan_id is not None:
        if kind == "workspace":
            raise Invalid(
                "a workspace uses its org's plan",
                problems=[{"loc": ["body", "plan_id"], "msg": "plans are set on enterprises and orgs"}],
            )
        if db.get(Plan, plan_id) is None:
            raise Invalid(
                f"unknown plan {plan_id!r}", problems=[{"loc": ["body", "plan_id"], "msg": "no such plan"}]
            )
        return plan_id
    return parent.plan_id if parent is not None and parent.plan_id else DEFAULT_PLAN


def _effective_isolation(kind: str, mode: str | None, parent: Tenant | None) -> str:
    """An enterprise chooses pooled or siloed; everything below it inherits the enterprise's mode."""
    if kind == "enterprise":
        return mode or "pooled"
    inherited = parent.isolation_mode if parent is not None else "pooled"
    if mode is not None and mode != inherited:
        raise Invalid(
            f"a {kind} inherits isolation mode {inherited!r} from its enterprise",
            problems=[{"loc": ["body", "isolation_mode"], "msg": f"must be omitted or {inherited!r}"}],
        )
    return inherited


def put_plan(db: Session, ctx: RequestContext, plan_id: str, spec: dict[str, Any]) -> tuple[Plan, bool]:
    """Create or replace a plan (platform only); returns (plan, created). Same body twice changes nothing."""
    from control_plane.authz.service import global_resource

    require(
        ctx.principal,
        "plans:write",
        global_resource("plan", plan_id),
        environment=ctx.environment,
        reason=ctx.reason,
        request_id=ctx.request_id,
    )
    plan = db.get(Plan, plan_id)
    now = utcnow()
    if plan is None:
        plan = Plan(id=plan_id, created_at=now, updated_at=now, **spec)
        db.add(plan)
        db.flush()
        audit_record(
            db,
            actor=ctx.principal.actor,
            action="plan.create",
            tenant_id=None,
            resource=f"plan/{plan_id}",
            reason=ctx.reason,
            request_id=ctx.request_id,
            after=plan_state(plan),
        )
        db.commit()
        return plan, True
    before = plan_state(plan)
    if canonical(before) == canonical({"id": plan_id, **spec}):
        return plan, False
    plan.name, plan.quotas, plan.allowed_module_types, plan.updated_at = (
        spec["name"],
        spec["quotas"],
        spec["allowed_module_types"],
        now,
    )
    audit_record(
        db,
        actor=ctx.principal.actor,
        action="plan.update",
        tenant_id=None,
        resource=f"plan/{plan_id}",
        reason=ctx.reason,
        request_id=ctx.request_id,
        before=before,
        after=plan_state(plan),
    )
    db.commit()
    return plan, False
