"""Marketplace routes: ``POST /marketplace/register`` and ``GET /entitlements/check`` (wrapping
``lakehouse.marketplace.registration``), with the buyer links in the control-plane database."""

from __future__ import annotations

import os
from datetime import datetime
from typing import Annotated, Any

from botocore.exceptions import BotoCoreError, ClientError
from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from control_plane.approvals.views import require_any
from control_plane.costs.buyers import DbBuyerDirectory
from control_plane.db import utcnow
from control_plane.deps import TENANT_ID_PATTERN, Authenticated, Authorized
from control_plane.errors import Conflict, Invalid, NotFound, Unavailable, responses
from control_plane.request_model import RequestModel
from control_plane.tenants.service import get_tenant
from lakehouse.errors import BadInput
from lakehouse.marketplace.interfaces import BuyerAlreadyLinked

router = APIRouter(tags=["marketplace"])
ENDPOINT_ENV = "LAKEHOUSE_MARKETPLACE_ENDPOINT_URL"
ENABLED_ENV = "LAKEHOUSE_MARKETPLACE_ENABLED"
NOT_ENABLED = f"AWS Marketplace is not enabled on this deployment (set {ENABLED_ENV}=true)"


class RegisterSpec(RequestModel):
    model_config = ConfigDict(extra="forbid")

    tenant_id: str = Field(pattern=TENANT_ID_PATTERN, max_length=63)
    token: str = Field(
        min_length=1, max_length=4096, description="The x-amzn-marketplace-token from the fulfillment URL"
    )


class BuyerOut(BaseModel):
    tenant_id: str
    product_code: str
    customer_aws_account_id: str | None
    license_arn: str | None
    customer_identifier: str | None
    agreement_id: str | None
    currency_code: str
    rate_card: dict[str, str]
    linked_at: datetime | None


class EntitlementOut(BaseModel):
    tenant_id: str
    dimension: str
    allowed: bool
    reason: str
    value: Any = None
    expires_at: datetime | None = None


def marketplace_enabled(request: Request) -> bool:
    """Whether this deployment talks to AWS Marketplace: a reader was injected, or ``LAKEHOUSE_MARKETPLACE_ENABLED``
    or ``LAKEHOUSE_MARKETPLACE_ENDPOINT_URL`` is set (off by default, so a dev API never calls AWS by accident)."""
    if getattr(request.app.state, "marketplace_reader", None) is not None or os.environ.get(ENDPOINT_ENV):
        return True
    return os.environ.get(ENABLED_ENV, "").strip().lower() in ("1", "true", "yes", "on")


def marketplace_reader(request: Request) -> Any:
    """The app's Marketplace reader (``app.state.marketplace_reader``, else built once from the environment)."""
    reader = getattr(request.app.state, "marketplace_reader", None)
    if reader is None:
        from lakehouse.marketplace.connector import MarketplaceConfig, MarketplaceReader
        from lakehouse.settings import get_settings

        reader = MarketplaceReader.from_config(
            MarketplaceConfig(
                region=get_settings().aws_region, endpoint_url=os.environ.get(ENDPOINT_ENV) or None
            )
        )
        request.app.state.marketplace_reader = reader
    return reader


def _cache(request: Request) -> Any:
    cache = getattr(request.app.state, "entitlement_cache", None)
    if cache is None:
        from lakehouse.marketplace.registration import EntitlementCache

        cache = request.app.state.entitlement_cache = EntitlementCache(ttl_s=300.0)
    return cache


def _marketplace_failure(exc: Exception) -> Exception:
    from lakehouse.marketplace.connector import MarketplaceError

    code = getattr(exc, "code", None) or ""
    if isinstance(exc, MarketplaceError) and ("Token" in code or "Token" in str(exc)):
        return Invalid(f"the registration token was refused: {exc}")
    return Unavailable(f"AWS Marketplace did not answer: {exc}")


@router.post(
    "/marketplace/register",
    response_model=BuyerOut,
    status_code=201,
    responses={
        200: {"model": BuyerOut, "description": "Already linked to this tenant (no change)"},
        **responses(400, 401, 403, 404, 409, 422, 503),
    },
)
def register(
    spec: RegisterSpec,
    request: Request,
    response: Response,
    auth: Annotated[Authorized, Depends(Authenticated("tenants:write"))],
) -> BuyerOut:
    """Resolve a Marketplace registration token (ResolveCustomer) and link the buyer to the tenant (404 when
    Marketplace is not enabled on this deployment)."""
    from lakehouse.marketplace.connector import MarketplaceError
    from lakehouse.marketplace.registration import register_buyer

    tenant = get_tenant(auth.db, auth.ctx.principal, spec.tenant_id)
    if tenant is None:
        raise NotFound(f"tenant {spec.tenant_id!r} not found")
    require_any(auth.ctx, ("tenants:write",), tenant)
    if not marketplace_enabled(request):
        raise NotFound(NOT_ENABLED)
    tenant_id = tenant.id
    auth.db.rollback()  # end the request's transaction (and its SQLite write lock): the directory writes in its own
    directory = DbBuyerDirectory(
        auth.state.db, actor=auth.ctx.principal.actor, request_id=auth.ctx.request_id
    )
    started = utcnow()
    try:
        buyer = register_buyer(
            spec.token, tenant_id=tenant_id, reader=marketplace_reader(request), directory=directory
        )
    except BuyerAlreadyLinked as exc:
        raise Conflict(str(exc)) from None
    except BadInput as exc:
        raise Invalid(str(exc)) from None
    except (MarketplaceError, BotoCoreError, ClientError) as exc:  # no credentials, unreachable endpoint, ...
        raise _marketplace_failure(exc) from None
    request.app.state.entitlement_cache = None  # decisions made before the link are stale now
    if buyer.linked_at is not None and buyer.linked_at < started:
        response.status_code = 200
    return BuyerOut(
        **{k: getattr(buyer, k) for k in BuyerOut.model_fields if k != "rate_card"},
        rate_card=dict(buyer.rate_card),
    )


@router.get(
    "/entitlements/check", response_model=EntitlementOut, responses=responses(401, 403, 404, 422, 503)
)
def check(
    request: Request,
    auth: Annotated[Authorized, Depends(Authenticated("tenants:read"))],
    tenant_id: Annotated[str, Query(pattern=TENANT_ID_PATTERN)],
    dimension: Annotated[str, Query(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_.-]+$")],
) -> EntitlementOut:
    """Whether the tenant's Marketplace buyer is entitled to ``dimension`` now (GetEntitlements, cached 5 min)."""
    from lakehouse.marketplace.connector import MarketplaceError
    from lakehouse.marketplace.registration import check_entitlement

    tenant = get_tenant(auth.db, auth.ctx.principal, tenant_id)
    if tenant is None:
        raise NotFound(f"tenant {tenant_id!r} not found")
    require_any(auth.ctx, ("tenants:read",), tenant)
    tenant_id = tenant.id
    if not marketplace_enabled(request):
        return EntitlementOut(tenant_id=tenant_id, dimension=dimension, allowed=False, reason=NOT_ENABLED)
    auth.db.rollback()
    directory = DbBuyerDirectory(auth.state.db)
    try:
        reader = marketplace_reader(request) if directory.buyer_for(tenant_id) is not None else None
        decision = check_entitlement(
            tenant_id,
            dimension,
            directory=directory,
            reader=reader,  # type: ignore[arg-type]
            cache=_cache(request),
        )
    except (MarketplaceError, BotoCoreError, ClientError) as exc:
        raise _marketplace_failure(exc) from None
    return EntitlementOut(**decision.as_dict())
