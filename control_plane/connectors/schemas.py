"""Request and response bodies of the connectors domain."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from control_plane.request_model import RequestModel

CONNECTOR_ID_PATTERN = r"^con-[a-f0-9]{18}$"
ROLE_ARN_PATTERN = r"^arn:aws[a-z-]*:iam::[0-9]{12}:role/[A-Za-z0-9_+=,.@/-]{1,512}$"
ServiceName = Literal[
    "partner-central-selling",
    "marketplace-catalog",
    "marketplace-metering",
    "marketplace-agreement",
    "marketplace-entitlement",
]
StatusName = Literal["pending", "verified", "failed", "disabled"]


class ConnectorSpec(RequestModel):
    """A role in the tenant's AWS account that the platform may assume for ``service``."""

    model_config = ConfigDict(extra="forbid")

    service: ServiceName = Field(description="The AWS service the role is used for")
    aws_account_id: str = Field(
        pattern=r"^\d{12}$", description="The tenant's linked AWS account (12 digits)"
    )
    role_arn: str = Field(
        pattern=ROLE_ARN_PATTERN, max_length=2048, description="The role in that account the platform assumes"
    )
    verify: bool = Field(
        True,
        description="Verify at once with sts:AssumeRole (fails until the trust policy has the ExternalId)",
    )


class ConnectorOut(BaseModel):
    """A connector as listed: never its ExternalId, which is shown once, when the connector is created."""

    id: str
    tenant_id: str
    service: str
    aws_account_id: str
    role_arn: str
    status: StatusName
    created_at: datetime
    created_by: str
    updated_at: datetime
    last_verified_at: datetime | None
    last_error: str | None


class ConnectorCreated(ConnectorOut):
    """The new connector with its ExternalId: put it in the role's trust policy (``sts:ExternalId``)."""

    external_id: str = Field(description="Shown once: the trust policy's sts:ExternalId condition value")
    trust_policy_condition: dict[str, dict[str, str]] = Field(
        description="The condition to add to the role's trust policy statement for the platform's role"
    )
