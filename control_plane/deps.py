"""FastAPI dependencies: database session, authentication, and the authorization gate every route passes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends, Header, Path, Query, Request, Security
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from control_plane.auth.principal import Principal
from control_plane.auth.ratelimit import FailedSecrets, TokenBuckets
from control_plane.auth.service import authenticate
from control_plane.authz.service import global_resource, require, tenant_resource
from control_plane.context import RequestContext
from control_plane.db import NO_SCOPE, Database
from control_plane.errors import Forbidden, NotFound, TooManyRequests
from control_plane.settings import ControlPlaneSettings
from control_plane.tenants.models import Tenant
from control_plane.tenants.provisioning import Provisioner
from control_plane.tenants.service import get_tenant

TENANT_ID_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,62}$"


@dataclass
class AppState:
    """Process-wide objects of one application instance."""

    settings: ControlPlaneSettings
    db: Database
    provisioner: Provisioner
    key_buckets: TokenBuckets = field(default_factory=TokenBuckets)
    failed_secrets: FailedSecrets | None = None

    def __post_init__(self) -> None:
        if self.failed_secrets is None:
            self.failed_secrets = FailedSecrets(
                threshold=self.settings.auth_failure_threshold,
                window=self.settings.auth_failure_window_seconds,
                max_lockout=self.settings.auth_lockout_max_seconds,
            )


async def get_state(request: Request) -> AppState:
    """The application's state (async: no threadpool hop)."""
    state: AppState = request.app.state.cp
    return state


StateDep = Annotated[AppState, Depends(get_state)]


async def get_db(request: Request, state: StateDep) -> AsyncIterator[Session]:
    """One session per request (writers are marked so that SQLite takes the write lock up front).

    Async on purpose: creating a session does no I/O and handlers end their transactions themselves, so this
    saves two threadpool hops per request; the database work runs in the gate's and handler's worker threads.
    """
    session = state.db.session(NO_SCOPE, write=request.method not in ("GET", "HEAD", "OPTIONS"))
    request.state.db_session = session  # closed by the refusal handler before it writes its audit row
    try:
        yield session
    finally:
        session.close()


DbSession = Annotated[Session, Depends(get_db)]

_api_key = APIKeyHeader(
    name="X-API-Key",
    auto_error=False,
    scheme_name="ApiKey",
    description="An API key: lh.<tenant id or _platform>.<key id>.<secret>",
)
_bearer = HTTPBearer(
    auto_error=False,
    scheme_name="Bearer",
    bearerFormat="JWT",
    description="A JWT (HS256 platform/tenant token, or an OIDC token when configured)",
)


ApiKeyCredential = Annotated[str | None, Security(_api_key)]
BearerCredential = Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)]


def _authenticate(
    request: Request,
    db: Session,
    state: AppState,
    api_key: str | None,
    bearer: HTTPAuthorizationCredentials | None,
) -> Principal:
    """The authenticated caller (401 otherwise, 429 over its key's rate); scopes the session to the caller."""
    principal = authenticate(
        db,
        state.settings,
        api_key=api_key,
        bearer=bearer.credentials if bearer else None,
        failed_secrets=state.failed_secrets,
    )
    request.state.principal = principal  # who to audit if the request is refused later
    _limit_key(db, state, principal)
    return principal


def _limit_key(db: Session, state: AppState, principal: Principal) -> None:
    """Per-key rate limit (the key behind a token counts as that key), at the rate of the tenant's plan."""
    if not state.settings.rate_limits_enabled:
        return
    name = principal.key_id or principal.subject
    if principal.is_platform:
        plan = "_platform"
    else:
        tenant = db.info.get("principal_tenant")
        plan = getattr(tenant, "plan_id", None) or "free"
    limits = state.settings.rate_limit_per_plan
    rate = limits.get(plan) or limits.get("free") or 20.0
    wait = state.key_buckets.acquire(f"key:{name}", rate, rate * state.settings.rate_limit_burst_seconds)
    if wait > 0:
        raise TooManyRequests(
            f"rate limit of {rate:g} requests/s for {name!r} (plan {plan}) exceeded", retry_after=wait
        )


MAX_PAGE = 1000
MAX_OFFSET = 1_000_000


@dataclass(frozen=True)
class Page:
    """``limit`` (1..1000, default 100) and ``offset`` of a list route: no list answers without a bound."""

    limit: int
    offset: int


def page(
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE, description="Most items returned")] = 100,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET, description="Items skipped")] = 0,
) -> Page:
    """The pagination parameters every list route takes."""
    return Page(limit, offset)


