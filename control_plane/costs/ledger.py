"""The cost ledger as the library sees it: ``DbUsageRecorder`` (a ``UsageRecorder``) and ``LedgerUsageSource``
(the Marketplace ``UsageSource`` that metering reads)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy import select

from control_plane.costs import service
from control_plane.costs.models import CostLedgerEntry
from control_plane.costs.settings import GuardrailSettings
from control_plane.db import Database, DbScope
from control_plane.tenants.models import Tenant
from lakehouse.guardrails import Usage
from lakehouse.marketplace.interfaces import UsageRow, utc

# ledger resource -> (Marketplace dimension, ledger units per dimension unit)
DEFAULT_DIMENSIONS: dict[str, tuple[str, Decimal]] = {
    "compute_seconds": ("pipeline_hours", Decimal(3600)),
    "api_calls": ("api_calls", Decimal(1)),
    "rows_ingested": ("rows_ingested", Decimal(1_000_000)),  # the dimension is in millions of rows
}


class DbUsageRecorder:
    """Records usage in the ledger (idempotent per tenant, run, source and resource)."""

    def __init__(self, db: Database, settings: GuardrailSettings | None = None) -> None:
        self.db = db
        self.settings = settings or GuardrailSettings()

    def record(self, tenant_id: str, run_id: str, usage: Usage, *, usage_at: datetime, source: str) -> None:
        with self.db.session(DbScope.for_tenant(tenant_id), write=True) as session:
            service.record_usage(
                session,
                tenant_id=tenant_id,
                run_id=run_id,
                usage=usage,
                usage_at=usage_at.astimezone(UTC),
                source=source,
                settings=self.settings,
            )
            session.commit()


class LedgerUsageSource:
    """``UsageSource`` over the cost ledger: the billed tenant's usage and its descendants', mapped to dimensions.

    A row of a descendant tenant carries that tenant as ``workspace_id`` (an allocation tag); the billed tenant's
    own rows carry none. Resources without a dimension in ``dimensions`` are not billed.
    """

    def __init__(self, db: Database, dimensions: Mapping[str, tuple[str, Decimal]] | None = None) -> None:
        self.db = db
        self.dimensions = dict(dimensions or DEFAULT_DIMENSIONS)

    def usage(self, tenant_id: str, start: datetime, end: datetime) -> Iterable[UsageRow]:
        start, end = utc(start), utc(end)
        with self.db.session(DbScope.for_platform()) as session:
            query = (
                select(CostLedgerEntry)
                .join(Tenant, Tenant.id == CostLedgerEntry.tenant_id)
                .where(
                    Tenant.path.contains(f"/{tenant_id}/", autoescape=True),
                    CostLedgerEntry.usage_at >= start,
                    CostLedgerEntry.usage_at < end,
                )
                .order_by(CostLedgerEntry.usage_at, CostLedgerEntry.id)
            )
            rows = []
            for entry in session.execute(query).scalars():
                mapped = self.dimensions.get(entry.resource)
                if mapped is None:
                    continue
                dimension, per_unit = mapped
                quantity = Decimal(entry.quantity_micros) / service.MICRO / per_unit
                rows.append(
                    UsageRow(
                        tenant_id,
                        entry.tenant_id if entry.tenant_id != tenant_id else None,
                        dimension,
                        entry.usage_at,
                        quantity,
                        entry.run_id,
                    )
                )
            return rows
