"""Request and response bodies of the tenants domain."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from control_plane.request_model import RequestModel
from lakehouse.tenancy import TENANT_ID_PATTERN

TenantId = Field(pattern=TENANT_ID_PATTERN, min_length=1, max_length=63)
PlanId = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$", min_length=1, max_length=64)


class TenantSpec(RequestModel):
    """The desired state of a tenant. Repeating the same spec changes nothing."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["enterprise", "org", "workspace"]
    name: str = Field(min_length=1, max_length=200)
    parent_id: str | None = Field(
        None,
        pattern=TENANT_ID_PATTERN,
        max_length=63,
        description="The enterprise of an org, the org of a workspace; null for an enterprise",
    )
    plan_id: str | None = Field(
        None,
        pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$",
        max_length=64,
        description="Enterprises and orgs only; default: the parent's plan, else 'free'",
    )
    isolation_mode: Literal["pooled", "siloed"] | None = Field(
        None, description="Enterprises only (default pooled); orgs and workspaces inherit their enterprise's"
    )


class TenantOut(BaseModel):
    """A tenant as stored."""

    model_config = ConfigDict(from_attributes=True)

    id: str
    kind: str
    parent_id: str | None
    path: str
    name: str
    plan_id: str | None
    isolation_mode: str
    status: Literal["provisioning", "active", "failed"]
    created_at: datetime
    updated_at: datetime


class ProvisionResult(TenantOut):
    """A tenant after ``PUT``: ``outcome`` says whether anything changed."""

    outcome: Literal["created", "unchanged", "updated", "resumed"]


class StepOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    step: str
    status: Literal["done", "failed", "pending"]
    attempts: int
    detail: dict[str, Any]
    updated_at: datetime


class QuotaOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    resource: str
    limit: float
    source: str


class PlanSpec(RequestModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    quotas: dict[str, float] = Field(description="Default limit per resource")
    allowed_module_types: list[
        Literal["connector", "pipeline", "dashboard", "notebook", "export", "feature_set"]
    ]


class PlanOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    name: str
    quotas: dict[str, float]
    allowed_module_types: list[str]
