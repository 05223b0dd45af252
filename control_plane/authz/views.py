"""Routes of the authorization domain: OPA-compatible decisions and the policy as a data document."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, ConfigDict, Field

from control_plane.authz.policy import CLASSIFICATIONS, ROLES, decide, export_data
from control_plane.authz.service import readable_tenants
from control_plane.deps import Authorized, AuthorizeGlobal
from control_plane.errors import responses
from control_plane.request_model import RequestModel

router = APIRouter(tags=["authz"])


class Subject(BaseModel):
    model_config = ConfigDict(extra="allow")

    id: str | None = Field(None, max_length=200)
    role: str = Field(max_length=64, description=f"One of {', '.join(ROLES)}")
    tenant_id: str | None = Field(None, max_length=63)
    tenant_path: str | None = Field(None, max_length=400)


class Resource(BaseModel):
    model_config = ConfigDict(extra="allow")

    type: str = Field(max_length=64)
    id: str | None = Field(None, max_length=400)
    tenant_id: str | None = Field(None, max_length=63)
    tenant_path: str | None = Field(None, max_length=400)
    role: str | None = Field(None, max_length=64)
    classification: str | None = Field(None, max_length=32)
    environment: str | None = Field(None, max_length=32)


class Context(BaseModel):
    model_config = ConfigDict(extra="allow")

    environment: str | None = Field(None, max_length=32)
    reason: str | None = Field(None, max_length=1000)
    request_id: str | None = Field(None, max_length=100)


class DecisionInput(BaseModel):
    subject: Subject
    action: str = Field(max_length=64, pattern=r"^[a-z_]+:[a-z_*]+$")
    resource: Resource
    context: Context = Field(default_factory=Context)


class DecisionRequest(RequestModel):
    """OPA's request shape: ``{"input": {...}}``."""

    input: DecisionInput


class DecisionResult(BaseModel):
    allow: bool
    reasons: list[str]


class DecisionResponse(BaseModel):
    """OPA's response shape: ``{"result": {"allow": bool, "reasons": [...]}}``."""

    result: DecisionResult


@router.post("/authz/decide", response_model=DecisionResponse, responses=responses(400, 401, 403, 422))
def decide_route(
    body: DecisionRequest, auth: Annotated[Authorized, Depends(AuthorizeGlobal("authz:decide", "policy"))]
) -> DecisionResponse:
    """Evaluate one input with the platform policy (the same function every route uses)."""
    inp: dict[str, Any] = body.input.model_dump(exclude_none=False)
    if inp["context"].get("environment") is None:
        inp["context"]["environment"] = auth.ctx.environment
    return DecisionResponse.model_validate(decide(inp))


@router.get("/authz/policy", response_model=dict[str, Any], responses=responses(401, 403))
def policy_document(
    auth: Annotated[Authorized, Depends(AuthorizeGlobal("authz:policy", "policy"))],
) -> dict[str, Any]:
    """The policy as an OPA data document (load it as ``data``; rules in control_plane/authz/policy.rego)."""
    return export_data()


class ReadableTenant(BaseModel):
    id: str
    name: str
    path: str
    kind: str
    clearance: str = Field(description=f"Highest classification allowed: one of {', '.join(CLASSIFICATIONS)}")


class DataAccess(BaseModel):
    """The caller, and every tenant on whose datasets the policy allows it ``action``, with its clearance."""

    subject: str
    role: str
    tenant_id: str | None
    tenant_path: str | None
    via: str
    is_platform: bool
    action: str
    environment: str
    tenants: list[ReadableTenant]


@router.get("/authz/data-access", response_model=DataAccess, responses=responses(401, 403, 422))
def data_access(
    auth: Annotated[Authorized, Depends(AuthorizeGlobal("authz:decide", "policy"))],
    action: Annotated[str, Query(pattern=r"^data:[a-z_]+$", max_length=64)] = "data:read",
) -> DataAccess:
    """Which tenants' data the caller may read (or write), and up to which classification: what a reader
    such as the dashboards needs to sign a user in, decided by the same PDP as every route."""
    p = auth.ctx.principal
    allowed = readable_tenants(auth.db, p, action=action, environment=auth.ctx.environment)
    return DataAccess(
        subject=p.subject,
        role=p.role,
        tenant_id=p.tenant_id,
        tenant_path=p.tenant_path,
        via=p.via,
        is_platform=p.is_platform,
        action=action,
        environment=auth.ctx.environment,
        tenants=[
            ReadableTenant(id=t.id, name=t.name, path=t.path, kind=t.kind, clearance=level)
            for t, level in allowed
        ],
    )
