"""Resumable tenant provisioning: lake prefixes, warehouse isolation, default quotas, signing key.

Each step is recorded in ``provisioning_steps`` once done (in the same transaction for database steps; the
external steps are idempotent), so repeating ``PUT /tenants/{id}`` after a failure resumes at the failed step.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from control_plane.auth.models import SigningKey
from control_plane.db import new_id, utcnow
from control_plane.quotas.models import Quota
from control_plane.tenants.models import Plan, ProvisioningStep, Tenant

STEPS = ("lake_prefixes", "warehouse_isolation", "default_quotas", "signing_key")
LANDING_AREAS = ("landing", "exports")


class StepFailed(Exception):
    """A provisioning step failed; the tenant is left ``failed`` and the next PUT resumes here."""

    def __init__(self, step: str, error: str) -> None:
        super().__init__(f"provisioning step {step!r} failed: {error}")
        self.step = step
        self.error = error


class LakeArea(Protocol):
    def ensure(self, tenant: Tenant) -> dict[str, Any]: ...


class Warehouse(Protocol):
    def ensure_isolation(self, tenant: Tenant) -> dict[str, Any]: ...


class LakePrefixes:
    """Creates the tenant's landing/export prefixes (directories locally, marker objects on S3)."""

    def __init__(self, lake_root: str) -> None:
        self.lake_root = lake_root.rstrip("/")

    def prefixes(self, tenant: Tenant) -> list[str]:
        """The tenant's own prefixes; table data lives under ``{layer}/{table}/tenant_id=<id>/``."""
        return [f"{self.lake_root}/{area}/tenant_id={tenant.id}/" for area in LANDING_AREAS]

    def ensure(self, tenant: Tenant) -> dict[str, Any]:
        prefixes = self.prefixes(tenant)
        if self.lake_root.startswith(("s3://", "s3a://")):
            import boto3

            s3 = boto3.client("s3")
            for prefix in prefixes:
                bucket, _, key = prefix.split("://", 1)[1].partition("/")
                s3.put_object(Bucket=bucket, Key=key, Body=b"")
        else:
            for prefix in prefixes:
                Path(prefix).mkdir(parents=True, exist_ok=True)
        table_pattern = f"{self.lake_root}/{{layer}}/{{table}}/tenant_id={tenant.id}/"
        return {"prefixes": prefixes, "table_prefix_pattern": table_pattern}


class SqlWarehouse:
    """The tenant's isolation in the analytics warehouse, created with ``lakehouse.warehouse``.

    Siloed tenants get a schema of their own, pooled tenants a row-level security policy on each table of the
    shared ``pooled`` schema; both get a reader role and its grants. Without a warehouse URL nothing is
    created (the detail says so) and the first ``lakehouse warehouse sync`` creates the same objects.
    """

    def __init__(self, url: str | None) -> None:
        self.url = url

    @classmethod
    def from_environment(cls) -> SqlWarehouse:
        """The warehouse of ``LAKEHOUSE_WAREHOUSE_URL`` (unset: record the plan, create nothing)."""
        from lakehouse.warehouse.connection import WarehouseSettings

        url = WarehouseSettings().url
        return cls(url.get_secret_value() if url is not None else None)

    def ensure_isolation(self, tenant: Tenant) -> dict[str, Any]:
        from lakehouse.warehouse.model import Isolation
        from lakehouse.warehouse.sync import open_warehouse

        iso = Isolation.of(tenant.id, tenant.isolation_mode)
        detail: dict[str, Any] = {"mode": tenant.isolation_mode, "schema": iso.schema, "role": iso.role}
        if iso.mode == "rls":
            detail |= {"policy": iso.policy, "predicate": iso.predicate}
        if self.url is None:
            return detail | {
                "applied": False,
                "reason": "no warehouse configured (LAKEHOUSE_WAREHOUSE_URL); the first warehouse sync creates it",
            }
        with open_warehouse(self.url) as warehouse:
            ran = warehouse.ensure_isolation(iso)
        return detail | {"applied": True, "dialect": warehouse.dialect.name, "statements_run": len(ran)}

    def close(self) -> None:
        """Nothing to release: each provisioning opens and closes its own connection."""


