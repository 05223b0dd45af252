"""Append to and verify the hash-chained audit log.

Each tenant has its own chain (``chain = tenant_id``) and platform actions go to ``_platform``, so a tenant
can verify its own chain under row-level security. ``hash = HMAC-SHA256(audit key, canonical JSON of the
entry's fields and the previous hash)`` (``alg = hmac-sha256``); the key is held outside the database
(``audit/keys.py``), so an actor who can rewrite the tables cannot recompute a valid chain. Entries written
before the chain was keyed have ``alg = sha256`` (plain SHA-256); each such chain was sealed by a keyed
``audit.chain_keyed`` entry, and a plain entry after a keyed one, or a chain ending in a plain entry, is
reported. The chain head (``audit_heads``) serialises appends (row lock); the heads are also anchored outside
the database (``audit/anchor.py``), which catches a tail cut back to an earlier, genuine entry.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from control_plane.audit.keys import current_key
from control_plane.audit.models import PLATFORM_CHAIN, AuditEntry, AuditHead
from control_plane.db import utcnow

if TYPE_CHECKING:  # the principal's module imports this one (Actor)
    from control_plane.context import RequestContext

audit_log = logging.getLogger("lakehouse.audit")

GENESIS = "0" * 64
KEYED = "hmac-sha256"
PLAIN = "sha256"  # entries written before the chain was keyed
_HASHED_FIELDS = (
    "chain",
    "seq",
    "tenant_id",
    "at",
    "actor",
    "actor_role",
    "action",
    "resource",
    "reason",
    "request_id",
    "before_digest",
    "after_digest",
    "prev_hash",
)


def digest(state: Any) -> str | None:
    """SHA-256 of a resource state as canonical JSON (None for no state)."""
    if state is None:
        return None
    return hashlib.sha256(canonical(state).encode()).hexdigest()


def canonical(value: Any) -> str:
    """Deterministic JSON: sorted keys, no whitespace, non-JSON values as strings."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str, ensure_ascii=False)


