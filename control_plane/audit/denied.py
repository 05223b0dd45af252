"""Refused requests (400/401/403/404/413/429) in the audit chain and the log.

* An authenticated caller's refusal is always written, to the caller's own chain (its home tenant's, or the
  platform chain for platform admins): who, ``METHOD path``, the status and why, the request id. It never goes
  to the chain of the tenant that was asked for: that would tell a prober which tenants exist.
* Refusals without an authenticated caller (no, bad or locked-out credentials, too large a body, too many
  requests) are aggregated per source address: the first in each ``window`` seconds is written to the
  platform chain and logged, the others are counted, and the count is carried by the next row written for that
  address (``suppressed_since_last``). A flood therefore adds at most one row and one log line per address per
  window. 429s of an authenticated caller are aggregated the same way (per caller), for the same reason.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from control_plane.audit.service import Actor, record
from control_plane.auth.principal import Principal
from control_plane.db import Database, DbScope

log = logging.getLogger("control_plane.audit.denied")
ANONYMOUS = Actor("anonymous", "none")


@dataclass
class Aggregator:
    """Per-source windows: ``admit`` says whether to write now and how many were held back since the last."""

    window: float
    clock: Callable[[], float] = time.monotonic
    _state: dict[str, tuple[float, int]] = field(default_factory=dict)  # source -> (window start, suppressed)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def admit(self, source: str) -> tuple[bool, int]:
        """(write this one?, refusals suppressed before it)."""
        now = self.clock()
        with self._lock:
            start, suppressed = self._state.get(source, (float("-inf"), 0))
            if now - start >= self.window:
                if len(self._state) > 100_000:
                    self._state = {s: v for s, v in self._state.items() if now - v[0] < self.window}
                self._state[source] = (now, 0)
                return True, suppressed
            self._state[source] = (start, suppressed + 1)
            return False, suppressed + 1


@dataclass(frozen=True)
class Refusal:
    """One refused request."""

    method: str
    path: str
    status: int
    detail: str
    request_id: str | None
    source: str
    principal: Principal | None
    reason_header: str | None = None


def record_refusal(db: Database, aggregator: Aggregator, refusal: Refusal) -> bool:
    """Log and audit a refusal (aggregated for anonymous callers and 429s); returns whether a row was written."""
    principal = refusal.principal
    aggregate = principal is None or refusal.status == 429
    suppressed = 0
    if aggregate:
        source = principal.subject if principal is not None else f"ip:{refusal.source}"
        admitted, suppressed = aggregator.admit(f"{source}:{refusal.status}")
        if not admitted:
            return False
    log.warning(
        "refused %s %s -> %d for %s from %s (request %s): %s%s",
        refusal.method,
        refusal.path,
        refusal.status,
        principal.subject if principal else "anonymous",
        refusal.source,
        refusal.request_id,
        refusal.detail,
        f" [{suppressed} similar refusals suppressed]" if suppressed else "",
    )
    tenant_id = principal.tenant_id if principal is not None else None
    scope = DbScope.for_tenant(tenant_id) if tenant_id else DbScope.for_platform()
    details = {"status": refusal.status, "detail": refusal.detail[:500], "source": refusal.source}
    if suppressed:
        details["suppressed_since_last"] = suppressed
    if refusal.reason_header:
        details["x_audit_reason"] = refusal.reason_header[:200]
    with db.session(scope, write=True) as session:
        record(
            session,
            actor=principal.actor if principal is not None else ANONYMOUS,
            action=f"request.denied.{refusal.status}",
            tenant_id=tenant_id,
            resource=f"{refusal.method} {refusal.path}"[:400],
            reason=(
                f"{refusal.status}: {refusal.detail} (from {refusal.source}"
                + (f"; {suppressed} similar refusals suppressed before this one)" if suppressed else ")")
            )[:1000],
            request_id=refusal.request_id,
            after=details,
        )
        session.commit()
    return True
