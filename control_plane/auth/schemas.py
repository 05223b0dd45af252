"""Request and response bodies of the auth domain."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from control_plane.request_model import RequestModel

RoleName = Literal["platform_admin", "tenant_admin", "approver", "analyst", "viewer", "service"]
USER_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._@+-]{0,127}$"
KEY_ID_PATTERN = r"^[a-z0-9]{1,32}$"


class UserSpec(RequestModel):
    model_config = ConfigDict(extra="forbid")

    email: str = Field(min_length=3, max_length=320, pattern=r"^[^@\s]+@[^@\s]+$")
    display_name: str = Field(min_length=1, max_length=200)
    role: RoleName
    status: Literal["active", "disabled"] = "active"


class UserOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    tenant_id: str
    id: str
    email: str
    display_name: str
    role: str
    status: str
    created_at: datetime
    updated_at: datetime


class ApiKeySpec(RequestModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    role: RoleName
    expires_in_days: int | None = Field(None, ge=1, le=3650)


class ApiKeyOut(BaseModel):
    """A key's metadata; the secret is never returned after creation."""

    model_config = ConfigDict(from_attributes=True)

    id: str
    tenant_id: str | None
    name: str
    role: str
    created_at: datetime
    created_by: str
    expires_at: datetime | None
    revoked_at: datetime | None
    replaced_by: str | None
    token_generation: int = 0


class ApiKeyCreated(ApiKeyOut):
    """A new key, with its plaintext ``key``: shown once, store it now."""

    key: str


class TokenRequest(RequestModel):
    model_config = ConfigDict(extra="forbid")

    ttl_seconds: int | None = Field(None, ge=30, le=86_400)


class TokenOut(BaseModel):
    access_token: str
    token_type: Literal["Bearer"] = "Bearer"
    expires_in: int


class WhoAmI(BaseModel):
    subject: str
    role: str
    tenant_id: str | None
    tenant_path: str | None
    via: str