def entry_hash(fields: dict[str, Any], *, alg: str = KEYED, key: bytes | None = None) -> str:
    """The hash of an entry from its hashed fields: HMAC-SHA256 with the audit key, or plain SHA-256."""
    payload = canonical({k: fields.get(k) for k in _HASHED_FIELDS}).encode()
    if alg == PLAIN:
        return hashlib.sha256(payload).hexdigest()
    if alg != KEYED:
        raise ValueError(f"unknown audit hash algorithm {alg!r}")
    return hmac.new(key if key is not None else current_key(), payload, hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class Actor:
    """Who acts: ``subject`` (``key:<id>``, ``user:<sub>`` or ``system``) and the role it acts in."""

    subject: str
    role: str


SYSTEM = Actor("system", "platform_admin")
DASHBOARD_VIEW = "dashboard.view"


def _insert_head_if_missing(db: Session, chain: str, tenant_id: str | None) -> None:
    values = {"chain": chain, "tenant_id": tenant_id, "seq": 0, "hash": GENESIS}
    if db.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        db.execute(pg_insert(AuditHead).values(**values).on_conflict_do_nothing(index_elements=["chain"]))
    else:
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        db.execute(sqlite_insert(AuditHead).values(**values).on_conflict_do_nothing(index_elements=["chain"]))


def record(
    db: Session,
    *,
    actor: Actor,
    action: str,
    tenant_id: str | None,
    resource: str,
    reason: str | None = None,
    request_id: str | None = None,
    before: Any = None,
    after: Any = None,
) -> AuditEntry:
    """Append one entry to the tenant's chain (or the platform chain) in the caller's transaction."""
    chain = tenant_id or PLATFORM_CHAIN
    _insert_head_if_missing(db, chain, tenant_id)
    head = db.execute(
        select(AuditHead)
        .where(AuditHead.chain == chain)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).scalar_one()
    fields: dict[str, Any] = {
        "chain": chain,
        "seq": head.seq + 1,
        "tenant_id": tenant_id,
        "at": utcnow().isoformat(timespec="microseconds"),
        "actor": actor.subject,
        "actor_role": actor.role,
        "action": action,
        "resource": resource,
        "reason": reason,
        "request_id": request_id,
        "before_digest": digest(before),
        "after_digest": digest(after),
        "prev_hash": head.hash,
    }
    fields["hash"] = entry_hash(fields)
    entry = AuditEntry(**fields, alg=KEYED)
    db.add(entry)
    head.seq = fields["seq"]
    head.hash = fields["hash"]
    db.flush()
    return entry


@dataclass
class ChainReport:
    """The verification result of one chain."""

    chain: str
    entries: int
    ok: bool
    problems: list[str] = field(default_factory=list)


def verify_chain(
    db: Session, chain: str, *, anchored: tuple[int, str] | None = None, key: bytes | None = None
) -> ChainReport:
    """Recompute a chain: every MAC, every link, no gap in ``seq``, keyed to the end, the tail equals the head,
    and (given the chain's last anchored ``(seq, hash)``) the anchored entry is still there, unchanged."""
    key = key if key is not None else current_key()
    problems: list[str] = []
    expected_prev = GENESIS
    expected_seq = 1
    count = 0
    keyed_seen = False
    anchored_found = False
    rows = db.execute(select(AuditEntry).where(AuditEntry.chain == chain).order_by(AuditEntry.seq)).scalars()
    for entry in rows:
        count += 1
        fields = {k: getattr(entry, k) for k in _HASHED_FIELDS}
        alg = entry.alg or PLAIN
        if entry.seq != expected_seq:
            problems.append(f"entry seq {expected_seq} is missing (next found: {entry.seq})")
        if entry.prev_hash != expected_prev:
            problems.append(f"entry seq {entry.seq} does not link to the previous entry")
        if alg == PLAIN and keyed_seen:
            problems.append(f"entry seq {entry.seq} is unkeyed after keyed entries (forged)")
        try:
            altered = not hmac.compare_digest(entry_hash(fields, alg=alg, key=key), entry.hash)
        except ValueError:
            altered = True
        if altered:
            problems.append(f"entry seq {entry.seq} was altered (hash mismatch)")
        keyed_seen = keyed_seen or alg == KEYED
        if anchored is not None and entry.seq == anchored[0]:
            anchored_found = True
            if entry.hash != anchored[1]:
                problems.append(f"entry seq {entry.seq} differs from the anchored copy of the chain head")
        expected_prev = entry.hash
        expected_seq = entry.seq + 1
    if count and not keyed_seen:
        problems.append("the chain has no keyed entry: its plain hashes can be recomputed by anyone")
    elif count and (entry.alg or PLAIN) == PLAIN:
        problems.append(f"the chain ends in an unkeyed entry (seq {entry.seq})")
    if anchored is not None and not anchored_found:
        problems.append(
            f"the anchored head (seq {anchored[0]}) is gone: the chain was cut back to seq {expected_seq - 1}"
        )
    head = db.get(AuditHead, chain)
    if head is not None and (head.seq != expected_seq - 1 or head.hash != expected_prev):
        problems.append(
            f"chain ends at seq {expected_seq - 1} but its head records seq {head.seq}: entries were removed"
        )
    return ChainReport(chain=chain, entries=count, ok=not problems, problems=problems)


def heads(db: Session) -> dict[str, tuple[int, str]]:
    """Every visible chain's head: ``{chain: (seq, hash)}``."""
    return {h.chain: (h.seq, h.hash) for h in db.execute(select(AuditHead)).scalars() if h.seq > 0}


def seal_unkeyed_chains(db: Session) -> list[str]:
    """Append a keyed ``audit.chain_keyed`` entry to every chain whose last entry is unkeyed; returns them.

    Run at startup in the platform scope: chains written before the audit key existed become keyed from
    their current tail on, so rewriting any older entry breaks the link to a MAC no one can recompute.
    """
    last = (
        select(AuditEntry.chain, AuditEntry.tenant_id)
        .join(AuditHead, (AuditHead.chain == AuditEntry.chain) & (AuditHead.seq == AuditEntry.seq))
        .where(AuditEntry.alg == PLAIN)
    )
    sealed = []
    for chain, tenant_id in db.execute(last).all():
        record(
            db,
            actor=SYSTEM,
            action="audit.chain_keyed",
            tenant_id=tenant_id,
            resource=f"audit/chain/{chain}",
            reason="the audit chain is keyed (HMAC-SHA256) from this entry on",
        )
        sealed.append(chain)
    return sealed


def visible_chains(db: Session, tenant_ids: list[str] | None) -> list[str]:
    """Chains to verify: the given tenants', or every chain the transaction can see."""
    query = select(AuditHead.chain).order_by(AuditHead.chain)
    if tenant_ids is not None:
        query = query.where(AuditHead.chain.in_(tenant_ids))
    chains = set(db.execute(query).scalars())
    entry_query = select(AuditEntry.chain).distinct()
    if tenant_ids is not None:
        entry_query = entry_query.where(AuditEntry.chain.in_(tenant_ids))
    chains |= set(db.execute(entry_query).scalars())
    return sorted(chains)


def record_dashboard_view(
    db: Session, ctx: RequestContext, tenant_id: str, *, reason: str | None
) -> AuditEntry | None:
    """Audit the caller looking at ``tenant_id`` on the dashboards when that crosses its own tenant (platform
    admins, admins of a parent tenant); a look at one's own tenant is not recorded. Commits."""
    principal = ctx.principal
    if not principal.is_platform and principal.tenant_id == tenant_id:
        return None
    entry = record(
        db,
        actor=principal.actor,
        action=DASHBOARD_VIEW,
        tenant_id=tenant_id,
        resource=f"tenant/{tenant_id}/dashboards",
        reason=reason or ctx.reason or "dashboard tenant switch",
        request_id=ctx.request_id,
    )
    db.commit()
    audit_log.warning("dashboard: %s (%s) views tenant %s", principal.subject, principal.role, tenant_id)
    return entry
