"""Run a job over several tenants, each in its own AWS account: the tenant's verified role and ExternalId
come from the control plane's connectors, through an interface (the library never imports the control plane).

A tenant without a verified connector is skipped with the reason, and the other tenants carry on; the run's
summary lists every tenant's outcome and its exit code says whether all ran (0), some were refused for want of
a verified connector (4, like any authorization refusal), or some failed (that failure's code, 1 by default).
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, Literal, Protocol, TypeVar

from lakehouse.errors import LakehouseError, Refused
from lakehouse.tenancy import validate_tenant_id

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

    from lakehouse.partner_central.connector import ConnectorConfig
    from lakehouse.partner_central.ingest import IngestionRun

log = logging.getLogger("lakehouse.linked_accounts")

PARTNER_CENTRAL = "partner-central-selling"
_T = TypeVar("_T")


class TenantRole(Protocol):
    """A tenant's verified role for one service (what the control plane's connector answers)."""

    @property
    def tenant_id(self) -> str: ...
    @property
    def role_arn(self) -> str: ...
    @property
    def external_id(self) -> str: ...


class RoleDirectory(Protocol):
    """Looks up a tenant's verified role; answers the reason as text when there is none."""

    def linked_role(self, tenant_id: str, service_name: str) -> TenantRole | str: ...


@dataclass(frozen=True)
class TenantOutcome(Generic[_T]):
    """What happened to one tenant of a run: ``succeeded`` (with its result), ``skipped`` or ``failed`` (why)."""

    tenant_id: str
    status: Literal["succeeded", "skipped", "failed"]
    reason: str | None = None
    result: _T | None = None
    exit_code: int = 0


@dataclass
class MultiTenantRun(Generic[_T]):
    """Every tenant's outcome, in the order the tenants were given."""

    service: str
    outcomes: list[TenantOutcome[_T]] = field(default_factory=list)

    def by_status(self, status: str) -> list[TenantOutcome[_T]]:
        """The outcomes with ``status``."""
        return [o for o in self.outcomes if o.status == status]

    @property
    def exit_code(self) -> int:
        """0 all ran; a failure's code if any failed; else 4 if any tenant was skipped (refused)."""
        failed = self.by_status("failed")
        if failed:
            return max(o.exit_code for o in failed)
        return Refused.exit_code if self.by_status("skipped") else 0

    def summary(self) -> list[dict[str, Any]]:
        """One plain row per tenant (for a run report, a log line or a CLI table)."""
        return [{"tenant_id": o.tenant_id, "status": o.status, "reason": o.reason} for o in self.outcomes]


def run_for_tenants(
    tenants: Iterable[str],
    directory: RoleDirectory,
    run_one: Callable[[TenantRole], _T],
    *,
    service: str = PARTNER_CENTRAL,
) -> MultiTenantRun[_T]:
    """Run ``run_one`` with each tenant's own verified role; skip (with the reason) tenants without one.

    One tenant's failure is recorded with its message and does not stop the others.
    """
    run: MultiTenantRun[_T] = MultiTenantRun(service)
    # Every id is checked before anything runs (BadInput, exit 2); a tenant named twice runs once.
    for tenant_id in dict.fromkeys([validate_tenant_id(t) for t in tenants]):
        role = directory.linked_role(tenant_id, service)
        if isinstance(role, str):
            log.warning("tenant %s skipped: %s", tenant_id, role)
            run.outcomes.append(TenantOutcome(tenant_id, "skipped", reason=role, exit_code=Refused.exit_code))
            continue
        if role.tenant_id != tenant_id:  # a directory answering another tenant's role would cross accounts
            raise Refused(f"the role directory answered tenant {role.tenant_id!r}'s role for {tenant_id!r}")
        try:
            result = run_one(role)
        except Exception as exc:  # recorded in the outcome and the exit code, then the next tenant runs
            code = exc.exit_code if isinstance(exc, LakehouseError) else 1
            log.exception("tenant %s failed", tenant_id)
            reason = f"{type(exc).__name__}: {exc}"
            run.outcomes.append(TenantOutcome(tenant_id, "failed", reason=reason, exit_code=code))
            continue
        run.outcomes.append(TenantOutcome(tenant_id, "succeeded", result=result))
    return run


def config_for(role: TenantRole, base: ConnectorConfig) -> ConnectorConfig:
    """``base`` acting as the tenant: its role, its ExternalId and a session name that names the tenant."""
    return dataclasses.replace(
        base,
        role_arn=role.role_arn,
        external_id=role.external_id,
        session_name=f"lakehouse-ingest-{role.tenant_id}",
        sts_endpoint_url=base.sts_endpoint_url or base.endpoint_url,
    )


def ingest_partner_central(
    spark: SparkSession,
    tenants: Iterable[str],
    directory: RoleDirectory,
    base: ConnectorConfig,
    *,
    catalog: str = "Sandbox",
    sync_options: Mapping[str, Any] | None = None,
) -> MultiTenantRun[IngestionRun]:
    """Sync each tenant's Partner Central catalog into bronze with that tenant's own role and ExternalId.

    ``base`` carries what all tenants share (endpoint, region, limits, the platform's own credentials); a
    sync whose run ends ``failed`` counts as a failed tenant.
    """
    from lakehouse.partner_central.connector import PartnerCentralReader
    from lakehouse.partner_central.ingest import sync_partner_central
    from lakehouse.tenancy import TenantScope

    def one(role: TenantRole) -> IngestionRun:
        reader = PartnerCentralReader.from_config(config_for(role, base))
        result = sync_partner_central(
            spark, TenantScope.for_tenant(role.tenant_id), reader, catalog=catalog, **dict(sync_options or {})
        )
        if result.status == "failed":
            raise LakehouseError(f"Partner Central sync run {result.ingestion_run_id} failed: {result.error}")
        return result

    return run_for_tenants(tenants, directory, one, service=PARTNER_CENTRAL)


def execution_input(
    tenants: Iterable[str], directory: RoleDirectory, *, service: str = PARTNER_CENTRAL
) -> dict[str, Any]:
    """A Step Functions execution input carrying each tenant's role (``--role_arn``/``--external_id`` for its
    ingest job), with the tenants skipped for want of a verified connector listed beside it with the reason."""
    items: list[dict[str, str]] = []
    skipped: list[dict[str, str]] = []
    for tenant_id in dict.fromkeys(tenants):
        role = directory.linked_role(tenant_id, service)
        if isinstance(role, str):
            skipped.append({"tenant_id": tenant_id, "reason": role})
        else:
            items.append({"tenant_id": tenant_id, "role_arn": role.role_arn, "external_id": role.external_id})
    return {"tenants": items, "skipped": skipped}