PageDep = Annotated[Page, Depends(page)]


ReasonHeader = Annotated[
    str | None,
    Header(
        alias="X-Audit-Reason",
        max_length=1000,
        description="Why: written to the audit entry; required on sensitive actions",
    ),
]


@dataclass(frozen=True)
class Authorized:
    """A request that passed the PDP: its context, session and (for tenant routes) the target tenant."""

    ctx: RequestContext
    db: Session
    tenant: Tenant | None
    state: AppState

    @property
    def target(self) -> Tenant:
        """The route's tenant (only on ``AuthorizeTenant`` routes, where the gate always resolves it)."""
        if self.tenant is None:
            raise RuntimeError("this route has no target tenant: it is not behind an AuthorizeTenant gate")
        return self.tenant


def _context(request: Request, state: AppState, principal: Principal, reason: str | None) -> RequestContext:
    return RequestContext(
        principal=principal,
        environment=state.settings.environment or "development",
        reason=reason.strip() if reason and reason.strip() else None,
        request_id=getattr(request.state, "request_id", None),
    )


class AuthorizeTenant:
    """Gate for ``/tenants/{tenant_id}/...`` routes: 404 unless visible to the caller, then the PDP (403)."""

    def __init__(self, action: str) -> None:
        self.action = action

    def __call__(
        self,
        request: Request,
        state: StateDep,
        db: DbSession,
        api_key: ApiKeyCredential,
        bearer: BearerCredential,
        reason: ReasonHeader = None,
        tenant_id: str = Path(pattern=TENANT_ID_PATTERN, description="Tenant id"),
    ) -> Authorized:
        principal = _authenticate(request, db, state, api_key, bearer)
        tenant = get_tenant(db, principal, tenant_id)
        if tenant is None:
            raise NotFound(f"tenant {tenant_id!r} not found")
        ctx = _context(request, state, principal, reason)
        require(
            principal,
            self.action,
            tenant_resource(tenant.id, tenant.path),
            environment=ctx.environment,
            reason=ctx.reason,
            request_id=ctx.request_id,
        )
        return Authorized(ctx, db, tenant, state)


class AuthorizeGlobal:
    """Gate for platform-wide resources (plans, modules, policy) and caller-relative routes."""

    def __init__(self, action: str, resource_type: str | None = None) -> None:
        self.action = action
        self.resource_type = resource_type  # None: the caller's own tenant is the resource

    def __call__(
        self,
        request: Request,
        state: StateDep,
        db: DbSession,
        api_key: ApiKeyCredential,
        bearer: BearerCredential,
        reason: ReasonHeader = None,
    ) -> Authorized:
        principal = _authenticate(request, db, state, api_key, bearer)
        ctx = _context(request, state, principal, reason)
        if self.resource_type is not None:
            resource = global_resource(self.resource_type)
        elif principal.is_platform:
            resource = global_resource("platform")
        else:
            resource = tenant_resource(principal.tenant_id or "", principal.tenant_path or "")
        require(
            principal,
            self.action,
            resource,
            environment=ctx.environment,
            reason=ctx.reason,
            request_id=ctx.request_id,
        )
        return Authorized(ctx, db, None, state)


class AuthorizePlatform(AuthorizeGlobal):
    """Gate for platform-only objects (platform keys, anchoring): platform admins only (403 for anyone else,
    whatever the PDP says about a platform-wide resource), then the PDP."""

    def __init__(self, action: str) -> None:
        super().__init__(action, "platform")

    def __call__(
        self,
        request: Request,
        state: StateDep,
        db: DbSession,
        api_key: ApiKeyCredential,
        bearer: BearerCredential,
        reason: ReasonHeader = None,
    ) -> Authorized:
        authorized = super().__call__(request, state, db, api_key, bearer, reason)
        if not authorized.ctx.principal.is_platform:
            raise Forbidden(
                f"{self.action} is for platform admins only",
                reasons=[
                    f"role {authorized.ctx.principal.role} of tenant {authorized.ctx.principal.tenant_id}"
                ],
            )
        return authorized


class Authenticated:
    """Gate for routes whose resource is only known from the body: the flow asks the PDP itself."""

    def __init__(self, action: str) -> None:
        self.action = action

    def __call__(
        self,
        request: Request,
        state: StateDep,
        db: DbSession,
        api_key: ApiKeyCredential,
        bearer: BearerCredential,
        reason: ReasonHeader = None,
    ) -> Authorized:
        principal = _authenticate(request, db, state, api_key, bearer)
        return Authorized(_context(request, state, principal, reason), db, None, state)
