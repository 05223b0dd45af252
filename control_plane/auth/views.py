"""Routes of the auth domain: users, API keys, tokens."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Response

from control_plane.auth import service
from control_plane.auth.schemas import (
    KEY_ID_PATTERN,
    USER_ID_PATTERN,
    ApiKeyCreated,
    ApiKeyOut,
    ApiKeySpec,
    TokenOut,
    TokenRequest,
    UserOut,
    UserSpec,
    WhoAmI,
)
from control_plane.deps import Authorized, AuthorizeGlobal, AuthorizePlatform, AuthorizeTenant, PageDep
from control_plane.errors import responses

router = APIRouter(tags=["auth"])
AUTH = (401, 403, 422)
UserId = Annotated[str, Path(pattern=USER_ID_PATTERN, description="User id (e.g. the IdP subject)")]
KeyId = Annotated[str, Path(pattern=KEY_ID_PATTERN, description="API key id")]


@router.get("/tenants/{tenant_id}/users", response_model=list[UserOut], responses=responses(*AUTH, 404))
def list_users(
    auth: Annotated[Authorized, Depends(AuthorizeTenant("users:read"))], page: PageDep
) -> list[UserOut]:
    """Users of the tenant, by id (``limit`` at most 1000, ``offset``)."""
    users = service.list_users(auth.db, auth.target, limit=page.limit, offset=page.offset)
    return [UserOut.model_validate(u) for u in users]


@router.get("/tenants/{tenant_id}/users/{user_id}", response_model=UserOut, responses=responses(*AUTH, 404))
def get_user(auth: Annotated[Authorized, Depends(AuthorizeTenant("users:read"))], user_id: UserId) -> UserOut:
    """One user."""
    return UserOut.model_validate(service.get_user(auth.db, auth.target, user_id))


@router.put(
    "/tenants/{tenant_id}/users/{user_id}",
    response_model=UserOut,
    responses={201: {"model": UserOut, "description": "Created"}, **responses(*AUTH, 400, 404)},
)
def put_user(
    spec: UserSpec,
    response: Response,
    auth: Annotated[Authorized, Depends(AuthorizeTenant("users:write"))],
    user_id: UserId,
) -> UserOut:
    """Create or update a user; the role must be grantable by the caller. Disabling needs a reason."""
    user, created = service.put_user(auth.db, auth.ctx, auth.target, user_id, spec.model_dump())
    if created:
        response.status_code = 201
    return UserOut.model_validate(user)


@router.get("/tenants/{tenant_id}/api-keys", response_model=list[ApiKeyOut], responses=responses(*AUTH, 404))
def list_keys(
    auth: Annotated[Authorized, Depends(AuthorizeTenant("keys:read"))], page: PageDep
) -> list[ApiKeyOut]:
    """The tenant's API keys (metadata only), oldest first (``limit`` at most 1000, ``offset``)."""
    keys = service.list_keys(auth.db, auth.target, limit=page.limit, offset=page.offset)
    return [ApiKeyOut.model_validate(k) for k in keys]


@router.post(
    "/tenants/{tenant_id}/api-keys",
    response_model=ApiKeyCreated,
    status_code=201,
    responses=responses(*AUTH, 400, 404),
)
def create_key(
    spec: ApiKeySpec, auth: Annotated[Authorized, Depends(AuthorizeTenant("keys:create"))]
) -> ApiKeyCreated:
    """A new API key scoped to this tenant and a role (reason required). The plaintext is returned once."""
    key, plaintext = service.create_key_committed(
        auth.db, auth.ctx, auth.target, name=spec.name, role=spec.role, expires_in_days=spec.expires_in_days
    )
    return ApiKeyCreated.model_validate({**ApiKeyOut.model_validate(key).model_dump(), "key": plaintext})


@router.post(
    "/tenants/{tenant_id}/api-keys/{key_id}/rotate",
    response_model=ApiKeyCreated,
    status_code=201,
    responses=responses(*AUTH, 400, 404, 409),
)
def rotate_key(
    auth: Annotated[Authorized, Depends(AuthorizeTenant("keys:rotate"))], key_id: KeyId
) -> ApiKeyCreated:
    """Replace a key by a new one (same name and role); the old key stops working at once."""
    key, plaintext = service.rotate_key(auth.db, auth.ctx, auth.target, key_id)
    return ApiKeyCreated.model_validate({**ApiKeyOut.model_validate(key).model_dump(), "key": plaintext})


