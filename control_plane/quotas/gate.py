"""``DbQuotaGate``: the control plane's implementation of ``lakehouse.guardrails.QuotaGate`` over its database."""

from __future__ import annotations

from datetime import datetime

from control_plane.costs.settings import GuardrailSettings
from control_plane.db import Database, DbScope
from control_plane.quotas import service
from lakehouse.guardrails import Reservation, Usage


class DbQuotaGate:
    """Reservations and usage in the control-plane database, each tenant's transactions in its own scope."""

    def __init__(
        self, db: Database, settings: GuardrailSettings | None = None, *, owns_db: bool = False
    ) -> None:
        self.db = db
        self.settings = settings or GuardrailSettings()
        self.owns_db = owns_db

    def reserve(self, tenant_id: str, kind: str, *, run_id: str) -> Reservation:
        """Reserve atomically (one write transaction); raises ``QuotaExceeded`` when over a quota or the budget."""
        try:
            with self.db.session(DbScope.for_tenant(tenant_id), write=True) as session:
                row, limits = service.reserve(
                    session, tenant_id=tenant_id, kind=kind, run_id=run_id, settings=self.settings
                )
                session.commit()
                return Reservation(row.id, tenant_id, kind, row.run_id, limits)
        except BaseException:
            if self.owns_db:  # no release will follow a refused reservation
                self.db.dispose()
            raise

    def release(
        self, reservation: Reservation, *, usage: Usage | None, usage_at: datetime, source: str
    ) -> None:
        """Free the slot and record the usage in the cost ledger (one transaction)."""
        try:
            with self.db.session(DbScope.for_tenant(reservation.tenant_id), write=True) as session:
                service.release(
                    session,
                    reservation_id=reservation.reservation_id,
                    usage=usage,
                    usage_at=usage_at,
                    source=source,
                    settings=self.settings,
                )
                session.commit()
        finally:
            if self.owns_db:
                self.db.dispose()
