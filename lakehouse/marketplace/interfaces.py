"""The small interfaces Marketplace code needs from the control plane, with in-memory and file implementations.

``lakehouse`` must run on Glue without the API, so it never imports ``control_plane``: the cost ledger, the
tenant <-> buyer links and the approvals reach it through these protocols. The control plane implements them
over its database (see docs/marketplace.md, "What the control plane provides"); tests and the local demo use the
in-memory / JSON-file versions here.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import threading
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, Protocol

from lakehouse.errors import BadInput, Refused


def utc(moment: datetime) -> datetime:
    """``moment`` as an aware UTC datetime (naive values are taken as UTC)."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def hour_of(moment: datetime) -> datetime:
    """The start of the UTC hour containing ``moment``."""
    return utc(moment).replace(minute=0, second=0, microsecond=0)


# ----------------------------------------------------------------------------------------------- usage (ledger)


@dataclass(frozen=True)
class UsageRow:
    """One piece of billable usage from the cost ledger, already mapped to a Marketplace dimension.

    ``tenant_id`` is the billed tenant (the one linked to a Marketplace buyer); ``workspace_id`` is the workspace
    the usage belongs to (it becomes an allocation tag); ``usage_at`` is when it happened (any moment inside the
    hour; metering truncates it to the hour); ``run_id`` names the pipeline/connector run that produced it.
    """

    tenant_id: str
    workspace_id: str | None
    dimension: str
    usage_at: datetime
    quantity: Decimal
    run_id: str | None = None


class UsageSource(Protocol):
    """Where billable usage comes from: the control plane's cost ledger in production."""

    def usage(self, tenant_id: str, start: datetime, end: datetime) -> Iterable[UsageRow]:
        """Usage rows of ``tenant_id`` with ``start <= usage_at < end`` (UTC)."""


class MemoryUsageSource:
    """A ``UsageSource`` over a list (tests, dry runs)."""

    def __init__(self, rows: Iterable[UsageRow] = ()) -> None:
        self.rows: list[UsageRow] = list(rows)

    def add(self, *rows: UsageRow) -> None:
        self.rows.extend(rows)

    def usage(self, tenant_id: str, start: datetime, end: datetime) -> Iterable[UsageRow]:
        start, end = utc(start), utc(end)
        return [r for r in self.rows if r.tenant_id == tenant_id and start <= utc(r.usage_at) < end]


class JsonLinesUsageSource:
    """A ``UsageSource`` reading JSON Lines (``tenant_id, workspace_id, dimension, usage_at, quantity, run_id``)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    def usage(self, tenant_id: str, start: datetime, end: datetime) -> Iterable[UsageRow]:
        if not self.path.exists():
            return []
        rows = []
        for n, line in enumerate(self.path.read_text().splitlines(), 1):
            if not line.strip():
                continue
            try:
                raw = json.loads(line)
                row = UsageRow(
                    raw["tenant_id"],
                    raw.get("workspace_id"),
                    raw["dimension"],
                    utc(datetime.fromisoformat(raw["usage_at"])),
                    Decimal(str(raw["quantity"])),
                    raw.get("run_id"),
                )
            except (ValueError, KeyError, ArithmeticError) as exc:
                raise BadInput(f"{self.path}:{n}: not a usage row ({exc})") from None
            if row.tenant_id == tenant_id and utc(start) <= row.usage_at < utc(end):
                rows.append(row)
        return rows


# ----------------------------------------------------------------------------------------------- buyers


@dataclass(frozen=True)
class Buyer:
    """A Marketplace buyer linked to a tenant (from ResolveCustomer at registration).

    ``customer_identifier`` is only set for legacy products. ``rate_card`` maps dimension -> unit price from the
    buyer's agreement (used for revenue estimates).
    """

    tenant_id: str
    product_code: str
    customer_aws_account_id: str | None
    license_arn: str | None = None
    customer_identifier: str | None = None
    agreement_id: str | None = None
    currency_code: str = "USD"
    rate_card: Mapping[str, str] = field(default_factory=dict)
    linked_at: datetime | None = None

    @property
    def identity(self) -> tuple[str, str | None, str | None, str | None]:
        return (self.product_code, self.customer_aws_account_id, self.license_arn, self.customer_identifier)


class BuyerAlreadyLinked(Refused):
    """The Marketplace buyer is already linked to another tenant; nothing was changed."""


class BuyerDirectory(Protocol):
    """The tenant <-> Marketplace buyer links (a control-plane table in production)."""

    def buyer_for(self, tenant_id: str) -> Buyer | None:
        """The buyer that tenant's usage is billed to (its most recent link), or None."""

    def find(
        self,
        product_code: str,
        customer_aws_account_id: str | None,
        license_arn: str | None,
        customer_identifier: str | None,
    ) -> Buyer | None:
        """The link of a buyer identity, if any."""

    def link(self, buyer: Buyer) -> Buyer:
        """Store the link (idempotent for the same tenant; refuse a buyer linked to another tenant)."""


