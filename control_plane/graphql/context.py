"""The per-request GraphQL context: the REST gate's authentication and the one PDP, for every resolver.

The context getter is a FastAPI dependency taking the same credentials (``X-API-Key`` / ``Authorization:
Bearer``) and ``X-Audit-Reason`` header as every REST route, and authenticates through the REST gate
(``control_plane.deps.Authenticated``): key lookup, revocation, expiry, failed-secret back-off and the per-key
rate limit. A failure is kept and raised by the first resolver that needs a caller, so it reaches the client as
a GraphQL error (``extensions.code``) rather than a REST problem body; introspection needs no caller (the schema
is published in docs/graphql.schema.graphql). Resolvers decide with ``authz.service.require`` on the same
resource documents the REST gates build; there is no other authorization path.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from fastapi import Request
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from strawberry.fastapi import BaseContext

from control_plane.audit.denied import Aggregator, Refusal, record_refusal
from control_plane.auth.principal import Principal
from control_plane.authz.service import require, tenant_resource
from control_plane.db import NO_SCOPE
from control_plane.deps import (
    ApiKeyCredential,
    Authenticated,
    Authorized,
    BearerCredential,
    ReasonHeader,
    StateDep,
)
from control_plane.errors import ApiError, NotFound, Unauthorized
from control_plane.tenants.models import Tenant
from control_plane.tenants.service import get_tenant

log = logging.getLogger("control_plane.graphql")
_T = TypeVar("_T")
# Statuses REST audits as refusals (control_plane/app.py); 422 (bad input) is an answer, not a refusal.
AUDITED = frozenset({400, 401, 403, 404, 413, 429})
_GATE = Authenticated("graphql:query")  # authentication only; each resolver asks the PDP for its own action


@dataclass
class GatewayContext(BaseContext):
    """What resolvers get as ``info.context``: the authenticated request (or why there is none)."""

    auth: Authorized | None = None
    failure: ApiError | None = None
    lake_root: str = "./.lake"
    refusals: list[tuple[str, ApiError]] = field(default_factory=list)  # (field path, error) to audit
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    def __post_init__(self) -> None:
        super().__init__()

    @property
    def authorized(self) -> Authorized:
        """The authenticated request; raises the authentication failure (401/429) otherwise."""
        if self.auth is None:
            raise self.failure or Unauthorized()
        return self.auth

    @property
    def principal(self) -> Principal:
        """The authenticated caller."""
        return self.authorized.ctx.principal

    @property
    def db(self) -> Session:
        """The request's database session (scoped to the caller by authentication)."""
        return self.authorized.db

    async def run(self, fn: Callable[..., _T], *args: Any) -> _T:
        """Run blocking work (database, lake) in a worker thread, one piece at a time per request: sibling fields
        resolve concurrently, and one SQLAlchemy session must not be used by two threads at once."""
        async with self._lock:
            return await run_in_threadpool(fn, *args)

    def require(self, action: str, resource: dict[str, Any]) -> None:
        """Ask the PDP (``authz.service.require``) with the request's environment, reason and request id."""
        auth = self.authorized
        require(
            auth.ctx.principal,
            action,
            resource,
            environment=auth.ctx.environment,
            reason=auth.ctx.reason,
            request_id=auth.ctx.request_id,
        )

    def tenant(self, tenant_id: str, action: str) -> Tenant:
        """The visible tenant (404 otherwise) on which the PDP allows ``action``: what ``AuthorizeTenant`` does."""
        tenant = get_tenant(self.db, self.principal, tenant_id)
        if tenant is None:
            raise NotFound(f"tenant {tenant_id!r} not found")
        self.require(action, tenant_resource(tenant.id, tenant.path))
        return tenant

    def on_global(self, action: str, resource_type: str | None = None) -> None:
        """The PDP's decision on ``action`` as ``AuthorizeGlobal(action, resource_type)`` asks it."""
        self.require(action, global_resource_for(self.principal, resource_type))

    def on_tenant(self, tenant: Tenant, action: str, **resource: Any) -> None:
        """The PDP's decision on ``action`` on an already visible tenant (e.g. one reached through a list)."""
        self.require(action, tenant_resource(tenant.id, tenant.path, **resource))


async def get_context(
    request: Request,
    state: StateDep,
    api_key: ApiKeyCredential,
    bearer: BearerCredential,
    reason: ReasonHeader = None,
) -> AsyncIterator[GatewayContext]:
    """Authenticate like every REST route (failures are kept for the resolvers), on a read-only session."""
    session = state.db.session(NO_SCOPE, write=False)  # the gateway only reads
    request.state.db_session = session
    context = GatewayContext(lake_root=state.settings.lake_root or "./.lake")
    try:
        try:
            context.auth = await run_in_threadpool(_GATE, request, state, session, api_key, bearer, reason)
        except ApiError as exc:
            context.failure = exc
        yield context
    finally:
        session.close()  # before the refusals are written (SQLite's single writer)
    if context.refusals:
        await run_in_threadpool(_audit_refusals, request, state, context, reason)


def _aggregator(request: Request, window: float) -> Aggregator:
    """The app's aggregator of anonymous GraphQL refusals (one per app, created on first use)."""
    aggregator: Aggregator | None = getattr(request.app.state, "graphql_refusals", None)
    if aggregator is None:
        aggregator = Aggregator(window=window)
        request.app.state.graphql_refusals = aggregator
    return aggregator


def _audit_refusals(request: Request, state: Any, context: GatewayContext, reason: str | None) -> None:
    """Audit each refused field as REST audits a refused request (``audit/denied.py``): the caller's own chain,
    resource ``POST /graphql <field path>``; anonymous refusals are aggregated per source address."""
    aggregator = _aggregator(request, state.settings.denied_audit_window_seconds)
    client = request.client
    for path, exc in context.refusals:
        if exc.status not in AUDITED:
            continue
        refusal = Refusal(
            method=request.method,
            path=f"{request.url.path} {path}",
            status=exc.status,
            detail=exc.detail,
            request_id=getattr(request.state, "request_id", None),
            source=client.host if client else "unknown",
            principal=context.auth.ctx.principal if context.auth is not None else None,
            reason_header=reason,
        )
        try:
            record_refusal(state.db, aggregator, refusal)
        except Exception:  # the answer is already given; the failure is logged, as REST does
            log.exception("could not audit the refusal of %s %s", refusal.method, refusal.path)


def global_resource_for(principal: Principal, resource_type: str | None) -> dict[str, Any]:
    """The resource ``AuthorizeGlobal`` decides on: a platform-wide type, or else the caller's own tenant."""
    from control_plane.authz.service import global_resource

    if resource_type is not None:
        return global_resource(resource_type)
    if principal.is_platform:
        return global_resource("platform")
    return tenant_resource(principal.tenant_id or "", principal.tenant_path or "")
