"""The FastAPI application factory: ``create_app(settings=None)``."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from control_plane.audit import keys as audit_keys
from control_plane.audit.anchor import PeriodicAnchor, store_from_settings
from control_plane.audit.denied import Aggregator, Refusal, record_refusal
from control_plane.audit.service import SYSTEM, seal_unkeyed_chains
from control_plane.db import Database, DbScope, database_error_handler, migrate
from control_plane.deps import AppState
from control_plane.errors import ApiError, Problem, responses
from control_plane.middleware import BodyLimitMiddleware, RequestIdMiddleware, SourceRateLimitMiddleware
from control_plane.settings import ControlPlaneSettings
from control_plane.tenants.provisioning import LakePrefixes, Provisioner, SqlWarehouse

log = logging.getLogger("control_plane")


class Health(BaseModel):
    status: str
    database: str


REFUSALS = frozenset({400, 401, 403, 404, 413, 429})


def _refusal_recorder(app: FastAPI) -> Any:
    """An async ``(scope, status, detail)`` hook that audits and logs a refusal (see ``audit/denied.py``)."""
    aggregator = Aggregator(window=app.state.cp.settings.denied_audit_window_seconds)

    async def on_refusal(scope: dict[str, Any], status: int, detail: str) -> None:
        state = scope.get("state", {})
        session = state.get("db_session")
        if session is not None:
            session.close()  # end the request's transaction (and SQLite write lock) before writing
        client = scope.get("client")
        reason = next(
            (v.decode("latin-1") for k, v in scope.get("headers", []) if k == b"x-audit-reason"), None
        )
        refusal = Refusal(
            method=scope.get("method", ""),
            path=scope.get("path", ""),
            status=status,
            detail=detail,
            request_id=state.get("request_id"),
            source=client[0] if client else "unknown",
            principal=state.get("principal"),
            reason_header=reason,
        )
        try:
            await run_in_threadpool(record_refusal, app.state.cp.db, aggregator, refusal)
        except Exception:  # the refusal itself must still be answered; the failure is logged
            log.exception("could not audit the refusal of %s %s", refusal.method, refusal.path)

    return on_refusal


def _install_error_handlers(app: FastAPI, on_refusal: Any) -> None:
    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> JSONResponse:
        if exc.status in REFUSALS:
            await on_refusal(request.scope, exc.status, exc.detail)
        body = Problem(
            detail=exc.detail,
            problems=exc.problems,
            reasons=exc.reasons,
            request_id=getattr(request.state, "request_id", None),
        )
        return JSONResponse(body.model_dump(), status_code=exc.status, headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = [
            {"loc": list(e.get("loc", ())), "msg": str(e.get("msg", "")), "type": str(e.get("type", ""))}
            for e in exc.errors()
        ]
        body = Problem(
            detail=f"invalid request: {len(problems)} problem(s)",
            problems=problems,
            request_id=getattr(request.state, "request_id", None),
        )
        return JSONResponse(body.model_dump(), status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code in REFUSALS:
            await on_refusal(request.scope, exc.status_code, str(exc.detail))
        body = Problem(detail=str(exc.detail), request_id=getattr(request.state, "request_id", None))
        return JSONResponse(
            body.model_dump(), status_code=exc.status_code, headers=getattr(exc, "headers", None)
        )


def create_app(
    settings: ControlPlaneSettings | None = None, *, provisioner: Provisioner | None = None
) -> FastAPI:
    """Build the API: migrate (if enabled), seed plans and the registry, mount every domain's routes."""
    settings = settings or ControlPlaneSettings()  # filled from the environment
    audit_key = audit_keys.load_audit_hmac_key(settings)
    audit_keys.configure(audit_key)
    if settings.auto_migrate:
        migrate(settings.resolved_migration_url())
    db = Database(settings.resolved_database_url(), pool_size=settings.db_pool_size)
    provisioner = provisioner or Provisioner(
        LakePrefixes(settings.lake_root or "./.lake"),
        SqlWarehouse(settings.warehouse_url.get_secret_value() if settings.warehouse_url else None),
    )
    _startup(db, settings)

    app = FastAPI(
        title="Partner Central Lakehouse control plane",
        version="1.0.0",
        description="Tenants, authentication, OPA-format authorization, hash-chained audit and the module registry.",
    )
    app.state.cp = AppState(settings=settings, db=db, provisioner=provisioner)
    on_refusal = _refusal_recorder(app)
    # Added innermost first: request id (outermost), then the per-address rate limit, then the body limit.
    app.add_middleware(
        BodyLimitMiddleware,
        default=settings.max_body_bytes,
        limits=[("/approvals", settings.max_approval_body_bytes)],
        on_refusal=on_refusal,
    )
    if settings.rate_limits_enabled:
        app.add_middleware(
            SourceRateLimitMiddleware,
            rate=settings.rate_limit_per_ip,
            burst=settings.rate_limit_per_ip * settings.rate_limit_burst_seconds,
            on_refusal=on_refusal,
        )
    app.add_middleware(RequestIdMiddleware)
    _install_error_handlers(app, on_refusal)
    app.state.audit_anchor_store = store_from_settings(settings)
    if settings.audit_anchor_interval_seconds > 0 and app.state.audit_anchor_store is not None:
        app.state.audit_anchorer = PeriodicAnchor(
            db, app.state.audit_anchor_store, audit_key, settings.audit_anchor_interval_seconds
        )
        app.state.audit_anchorer.start()
    app.add_exception_handler(SQLAlchemyError, database_error_handler)

    @app.get("/health", response_model=Health, tags=["health"], responses=responses(503))
    def health() -> Health | JSONResponse:
        """Liveness and database reachability (no credentials needed)."""
        try:
            with db.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        except Exception as exc:
            body = Problem(detail=f"database unreachable: {type(exc).__name__}")
            return JSONResponse(body.model_dump(), status_code=503)
        return Health(status="ok", database=db.engine.dialect.name)

    from control_plane.agents.views import router as agents_router
    from control_plane.approvals.views import router as approvals_router
    from control_plane.audit.views import router as audit_router
    from control_plane.auth.views import router as auth_router
    from control_plane.authz.views import router as authz_router
    from control_plane.connectors.views import router as connectors_router
    from control_plane.costs.marketplace_views import router as marketplace_router
    from control_plane.costs.views import router as costs_router
    from control_plane.graphql.router import router as graphql_router
    from control_plane.metrics.views import router as metrics_router
    from control_plane.quotas.views import router as quotas_router
    from control_plane.registry.views import router as registry_router
    from control_plane.tenants.views import router as tenants_router

    for router in (
        tenants_router,
        auth_router,
        authz_router,
        audit_router,
        registry_router,
        approvals_router,
        quotas_router,
        costs_router,
        marketplace_router,
        connectors_router,
        agents_router,
        metrics_router,
        graphql_router,
    ):
        app.include_router(router)
    _document_limits(app)
    return app