class MemoryBuyerDirectory:
    """An in-memory ``BuyerDirectory``."""

    def __init__(self, buyers: Iterable[Buyer] = ()) -> None:
        self._lock = threading.Lock()
        self.buyers: list[Buyer] = []
        for buyer in buyers:
            self.link(buyer)

    def buyer_for(self, tenant_id: str) -> Buyer | None:
        with self._lock:
            mine = [b for b in self.buyers if b.tenant_id == tenant_id]
        return mine[-1] if mine else None

    def find(
        self,
        product_code: str,
        customer_aws_account_id: str | None,
        license_arn: str | None,
        customer_identifier: str | None,
    ) -> Buyer | None:
        wanted = (product_code, customer_aws_account_id, license_arn, customer_identifier)
        with self._lock:
            return next((b for b in self.buyers if b.identity == wanted), None)

    def link(self, buyer: Buyer) -> Buyer:
        with self._lock:
            existing = next((b for b in self.buyers if b.identity == buyer.identity), None)
            if existing is not None:
                if existing.tenant_id != buyer.tenant_id:
                    raise BuyerAlreadyLinked(
                        f"Marketplace buyer {buyer.customer_aws_account_id or buyer.customer_identifier} of product "
                        f"{buyer.product_code} is already linked to tenant {existing.tenant_id!r}"
                    )
                return existing
            stored = buyer if buyer.linked_at else replace(buyer, linked_at=datetime.now(UTC))
            self.buyers.append(stored)
            self._saved()
            return stored

    def _saved(self) -> None:
        """Hook for persistent subclasses (called under the lock after a change)."""


