"""Wiring for the local CLI: the control-plane database beside the lake and the quota gate for one tenant.

``lakehouse ingest partner-central`` and ``lakehouse pipeline run`` call ``local_quota_gate`` (lazily, from the
command function). With ``LAKEHOUSE_GUARDRAILS=auto`` (default) a tenant the control plane does not know is let
through with a warning outside production (a fresh local lake has no provisioned tenants) and refused in
production; ``enforce`` refuses it everywhere; ``off`` disables reservations and the ledger.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.engine import make_url

from control_plane.costs.settings import GuardrailSettings
from control_plane.db import Database, DbScope, migrate
from control_plane.quotas.gate import DbQuotaGate
from control_plane.tenants.models import Tenant
from lakehouse.guardrails import NoGuardrails, QuotaExceeded, QuotaGate


def open_database(url: str | None = None) -> Database:
    """The control-plane database of this environment (a local SQLite file is migrated first)."""
    from lakehouse.settings import get_settings

    url = url or get_settings().resolved_database_url()
    if make_url(url).get_backend_name() == "sqlite":
        migrate(url)
    return Database(url, pool_size=2)


def is_provisioned(db: Database, tenant_id: str) -> bool:
    """Whether the control plane knows the tenant."""
    with db.session(DbScope.for_platform()) as session:
        return session.get(Tenant, tenant_id) is not None


def local_quota_gate(
    tenant_id: str, *, warn: Callable[[str], None] | None = None, settings: GuardrailSettings | None = None
) -> QuotaGate:
    """The quota gate a CLI run of ``tenant_id`` reserves through (see the module docstring for the modes)."""
    from lakehouse.settings import get_settings

    settings = settings or GuardrailSettings()
    if settings.guardrails == "off":
        return NoGuardrails("LAKEHOUSE_GUARDRAILS=off")
    db = open_database()
    if is_provisioned(db, tenant_id):
        return DbQuotaGate(db, settings, owns_db=True)
    db.dispose()
    if settings.guardrails == "enforce" or get_settings().environment == "production":
        raise QuotaExceeded(
            f"tenant {tenant_id!r} is not provisioned in the control plane, so no quota or budget "
            f"can be reserved for it; provision it (PUT /tenants/{tenant_id}) first"
        )
    if warn is not None:
        warn(
            f"tenant {tenant_id} is not provisioned in the control plane: quotas, budget and the cost ledger do not "
            "apply to this run (provision it, or set LAKEHOUSE_GUARDRAILS=enforce to refuse such runs)"
        )
    return NoGuardrails(f"tenant {tenant_id} not provisioned")