class Provisioner:
    """Runs the steps not yet done for a tenant, committing after each."""

    def __init__(self, lake: LakeArea, warehouse: Warehouse) -> None:
        self.lake = lake
        self.warehouse = warehouse

    def _step_functions(self) -> dict[str, Callable[[Session, Tenant], dict[str, Any]]]:
        return {
            "lake_prefixes": lambda db, t: self.lake.ensure(t),
            "warehouse_isolation": lambda db, t: self.warehouse.ensure_isolation(t),
            "default_quotas": default_quotas,
            "signing_key": ensure_signing_key,
        }

    def run(self, db: Session, tenant: Tenant) -> list[str]:
        """Run pending steps in order; return the steps run. Raises StepFailed after recording the failure."""
        ran: list[str] = []
        functions = self._step_functions()
        for step in STEPS:
            record = db.get(ProvisioningStep, (tenant.id, step))
            if record is not None and record.status == "done":
                continue
            attempts = (record.attempts if record else 0) + 1
            try:
                detail = functions[step](db, tenant)
            except Exception as exc:
                db.rollback()
                _record(db, tenant.id, step, "failed", attempts, {"error": f"{type(exc).__name__}: {exc}"})
                raise StepFailed(step, f"{type(exc).__name__}: {exc}") from exc
            _record(db, tenant.id, step, "done", attempts, detail)
            db.commit()
            ran.append(step)
        return ran


def _record(
    db: Session, tenant_id: str, step: str, status: str, attempts: int, detail: dict[str, Any]
) -> None:
    record = db.get(ProvisioningStep, (tenant_id, step))
    if record is None:
        db.add(
            ProvisioningStep(
                tenant_id=tenant_id,
                step=step,
                status=status,
                attempts=attempts,
                detail=detail,
                updated_at=utcnow(),
            )
        )
    else:
        record.status, record.attempts, record.detail, record.updated_at = status, attempts, detail, utcnow()
    db.flush()


def default_quotas(db: Session, tenant: Tenant) -> dict[str, Any]:
    """Quota rows from the tenant's effective plan (updated in place when the plan changes)."""
    plan = db.get(Plan, tenant.plan_id)
    if plan is None:
        raise LookupError(f"plan {tenant.plan_id!r} does not exist")
    existing = {
        q.resource: q for q in db.execute(select(Quota).where(Quota.tenant_id == tenant.id)).scalars()
    }
    for resource, limit in sorted(plan.quotas.items()):
        quota = existing.get(resource)
        if quota is None:
            db.add(
                Quota(
                    tenant_id=tenant.id,
                    resource=resource,
                    limit=float(limit),
                    source=f"plan:{plan.id}",
                    updated_at=utcnow(),
                )
            )
        elif quota.limit != float(limit) or quota.source != f"plan:{plan.id}":
            quota.limit, quota.source, quota.updated_at = float(limit), f"plan:{plan.id}", utcnow()
    db.flush()
    return {"plan_id": plan.id, "quotas": plan.quotas}


def ensure_signing_key(db: Session, tenant: Tenant) -> dict[str, Any]:
    """An active HS256 signing key for the tenant's tokens (its secret is derived, never stored)."""
    key = (
        db.execute(select(SigningKey).where(SigningKey.tenant_id == tenant.id, SigningKey.status == "active"))
        .scalars()
        .first()
    )
    if key is None:
        key = SigningKey(
            id=new_id("s", 8), tenant_id=tenant.id, algorithm="HS256", status="active", created_at=utcnow()
        )
        db.add(key)
        db.flush()
    return {"signing_key_id": key.id, "algorithm": key.algorithm}
