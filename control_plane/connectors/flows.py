"""Side-effecting connector flows: register and verify a tenant's role with sts:AssumeRole, and hand each
tenant's verified role to the orchestration.

Verification calls STS outside any database transaction (the registration is committed first), so a slow STS
never holds the SQLite write lock or a PostgreSQL row lock.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy.orm import Session

from control_plane.connectors import service
from control_plane.connectors.models import Connector
from control_plane.context import RequestContext
from control_plane.db import Database, DbScope, utcnow
from control_plane.errors import Conflict, NotFound

_ASSUMED_ACCOUNT = re.compile(r"^arn:aws[a-z-]*:sts::(\d{12}):assumed-role/")


@dataclass(frozen=True)
class LinkedRole:
    """What an ingest run needs to act in a tenant's account: the role and the ExternalId to present."""

    tenant_id: str
    service: str
    aws_account_id: str
    role_arn: str
    external_id: str


def linked_role(row: Connector) -> LinkedRole:
    """The role and ExternalId of a connector, as plain values (safe to use after its transaction ends)."""
    return LinkedRole(row.tenant_id, row.service, row.aws_account_id, row.role_arn, row.external_id)


class RoleRefused(Exception):
    """STS refused to assume the role (or answered with another account's session); the message says why."""


class RoleVerifier(Protocol):
    """Assumes a tenant's role the way the ingest jobs will, answering the assumed-role ARN."""

    def assume(self, *, role_arn: str, external_id: str, session_name: str) -> str: ...


class StsVerifier:
    """``sts:AssumeRole`` with boto3's standard configuration (``AWS_ENDPOINT_URL_STS``, profiles, retries).

    No session tags are sent: the linked-account read role's trust allows ``sts:AssumeRole`` only, and AWS
    refuses tags a trust policy does not allow with ``sts:TagSession``.
    """

    def __init__(self, *, region: str = "us-east-1", endpoint_url: str | None = None) -> None:
        self.region = region
        self.endpoint_url = endpoint_url

    def assume(self, *, role_arn: str, external_id: str, session_name: str) -> str:
        """The assumed-role ARN; raises ``RoleRefused`` with STS's error code and message."""
        import boto3
        from botocore.config import Config
        from botocore.exceptions import BotoCoreError, ClientError

        # A request waits on this call: bounded timeouts and few retries, so an unreachable STS fails fast.
        config = Config(
            connect_timeout=5, read_timeout=10, retries={"total_max_attempts": 3, "mode": "standard"}
        )
        sts = boto3.client("sts", region_name=self.region, endpoint_url=self.endpoint_url, config=config)
        try:
            answer: dict[str, Any] = sts.assume_role(
                RoleArn=role_arn, RoleSessionName=session_name, ExternalId=external_id, DurationSeconds=900
            )
        except ClientError as exc:
            error = exc.response.get("Error", {})
            raise RoleRefused(
                f"sts:AssumeRole on {role_arn} was refused: {error.get('Code')}: {error.get('Message')}"
            ) from None
        except BotoCoreError as exc:
            raise RoleRefused(f"sts:AssumeRole on {role_arn} could not be sent: {exc}") from None
        return str(answer["AssumedRoleUser"]["Arn"])


def verify(verifier: RoleVerifier, role: LinkedRole) -> service.Verification:
    """Assume the role with its ExternalId and check that the session is in the linked account."""
    try:
        assumed = verifier.assume(
            role_arn=role.role_arn,
            external_id=role.external_id,
            session_name=f"lakehouse-verify-{role.tenant_id}",
        )
    except RoleRefused as exc:
        return service.Verification(error=str(exc), at=utcnow())
    match = _ASSUMED_ACCOUNT.match(assumed)
    if match is None or match.group(1) != role.aws_account_id:
        return service.Verification(
            error=f"sts:AssumeRole on {role.role_arn} answered session {assumed!r}, "
            f"not a session in the linked account {role.aws_account_id}",
            at=utcnow(),
        )
    return service.Verification(error=None, at=utcnow())


def register(
    db: Session,
    *,
    ctx: RequestContext,
    tenant_id: str,
    service_name: str,
    aws_account_id: str,
    role_arn: str,
    verifier: RoleVerifier | None,
) -> Connector:
    """Register a connector (committed), then verify it at once when ``verifier`` is given."""
    row = service.create(
        db,
        tenant_id=tenant_id,
        service=service_name,
        aws_account_id=aws_account_id,
        role_arn=role_arn,
        actor=ctx.principal.actor,
        reason=ctx.reason,
        request_id=ctx.request_id,
    )
    db.commit()
    if verifier is None:
        return row
    return verify_connector(db, ctx=ctx, row=row, verifier=verifier)


def verify_connector(
    db: Session, *, ctx: RequestContext, row: Connector, verifier: RoleVerifier
) -> Connector:
    """Verify the connector's role now and store the outcome (committed; a refusal is an outcome, not an error)."""
    if row.status == "disabled":
        raise Conflict(f"connector {row.id} is disabled; register a new one")
    connector_id, role = row.id, linked_role(row)
    db.commit()  # end the transaction before calling STS
    outcome = verify(verifier, role)
    fresh = service.get_connector(db, role.tenant_id, connector_id)
    if fresh is None:
        raise NotFound(f"connector {connector_id!r} not found")
    service.record_verification(
        db, row=fresh, outcome=outcome, actor=ctx.principal.actor, request_id=ctx.request_id
    )
    db.commit()
    return fresh


class ConnectorDirectory:
    """Each tenant's verified role for a service, read from the control-plane database (platform scope).

    The orchestration takes it through ``lakehouse.linked_accounts.RoleDirectory`` (an interface), so the
    library never imports the control plane.
    """

    def __init__(self, db: Database) -> None:
        self.db = db

    def linked_role(self, tenant_id: str, service_name: str) -> LinkedRole | str:
        """The tenant's verified role, or why there is none (the reason a run reports for skipping it)."""
        with self.db.session(DbScope.for_platform()) as session:
            row = service.active_connector(session, tenant_id, service_name)
            if row is None:
                return f"no {service_name} connector registered for tenant {tenant_id!r}"
            if row.status != "verified":
                detail = f": {row.last_error}" if row.last_error else ""
                return f"connector {row.id} for {service_name} is {row.status}, not verified{detail}"
            return linked_role(row)
