"""Connector queries and state changes; every change is written to the tenant's audit chain."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from control_plane.audit.service import Actor
from control_plane.audit.service import record as audit_record
from control_plane.connectors.models import ACTIVE_STATUSES, SERVICES, Connector
from control_plane.db import new_id, utcnow
from control_plane.errors import Conflict, Invalid

_ROLE_ACCOUNT = re.compile(r"^arn:aws[a-z-]*:iam::(\d{12}):role/")
EXTERNAL_ID_BYTES = 20  # 40 hex characters: well within AWS's 2-1224 and the Terraform module's >= 16


def issue_external_id() -> str:
    """A fresh random ExternalId (the platform issues it; a tenant never chooses it: confused-deputy guard)."""
    return "lh-" + secrets.token_hex(EXTERNAL_ID_BYTES)


def state(row: Connector) -> dict[str, Any]:
    """A connector as audited (digest before/after); never its ExternalId."""
    return {
        "id": row.id,
        "tenant_id": row.tenant_id,
        "service": row.service,
        "aws_account_id": row.aws_account_id,
        "role_arn": row.role_arn,
        "status": row.status,
        "last_error": row.last_error,
    }


def list_connectors(
    db: Session, tenant_id: str, *, include_disabled: bool = False, limit: int = 100, offset: int = 0
) -> list[Connector]:
    """The tenant's connectors, newest first, one page of them."""
    query = select(Connector).where(Connector.tenant_id == tenant_id)
    if not include_disabled:
        query = query.where(Connector.status.in_(ACTIVE_STATUSES))
    query = query.order_by(Connector.created_at.desc(), Connector.id).limit(limit).offset(offset)
    return list(db.execute(query).scalars())


def get_connector(db: Session, tenant_id: str, connector_id: str) -> Connector | None:
    """The tenant's connector ``connector_id`` (None when it belongs to another tenant or does not exist)."""
    return db.execute(
        select(Connector).where(Connector.id == connector_id, Connector.tenant_id == tenant_id)
    ).scalar_one_or_none()


def active_connector(db: Session, tenant_id: str, service: str) -> Connector | None:
    """The tenant's one active (not disabled) connector for ``service``, if any."""
    return db.execute(
        select(Connector)
        .where(
            Connector.tenant_id == tenant_id,
            Connector.service == service,
            Connector.status.in_(ACTIVE_STATUSES),
        )
        .order_by(Connector.created_at.desc())
        .limit(1)
    ).scalar_one_or_none()


def create(
    db: Session,
    *,
    tenant_id: str,
    service: str,
    aws_account_id: str,
    role_arn: str,
    actor: Actor,
    reason: str | None,
    request_id: str | None,
) -> Connector:
    """Register a connector (``pending``) with a fresh ExternalId; one active connector per tenant and service."""
    if service not in SERVICES:
        raise Invalid(f"unknown service {service!r}: use one of {', '.join(SERVICES)}")
    match = _ROLE_ACCOUNT.match(role_arn)
    if match is None:
        raise Invalid(f"{role_arn!r} is not an IAM role ARN (arn:aws:iam::<account>:role/<name>)")
    if match.group(1) != aws_account_id:
        raise Invalid(
            f"role {role_arn} is in account {match.group(1)}, not in the linked account {aws_account_id}",
            problems=[{"loc": ["body", "role_arn"], "msg": "the role must be in aws_account_id"}],
        )
    existing = active_connector(db, tenant_id, service)
    if existing is not None:
        raise Conflict(
            f"tenant {tenant_id!r} already has connector {existing.id} for {service} ({existing.status}); "
            "delete it first to link another role"
        )
    now = utcnow()
    row = Connector(
        id=new_id("con-"),
        tenant_id=tenant_id,
        service=service,
        aws_account_id=aws_account_id,
        role_arn=role_arn,
        external_id=issue_external_id(),
        status="pending",
        created_at=now,
        created_by=actor.subject,
        updated_at=now,
        last_verified_at=None,
        last_error=None,
    )
    db.add(row)
    db.flush()
    audit_record(
        db,
        actor=actor,
        action="connector.create",
        tenant_id=tenant_id,
        resource=f"tenant/{tenant_id}/connector/{row.id}",
        reason=reason,
        request_id=request_id,
        before=None,
        after=state(row),
    )
    return row


@dataclass(frozen=True)
class Verification:
    """The outcome of one sts:AssumeRole attempt: ``error`` is None when the role was assumed as expected."""

    error: str | None
    at: datetime


def record_verification(
    db: Session, *, row: Connector, outcome: Verification, actor: Actor, request_id: str | None
) -> Connector:
    """Store a verification outcome (``verified`` or ``failed`` with the reason) and audit it."""
    if row.status == "disabled":
        raise Conflict(f"connector {row.id} is disabled; register a new one")
    before = state(row)
    if outcome.error is None:
        row.status, row.last_verified_at, row.last_error = "verified", outcome.at, None
    else:
        row.status, row.last_error = "failed", outcome.error[:2000]
    row.updated_at = outcome.at
    db.flush()
    audit_record(
        db,
        actor=actor,
        action="connector.verify",
        tenant_id=row.tenant_id,
        resource=f"tenant/{row.tenant_id}/connector/{row.id}",
        reason=None,
        request_id=request_id,
        before=before,
        after=state(row),
    )
    return row


def disable(
    db: Session, *, row: Connector, actor: Actor, reason: str | None, request_id: str | None
) -> Connector:
    """Disable a connector (kept for the audit trail; its role is never assumed again)."""
    if row.status == "disabled":
        return row
    before = state(row)
    row.status, row.updated_at = "disabled", utcnow()
    db.flush()
    audit_record(
        db,
        actor=actor,
        action="connector.disable",
        tenant_id=row.tenant_id,
        resource=f"tenant/{row.tenant_id}/connector/{row.id}",
        reason=reason,
        request_id=request_id,
        before=before,
        after=state(row),
    )
    return row