def _document_limits(app: FastAPI) -> None:
    """Every operation may answer 413 (body limit) and 429 (rate limits): say so in the OpenAPI document."""
    extra = responses(413, 429)

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            for route in app.routes:
                if getattr(route, "include_in_schema", False) and hasattr(route, "responses"):
                    for code, spec in extra.items():
                        route.responses.setdefault(code, spec)
            app.openapi_schema = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
            )
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def _startup(db: Database, settings: ControlPlaneSettings) -> None:
    """Built-in plans, the configured bootstrap key and the registry seed (all idempotent)."""
    from control_plane.bootstrap import ensure_configured_admin_key
    from control_plane.errors import Conflict
    from control_plane.registry.service import seed
    from control_plane.tenants.flows import ensure_default_plans

    with db.session(DbScope.for_platform(), write=True) as session:
        ensure_default_plans(session)
        if settings.seed_registry:
            try:
                published = seed(session, SYSTEM)
            except Conflict as exc:
                log.warning("registry seed skipped: %s", exc.detail)
            else:
                if published:
                    log.info("registry seeded: %s", ", ".join(published))
        sealed = seal_unkeyed_chains(session)
        session.commit()
        if sealed:
            log.info("audit chains keyed from now on: %s", ", ".join(sealed))
    if settings.bootstrap_admin_key is not None:
        ensure_configured_admin_key(db, settings.bootstrap_admin_key.get_secret_value())
