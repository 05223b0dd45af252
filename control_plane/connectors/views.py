"""Routes of the connectors domain: register, list, verify and disable a tenant's linked-account roles.

Linking an account changes what the platform may do in the tenant's AWS account, so it needs ``tenants:write``
(a tenant admin of the tenant or an ancestor); listing needs ``tenants:read``.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query

from control_plane.connectors import flows, service
from control_plane.connectors.models import Connector
from control_plane.connectors.schemas import (
    CONNECTOR_ID_PATTERN,
    ConnectorCreated,
    ConnectorOut,
    ConnectorSpec,
)
from control_plane.deps import Authorized, AuthorizeTenant, PageDep
from control_plane.errors import NotFound, responses

router = APIRouter(tags=["connectors"])
AUTH = (401, 403, 422)
ConnectorId = Annotated[str, Path(pattern=CONNECTOR_ID_PATTERN, description="Connector id")]


def get_verifier() -> flows.RoleVerifier:
    """The STS client that verifies roles (boto3's standard configuration; overridden in tests)."""
    return flows.StsVerifier()


VerifierDep = Annotated[flows.RoleVerifier, Depends(get_verifier)]


def out(row: Connector) -> ConnectorOut:
    """The listed form of a connector (no ExternalId)."""
    return ConnectorOut.model_validate({k: getattr(row, k) for k in ConnectorOut.model_fields})


def _visible(auth: Authorized, connector_id: str) -> Connector:
    assert auth.tenant is not None
    row = service.get_connector(auth.db, auth.tenant.id, connector_id)
    if row is None:
        raise NotFound(f"connector {connector_id!r} not found in tenant {auth.tenant.id!r}")
    return row


@router.post(
    "/tenants/{tenant_id}/connectors",
    response_model=ConnectorCreated,
    status_code=201,
    responses=responses(*AUTH, 404, 409),
)
def create_connector(
    spec: ConnectorSpec,
    auth: Annotated[Authorized, Depends(AuthorizeTenant("tenants:write"))],
    verifier: VerifierDep,
) -> ConnectorCreated:
    """Link a role in the tenant's AWS account; answers the ExternalId once (verified at once unless told not)."""
    assert auth.tenant is not None
    row = flows.register(
        auth.db,
        ctx=auth.ctx,
        tenant_id=auth.tenant.id,
        service_name=spec.service,
        aws_account_id=spec.aws_account_id,
        role_arn=spec.role_arn,
        verifier=verifier if spec.verify else None,
    )
    return ConnectorCreated(
        **out(row).model_dump(),
        external_id=row.external_id,
        trust_policy_condition={"StringEquals": {"sts:ExternalId": row.external_id}},
    )


@router.get(
    "/tenants/{tenant_id}/connectors", response_model=list[ConnectorOut], responses=responses(*AUTH, 404)
)
def list_connectors(
    auth: Annotated[Authorized, Depends(AuthorizeTenant("tenants:read"))],
    page: PageDep,
    include_disabled: Annotated[bool, Query(description="Also list disabled connectors")] = False,
) -> list[ConnectorOut]:
    """The tenant's connectors, newest first (ExternalIds are never listed)."""
    assert auth.tenant is not None
    return [
        out(r)
        for r in service.list_connectors(
            auth.db, auth.tenant.id, include_disabled=include_disabled, limit=page.limit, offset=page.offset
        )
    ]


@router.post(
    "/tenants/{tenant_id}/connectors/{connector_id}/verify",
    response_model=ConnectorOut,
    responses=responses(*AUTH, 404, 409),
)
def verify_connector(
    connector_id: ConnectorId,
    auth: Annotated[Authorized, Depends(AuthorizeTenant("tenants:write"))],
    verifier: VerifierDep,
) -> ConnectorOut:
    """Assume the role with its ExternalId now; the answer carries the outcome (verified, or failed and why)."""
    row = _visible(auth, connector_id)
    return out(flows.verify_connector(auth.db, ctx=auth.ctx, row=row, verifier=verifier))


@router.delete(
    "/tenants/{tenant_id}/connectors/{connector_id}",
    response_model=ConnectorOut,
    responses=responses(*AUTH, 404),
)
def delete_connector(
    connector_id: ConnectorId, auth: Annotated[Authorized, Depends(AuthorizeTenant("tenants:write"))]
) -> ConnectorOut:
    """Disable the connector: its role is never assumed again (the row stays for the audit trail)."""
    row = service.disable(
        auth.db,
        row=_visible(auth, connector_id),
        actor=auth.ctx.principal.actor,
        reason=auth.ctx.reason,
        request_id=auth.ctx.request_id,
    )
    auth.db.commit()
    return out(row)