@router.delete(
    "/tenants/{tenant_id}/api-keys/{key_id}", response_model=ApiKeyOut, responses=responses(*AUTH, 400, 404)
)
def revoke_key(
    auth: Annotated[Authorized, Depends(AuthorizeTenant("keys:revoke"))], key_id: KeyId
) -> ApiKeyOut:
    """Revoke a key (reason required; revoking twice changes nothing)."""
    return ApiKeyOut.model_validate(service.revoke_key(auth.db, auth.ctx, auth.target, key_id))


@router.delete(
    "/tenants/{tenant_id}/api-keys/{key_id}/tokens",
    response_model=ApiKeyOut,
    responses=responses(*AUTH, 400, 404),
)
def revoke_key_tokens(
    auth: Annotated[Authorized, Depends(AuthorizeTenant("keys:revoke"))], key_id: KeyId
) -> ApiKeyOut:
    """End every token issued from this key at once (reason required); the key itself keeps working."""
    return ApiKeyOut.model_validate(service.revoke_key_tokens(auth.db, auth.ctx, auth.target, key_id))


@router.get("/platform/api-keys", response_model=list[ApiKeyOut], responses=responses(*AUTH))
def list_platform_keys(
    auth: Annotated[Authorized, Depends(AuthorizePlatform("keys:read"))], page: PageDep
) -> list[ApiKeyOut]:
    """The platform keys (platform admins; metadata only)."""
    keys = service.list_platform_keys(auth.db, limit=page.limit, offset=page.offset)
    return [ApiKeyOut.model_validate(k) for k in keys]


@router.delete("/platform/api-keys/{key_id}", response_model=ApiKeyOut, responses=responses(*AUTH, 400, 404))
def revoke_platform_key(
    auth: Annotated[Authorized, Depends(AuthorizePlatform("keys:revoke"))], key_id: KeyId
) -> ApiKeyOut:
    """Revoke a platform key (reason required; idempotent); its tokens stop working at once."""
    return ApiKeyOut.model_validate(service.revoke_platform_key(auth.db, auth.ctx, key_id))


@router.delete(
    "/platform/api-keys/{key_id}/tokens", response_model=ApiKeyOut, responses=responses(*AUTH, 400, 404)
)
def revoke_platform_key_tokens(
    auth: Annotated[Authorized, Depends(AuthorizePlatform("keys:revoke"))], key_id: KeyId
) -> ApiKeyOut:
    """End every token issued from a platform key (reason required); the key keeps working."""
    return ApiKeyOut.model_validate(service.revoke_platform_key_tokens(auth.db, auth.ctx, key_id))


@router.post("/auth/tokens/revoke", response_model=ApiKeyOut, responses=responses(401, 403, 404, 409))
def revoke_own_tokens(auth: Annotated[Authorized, Depends(AuthorizeGlobal("auth:token"))]) -> ApiKeyOut:
    """End every token issued from the caller's own API key ("sign out everywhere")."""
    return ApiKeyOut.model_validate(service.revoke_own_tokens(auth.db, auth.ctx))


@router.post("/auth/token", response_model=TokenOut, responses=responses(*AUTH, 400, 409))
def token(
    body: TokenRequest, auth: Annotated[Authorized, Depends(AuthorizeGlobal("auth:token"))]
) -> TokenOut:
    """Exchange the caller's credentials for a short-lived JWT signed with its tenant's signing key."""
    text, ttl = service.issue_token(auth.db, auth.state.settings, auth.ctx.principal, body.ttl_seconds)
    return TokenOut(access_token=text, expires_in=ttl)


@router.get("/auth/whoami", response_model=WhoAmI, responses=responses(401, 403))
def whoami(auth: Annotated[Authorized, Depends(AuthorizeGlobal("auth:whoami"))]) -> WhoAmI:
    """Who the credentials say the caller is."""
    p = auth.ctx.principal
    return WhoAmI(subject=p.subject, role=p.role, tenant_id=p.tenant_id, tenant_path=p.tenant_path, via=p.via)
