"""Routes of the module registry."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Path, Query, Response
from pydantic import BaseModel, ConfigDict

from control_plane.deps import Authorized, AuthorizeGlobal, PageDep
from control_plane.errors import NotFound, responses
from control_plane.registry import service
from control_plane.registry.models import ModuleVersion
from control_plane.request_model import SafeJson

router = APIRouter(tags=["registry"])
NAME = r"^[a-z][a-z0-9-]{1,62}$"


class ModuleOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    name: str
    version: str
    module_type: str
    digest: str
    published_at: datetime
    published_by: str
    manifest: dict[str, Any]


@router.post(
    "/registry/modules",
    response_model=ModuleOut,
    status_code=201,
    responses={
        200: {"model": ModuleOut, "description": "Already published with identical content (no change)"},
        **responses(400, 401, 403, 409, 422),
    },
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": service.openapi_manifest_schema()}},
        }
    },
)
def publish(
    response: Response,
    auth: Annotated[Authorized, Depends(AuthorizeGlobal("registry:publish", "module"))],
    manifest: Annotated[SafeJson, Body()] = None,
) -> ModuleOut:
    """Publish a module version. Every problem of an invalid manifest is listed (422); versions are immutable (409)."""
    row, created = service.publish(
        auth.db,
        manifest,
        actor=auth.ctx.principal.actor,
        reason=auth.ctx.reason,
        request_id=auth.ctx.request_id,
    )
    if not created:
        response.status_code = 200
    return ModuleOut.model_validate(row)


@router.get("/registry/modules", response_model=list[ModuleOut], responses=responses(401, 403, 422))
def list_modules(
    auth: Annotated[Authorized, Depends(AuthorizeGlobal("registry:read", "module"))],
    page: PageDep,
    name: Annotated[str | None, Query(pattern=NAME)] = None,
    type: Annotated[
        str | None, Query(pattern="^(connector|pipeline|dashboard|notebook|export|feature_set|agent)$")
    ] = None,
    produces: Annotated[
        str | None, Query(max_length=80, description="Only modules producing this table")
    ] = None,
    consumes: Annotated[
        str | None, Query(max_length=80, description="Only modules consuming this table")
    ] = None,
    isolation_mode: Annotated[str | None, Query(pattern="^(pooled|siloed)$")] = None,
    tenant_kind: Annotated[str | None, Query(pattern="^(enterprise|org|workspace)$")] = None,
    latest: Annotated[bool, Query(description="Only the newest version of each module")] = False,
) -> list[ModuleOut]:
    """Published module versions matching every filter (``limit`` at most 1000, ``offset``)."""
    rows = service.list_modules(
        auth.db,
        name=name,
        module_type=type,
        produces=produces,
        consumes=consumes,
        isolation_mode=isolation_mode,
        tenant_kind=tenant_kind,
        latest=latest,
    )
    return [ModuleOut.model_validate(r) for r in rows[page.offset : page.offset + page.limit]]


@router.get(
    "/registry/modules/{name}/versions/{version}",
    response_model=ModuleOut,
    responses=responses(401, 403, 404, 422),
)
def get_version(
    auth: Annotated[Authorized, Depends(AuthorizeGlobal("registry:read", "module"))],
    name: Annotated[str, Path(pattern=NAME)],
    version: Annotated[str, Path(max_length=64)],
) -> ModuleOut:
    """One published version."""
    row = auth.db.get(ModuleVersion, (name, version))
    if row is None:
        raise NotFound(f"module {name} {version} is not published")
    return ModuleOut.model_validate(row)
