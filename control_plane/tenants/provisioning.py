"""Resumable tenant provisioning: lake prefixes, warehouse isolation, default quotas, signing key.

Each step is recorded in ``provisioning_steps`` once done (in the same transaction for database steps; the
external steps are idempotent), so repeating ``PUT /tenants/{id}`` after a failure resumes at the failed step.
"""

from __future__ import annotations

import re
import threading
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


def _ident(tenant_id: str) -> str:
    return "t_" + re.sub(r"[^a-z0-9_]", "_", tenant_id)


class DuckDBWarehouse:
    """Local stand-in for Redshift: a schema per siloed enterprise, a row policy per pooled tenant.

    One connection is opened on first use and kept (DuckDB lets one process write a database file).
    """

    def __init__(self, path: str) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._con: Any = None

    def _connection(self) -> Any:
        if self._con is None:
            import duckdb

            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
            con = duckdb.connect(self.path)
            con.execute("CREATE SCHEMA IF NOT EXISTS pooled")
            con.execute(
                "CREATE TABLE IF NOT EXISTS pooled.row_policies (tenant_id VARCHAR PRIMARY KEY, schema_name VARCHAR,"
                " predicate VARCHAR, created_at TIMESTAMPTZ)"
            )
            self._con = con
        return self._con

    def close(self) -> None:
        with self._lock:
            if self._con is not None:
                self._con.close()
                self._con = None

    def ensure_isolation(self, tenant: Tenant) -> dict[str, Any]:
        schema = _ident(tenant.enterprise_id) if tenant.isolation_mode == "siloed" else "pooled"
        predicate = f"tenant_id = '{tenant.id}'"
        with self._lock:
            con = self._connection()
            if tenant.isolation_mode == "siloed":
                con.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
            con.execute(
                "INSERT INTO pooled.row_policies VALUES (?, ?, ?, now()) ON CONFLICT (tenant_id) DO NOTHING",
                [tenant.id, schema, predicate],
            )
        if tenant.isolation_mode == "siloed" and tenant.kind == "enterprise":
            redshift = [f"CREATE SCHEMA IF NOT EXISTS {schema};"]
        else:
            policy = f"tenant_{_ident(tenant.id)}"
            redshift = [
                f"CREATE RLS POLICY {policy} WITH (tenant_id VARCHAR(63)) USING ({predicate});",
                f"ATTACH RLS POLICY {policy} ON {schema}.<table> TO ROLE {_ident(tenant.id)};",
            ]
        return {
            "mode": tenant.isolation_mode,
            "schema": schema,
            "predicate": predicate,
            "redshift_ddl": redshift,
        }


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