class JsonFileBuyerDirectory(MemoryBuyerDirectory):
    """A ``BuyerDirectory`` persisted as a JSON file (the local demo's stand-in for the control plane)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        loaded: list[Buyer] = []
        if self.path.exists():
            for raw in json.loads(self.path.read_text() or "[]"):
                raw["linked_at"] = datetime.fromisoformat(raw["linked_at"]) if raw.get("linked_at") else None
                loaded.append(Buyer(**raw))
        super().__init__()
        self.buyers = loaded

    def _saved(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        data = [
            {
                **asdict(b),
                "rate_card": dict(b.rate_card),
                "linked_at": b.linked_at.isoformat() if b.linked_at else None,
            }
            for b in self.buyers
        ]
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".buyers-")
        with os.fdopen(fd, "w") as handle:
            json.dump(data, handle, indent=2)
        os.replace(tmp, self.path)


# ----------------------------------------------------------------------------------------------- approvals


class ApprovalRefused(Refused):
    """No approved, unexpired, unexecuted approval covers this action and payload; nothing was done."""


@dataclass(frozen=True)
class Approval:
    """An approval as the gate reports it."""

    approval_id: str
    action: str
    payload_sha256: str
    status: str  # pending | approved | rejected | executed
    requested_by: str
    approved_by: str | None
    expires_at: datetime
    executed_at: datetime | None = None
    result: Mapping[str, Any] | None = None


class ApprovalGate(Protocol):
    """What an approval-gated action needs from the approvals service."""

    def verify(self, approval_id: str, *, action: str, payload_sha256: str) -> Approval:
        """The approval if it is approved, unexpired, not yet executed and for exactly this action and payload
        digest; otherwise raise ``ApprovalRefused`` naming why."""

    def mark_executed(self, approval_id: str, *, result: Mapping[str, Any]) -> None:
        """Record that the action ran (once; a second call for the same approval raises ``ApprovalRefused``)."""


def payload_digest(payload: Any) -> str:
    """SHA-256 of the canonical JSON of ``payload`` (what an approval is bound to)."""
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


class MemoryApprovalGate:
    """An in-memory approvals service with the control plane's approval rules (used by tests and dry runs)."""

    def __init__(self, ttl: timedelta = timedelta(hours=24), clock: Any = None) -> None:
        self.ttl = ttl
        self.clock = clock or (lambda: datetime.now(UTC))
        self.approvals: dict[str, Approval] = {}
        self._lock = threading.Lock()

    def request(self, action: str, payload: Any, *, requested_by: str) -> str:
        approval_id = f"apr-{uuid.uuid4().hex[:16]}"
        with self._lock:
            self.approvals[approval_id] = Approval(
                approval_id,
                action,
                payload_digest(payload),
                "pending",
                requested_by,
                None,
                self.clock() + self.ttl,
            )
        return approval_id

    def approve(self, approval_id: str, *, approver: str) -> None:
        with self._lock:
            approval = self.approvals[approval_id]
            if approver == approval.requested_by:
                raise ApprovalRefused(f"approval {approval_id}: a requester cannot approve their own request")
            if approval.status != "pending":
                raise ApprovalRefused(f"approval {approval_id} is {approval.status}, not pending")
            self.approvals[approval_id] = replace(approval, status="approved", approved_by=approver)

    def reject(self, approval_id: str, *, approver: str) -> None:
        with self._lock:
            self.approvals[approval_id] = replace(
                self.approvals[approval_id], status="rejected", approved_by=approver
            )

    def verify(self, approval_id: str, *, action: str, payload_sha256: str) -> Approval:
        with self._lock:
            approval = self.approvals.get(approval_id)
        if approval is None:
            raise ApprovalRefused(f"approval {approval_id!r} does not exist")
        if approval.action != action:
            raise ApprovalRefused(f"approval {approval_id} is for action {approval.action!r}, not {action!r}")
        if approval.payload_sha256 != payload_sha256:
            raise ApprovalRefused(
                f"approval {approval_id} was given for a different payload; request a new approval"
            )
        if approval.status == "executed":
            raise ApprovalRefused(f"approval {approval_id} was already executed at {approval.executed_at}")
        if approval.status != "approved":
            raise ApprovalRefused(f"approval {approval_id} is {approval.status}, not approved")
        if self.clock() >= approval.expires_at:
            raise ApprovalRefused(f"approval {approval_id} expired at {approval.expires_at.isoformat()}")
        return approval

    def mark_executed(self, approval_id: str, *, result: Mapping[str, Any]) -> None:
        with self._lock:
            approval = self.approvals[approval_id]
            if approval.status == "executed":
                raise ApprovalRefused(f"approval {approval_id} was already executed")
            self.approvals[approval_id] = replace(
                approval, status="executed", executed_at=self.clock(), result=dict(result)
            )


__all__: Sequence[str] = (
    "Approval",
    "ApprovalGate",
    "ApprovalRefused",
    "Buyer",
    "BuyerAlreadyLinked",
    "BuyerDirectory",
    "JsonFileBuyerDirectory",
    "JsonLinesUsageSource",
    "MemoryApprovalGate",
    "MemoryBuyerDirectory",
    "MemoryUsageSource",
    "UsageRow",
    "UsageSource",
    "hour_of",
    "payload_digest",
    "utc",
)
