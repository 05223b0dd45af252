"""Cost guardrails and approval gates, library side: the small interfaces the control plane implements.

``lakehouse`` runs on Glue without the API, so it never imports ``control_plane``. What a run or a write needs
from the control plane arrives through these protocols:

* ``QuotaGate`` — ``reserve`` before a pipeline run, connector sync or Partner Central write starts (refused with
  ``QuotaExceeded``, exit 4, when the tenant is over a quota or its monthly budget), ``release`` after it, with
  the ``Usage`` it consumed (which lands in the cost ledger).
* ``UsageRecorder`` — records usage in the cost ledger without a reservation (the demo, backfills).
* ``ExecutionGate`` — an approval-gated action claims its approval (``begin``: approved, unexpired, not executed),
  then reports ``complete`` or ``fail``; ``AuditSink`` — where results of gated actions are audited.

``TokenBucket`` is the one client-side rate limiter (Partner Central reads 10/s and writes 1/s, Marketplace calls,
the tenant's per-minute API quota), ``guarded_run`` the context manager that wraps a run in a reservation, and ``NoGuardrails`` the gate
for code paths with no control plane (unprovisioned tenants in development, unit tests).
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, Literal, Protocol

from lakehouse.errors import BadInput, Refused
from lakehouse.marketplace.interfaces import ApprovalRefused, payload_digest

RunKind = Literal["pipeline_run", "connector_sync", "partner_central_write", "agent_ask"]
RUN_KINDS: tuple[str, ...] = ("pipeline_run", "connector_sync", "partner_central_write", "agent_ask")

# Quota resources (limits live in the control plane's ``quotas`` table; defaults in its configuration).
CONCURRENT_PIPELINE_RUNS = "concurrent_pipeline_runs"
CONCURRENT_CONNECTOR_SYNCS = "concurrent_connector_syncs"
ROWS_INGESTED_PER_DAY = "rows_ingested_per_day"
API_CALLS_PER_MINUTE = "api_calls_per_minute"
MONTHLY_BUDGET_USD = "monthly_compute_usd"  # the plan quota that is the tenant's monthly budget
AGENT_TOKENS_PER_DAY = "agent_tokens_per_day"  # model tokens (input + output) agents may use per UTC day

# Metered resources of the cost ledger and their units.
UNITS: dict[str, str] = {
    "compute_seconds": "second",
    "api_calls": "call",
    "rows_ingested": "row",
    "model_input_tokens": "token",
    "model_output_tokens": "token",
}


class QuotaExceeded(Refused):
    """A quota, the monthly budget or a concurrency limit refused the run before it started; nothing was done."""


__all__ = [
    "AGENT_TOKENS_PER_DAY",
    "API_CALLS_PER_MINUTE",
    "CONCURRENT_CONNECTOR_SYNCS",
    "CONCURRENT_PIPELINE_RUNS",
    "MONTHLY_BUDGET_USD",
    "ROWS_INGESTED_PER_DAY",
    "RUN_KINDS",
    "UNITS",
    "ApprovalRefused",
    "ApprovalTicket",
    "AuditSink",
    "ExecutionGate",
    "MemoryAuditSink",
    "NoGuardrails",
    "QuotaExceeded",
    "QuotaGate",
    "RecordedRun",
    "Reservation",
    "RunGuard",
    "TokenBucket",
    "Usage",
    "UsageRecorder",
    "guarded_run",
    "new_run_id",
    "payload_digest",
]


# ----------------------------------------------------------------------------------------------- usage


def _decimal(value: Decimal | float | str) -> Decimal:
    try:
        result = Decimal(str(value))
    except ArithmeticError:
        raise BadInput(f"usage quantity {value!r} is not a number") from None
    if not result.is_finite() or result < 0:
        raise BadInput(f"usage quantity {value!r} must be a finite, non-negative number")
    return result


@dataclass
class Usage:
    """What a run consumed: compute seconds, API calls, rows ingested and model tokens (the ledger's resources)."""

    compute_seconds: Decimal = Decimal(0)
    api_calls: int = 0
    rows_ingested: int = 0
    model_input_tokens: int = 0
    model_output_tokens: int = 0

    def __post_init__(self) -> None:
        self.compute_seconds = _decimal(self.compute_seconds)
        self.api_calls = int(_decimal(self.api_calls))
        self.rows_ingested = int(_decimal(self.rows_ingested))
        self.model_input_tokens = int(_decimal(self.model_input_tokens))
        self.model_output_tokens = int(_decimal(self.model_output_tokens))

    @staticmethod
    def seconds_between(start: datetime, end: datetime) -> Decimal:
        """Exact elapsed seconds (microsecond precision, no float rounding)."""
        return Decimal((end - start) // timedelta(microseconds=1)) / Decimal(1_000_000)

    def items(self) -> list[tuple[str, Decimal]]:
        """(resource, quantity) pairs, in ledger order."""
        return [
            ("compute_seconds", self.compute_seconds),
            ("api_calls", Decimal(self.api_calls)),
            ("rows_ingested", Decimal(self.rows_ingested)),
            ("model_input_tokens", Decimal(self.model_input_tokens)),
            ("model_output_tokens", Decimal(self.model_output_tokens)),
        ]


@dataclass(frozen=True)
class RecordedRun:
    """A finished run's usage, for recording in the cost ledger after the fact (the demo, backfills)."""

    tenant_id: str
    run_id: str
    usage: Usage
    usage_at: datetime
    source: str = "demo"


# ----------------------------------------------------------------------------------------------- quotas


@dataclass(frozen=True)
class Reservation:
    """A granted reservation: the run may start. ``limits`` are the tenant's quota limits at reservation time."""

    reservation_id: str
    tenant_id: str
    kind: str
    run_id: str
    limits: Mapping[str, float] = field(default_factory=dict)
    enforced: bool = True

    def api_rate_per_second(self, ceiling: float | None) -> float | None:
        """The connector's client-side rate: the per-minute API quota as a rate, capped by ``ceiling``."""
        per_minute = self.limits.get(API_CALLS_PER_MINUTE)
        rate = per_minute / 60.0 if per_minute else None
        if rate is None:
            return ceiling
        return rate if ceiling is None else min(rate, ceiling)


class QuotaGate(Protocol):
    """Reservations before work starts (the control plane's ``DbQuotaGate`` in production)."""

    def reserve(self, tenant_id: str, kind: str, *, run_id: str) -> Reservation:
        """Reserve a slot for a run, or raise ``QuotaExceeded`` naming the quota and what to do."""

    def release(
        self, reservation: Reservation, *, usage: Usage | None, usage_at: datetime, source: str
    ) -> None:
        """Free the reservation and record the run's usage in the cost ledger (idempotent per run)."""


class UsageRecorder(Protocol):
    """Records usage in the cost ledger (idempotent per tenant, run, resource and source)."""

    def record(self, tenant_id: str, run_id: str, usage: Usage, *, usage_at: datetime, source: str) -> None:
        """Append the usage of one run to the ledger."""


class NoGuardrails:
    """A ``QuotaGate`` that grants everything and records nothing (no control plane available)."""

    def __init__(self, reason: str = "no control plane") -> None:
        self.reason = reason
        self.released: list[tuple[Reservation, Usage | None]] = []

    def reserve(self, tenant_id: str, kind: str, *, run_id: str) -> Reservation:
        return Reservation(f"none-{uuid.uuid4().hex[:12]}", tenant_id, kind, run_id, {}, enforced=False)

    def release(
        self, reservation: Reservation, *, usage: Usage | None, usage_at: datetime, source: str
    ) -> None:
        self.released.append((reservation, usage))


def new_run_id(prefix: str) -> str:
    """A unique, sortable run id: ``<prefix>-<UTC timestamp>-<random>``."""
    return f"{prefix}-{datetime.now(UTC):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}"


@dataclass
class RunGuard:
    """A run inside ``guarded_run``: set ``usage`` (compute seconds default to the measured wall time)."""

    reservation: Reservation
    started_at: datetime
    usage: Usage | None = None

    @property
    def run_id(self) -> str:
        return self.reservation.run_id


@contextmanager
def guarded_run(
    gate: QuotaGate,
    tenant_id: str,
    kind: str,
    *,
    run_id: str | None = None,
    source: str | None = None,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    on_release_error: Callable[[Exception], None] | None = None,
) -> Iterator[RunGuard]:
    """Reserve before the run, release (recording its usage) after it, whether it succeeded or not."""
    if kind not in RUN_KINDS:
        raise BadInput(f"unknown run kind {kind!r}: use one of {', '.join(RUN_KINDS)}")
    reservation = gate.reserve(tenant_id, kind, run_id=run_id or new_run_id(kind.split("_")[0]))
    guard = RunGuard(reservation, clock())
    try:
        yield guard
    finally:
        ended = clock()
        usage = guard.usage or Usage()
        if usage.compute_seconds == 0:
            usage.compute_seconds = Usage.seconds_between(guard.started_at, ended)
        try:
            gate.release(reservation, usage=usage, usage_at=ended, source=source or kind)
        except Exception as exc:  # never mask the run's own outcome; report it instead
            if on_release_error is None:
                raise
            on_release_error(exc)


# ----------------------------------------------------------------------------------------------- throttle


class TokenBucket:
    """A thread-safe token bucket: ``rate`` tokens per second, at most ``burst`` banked; the project's one limiter.

    ``acquire`` blocks until a token is available (returns the seconds waited); ``try_acquire`` never blocks.
    The clock and sleep are injectable so tests need no real waiting. Written here rather than taken from
    ``pyrate-limiter`` (4.x): its blocking acquire sleeps with ``time.sleep`` on the wall clock (no injectable
    sleep, so quota tests would wait for real), it does not report the time waited (the connectors' stats show
    it), and its windows count whole milliseconds; botocore's ``adaptive`` mode limits only after throttling.
    """

    def __init__(
        self,
        rate: float,
        burst: int = 1,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if rate <= 0:
            raise BadInput(f"token bucket rate must be positive, got {rate}")
        if burst < 1:
            raise BadInput(f"token bucket burst must be at least 1, got {burst}")
        self.rate, self.burst = float(rate), int(burst)
        self._clock, self._sleep = clock, sleep
        self._tokens = float(self.burst)
        self._stamp = clock()
        self._lock = threading.Lock()
        self.acquired = 0
        self.waited_s = 0.0

    def _refill(self) -> None:
        now = self._clock()
        self._tokens = min(float(self.burst), self._tokens + (now - self._stamp) * self.rate)
        self._stamp = now

    def acquire(self, tokens: int = 1) -> float:
        """Take ``tokens``, sleeping until they are available; returns the seconds waited."""
        with self._lock:
            self._refill()
            self._tokens -= tokens
            wait = 0.0 if self._tokens >= 0 else -self._tokens / self.rate
            self.acquired += tokens
            self.waited_s += wait
        if wait > 0:
            self._sleep(wait)
        return wait

    def try_acquire(self, tokens: int = 1) -> bool:
        """Take ``tokens`` if they are available now; never waits."""
        with self._lock:
            self._refill()
            if self._tokens < tokens:
                return False
            self._tokens -= tokens
            self.acquired += tokens
            return True


# ----------------------------------------------------------------------------------------------- approvals


@dataclass(frozen=True)
class ApprovalTicket:
    """An approval claimed for execution: what was approved, by whom, and how to execute it."""

    approval_id: str
    tenant_id: str
    action: str
    target: str
    payload: Mapping[str, Any]
    payload_sha256: str
    mode: str  # manual | dry_run | auto_sandbox
    requested_by: str
    approved_by: str | None
    reason: str | None
    attempt: int
    expires_at: datetime

    def check_payload(self) -> None:
        """Refuse a ticket whose payload no longer matches the digest that was approved."""
        if payload_digest(self.payload) != self.payload_sha256:
            raise ApprovalRefused(
                f"approval {self.approval_id}: the stored payload does not match the approved "
                "digest; nothing was sent"
            )


class ExecutionGate(Protocol):
    """What an approval-gated write needs from the approvals service."""

    def begin(self, approval_id: str, *, executor: str) -> ApprovalTicket:
        """Claim an approved, unexpired, not yet executed approval (raises ``ApprovalRefused`` naming why)."""

    def complete(self, approval_id: str, *, result: Mapping[str, Any]) -> None:
        """Record the successful execution (the approval can never execute again)."""

    def fail(self, approval_id: str, *, error: str, retryable: bool, result: Mapping[str, Any]) -> None:
        """Record a failed execution: ``retryable`` leaves it approved (a retry is safe), otherwise it is spent."""


class AuditSink(Protocol):
    """Where the results of approval-gated actions are audited (the control plane's hash-chained log)."""

    def record(
        self,
        tenant_id: str,
        action: str,
        resource: str,
        *,
        actor: str,
        reason: str | None,
        detail: Mapping[str, Any],
    ) -> None:
        """Append one audit entry."""


class MemoryAuditSink:
    """An in-memory ``AuditSink`` (tests, dry runs)."""

    def __init__(self) -> None:
        self.entries: list[dict[str, Any]] = []

    def record(
        self,
        tenant_id: str,
        action: str,
        resource: str,
        *,
        actor: str,
        reason: str | None,
        detail: Mapping[str, Any],
    ) -> None:
        self.entries.append(
            {
                "tenant_id": tenant_id,
                "action": action,
                "resource": resource,
                "actor": actor,
                "reason": reason,
                "detail": dict(detail),
            }
        )
