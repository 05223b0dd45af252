"""The FastAPI application factory: ``create_app(settings=None)``."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy import text
from starlette.exceptions import HTTPException as StarletteHTTPException

from control_plane.audit.service import SYSTEM
from control_plane.db import Database, DbScope, migrate
from control_plane.deps import AppState
from control_plane.errors import ApiError, Problem, responses
from control_plane.middleware import RequestIdMiddleware
from control_plane.settings import ControlPlaneSettings
from control_plane.tenants.provisioning import DuckDBWarehouse, LakePrefixes, Provisioner

log = logging.getLogger("control_plane")


class Health(BaseModel):
    status: str
    database: str


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> JSONResponse:
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
        body = Problem(detail=str(exc.detail), request_id=getattr(request.state, "request_id", None))
        return JSONResponse(
            body.model_dump(), status_code=exc.status_code, headers=getattr(exc, "headers", None)
        )


def create_app(
    settings: ControlPlaneSettings | None = None, *, provisioner: Provisioner | None = None
) -> FastAPI:
    """Build the API: migrate (if enabled), seed plans and the registry, mount every domain's routes."""
    settings = settings or ControlPlaneSettings()
    if settings.auto_migrate:
        migrate(settings.resolved_migration_url())
    db = Database(settings.resolved_database_url(), pool_size=settings.db_pool_size)
    provisioner = provisioner or Provisioner(
        LakePrefixes(settings.lake_root or "./.lake"), DuckDBWarehouse(settings.resolved_warehouse_path())
    )
    _startup(db, settings)

    app = FastAPI(
        title="Partner Central Lakehouse control plane",
        version="1.0.0",
        description="Tenants, authentication, OPA-format authorization, hash-chained audit and the module registry.",
    )
    app.state.cp = AppState(settings=settings, db=db, provisioner=provisioner)
    app.add_middleware(RequestIdMiddleware)
    _install_error_handlers(app)

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

    from control_plane.approvals.views import router as approvals_router
    from control_plane.audit.views import router as audit_router
    from control_plane.auth.views import router as auth_router
    from control_plane.authz.views import router as authz_router
    from control_plane.connectors.views import router as connectors_router
    from control_plane.costs.marketplace_views import router as marketplace_router
    from control_plane.costs.views import router as costs_router
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
    ):
        app.include_router(router)
    return app


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
    if settings.bootstrap_admin_key is not None:
        ensure_configured_admin_key(db, settings.bootstrap_admin_key.get_secret_value())
