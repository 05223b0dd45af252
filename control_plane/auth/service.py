"""Authentication (API key or bearer token → Principal) and the user / API key / token flows."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from control_plane.audit.service import record as audit_record
from control_plane.auth import keys, tokens
from control_plane.auth.models import ApiKey, SigningKey, User
from control_plane.auth.principal import Principal
from control_plane.auth.ratelimit import FailedSecrets
from control_plane.authz.policy import ROLES
from control_plane.authz.service import require, tenant_resource
from control_plane.context import RequestContext
from control_plane.db import DbScope, set_scope, utcnow
from control_plane.errors import Conflict, NotFound, TooManyRequests, Unauthorized
from control_plane.settings import ControlPlaneSettings
from control_plane.tenants.models import Tenant


def authenticate(
    db: Session,
    settings: ControlPlaneSettings,
    *,
    api_key: str | None,
    bearer: str | None,
    failed_secrets: FailedSecrets | None = None,
) -> Principal:
    """Resolve credentials to a Principal and scope ``db`` to it; raises Unauthorized (401), or TooManyRequests
    (429) while a key id is backing off after failed secrets."""
    if api_key:
        return _from_api_key(db, api_key, failed_secrets)
    if bearer:
        return _from_token(db, settings, bearer)
    raise Unauthorized("credentials required: an X-API-Key header or an Authorization: Bearer token")


def _backing_off(key_id: str, seconds: float) -> TooManyRequests:
    return TooManyRequests(
        f"too many failed secrets for API key {key_id!r}: retry in {max(1, round(seconds))} s",
        retry_after=seconds,
    )


def _from_api_key(db: Session, presented: str, failed_secrets: FailedSecrets | None = None) -> Principal:
    parsed = keys.parse(presented)
    if parsed is None:
        raise Unauthorized("malformed API key")
    if failed_secrets is not None and failed_secrets.locked_for(parsed.key_id) > 0:
        raise _backing_off(parsed.key_id, failed_secrets.failed(parsed.key_id))
    # The key names its tenant, so the lookup itself runs under that tenant's row-level security.
    set_scope(
        db, DbScope.for_platform() if parsed.tenant_id is None else DbScope.for_tenant(parsed.tenant_id)
    )
    # One round trip: the key and its tenant (the tenant row then sits in the session's identity map).
    found = db.execute(
        select(ApiKey, Tenant)
        .outerjoin(Tenant, Tenant.id == ApiKey.tenant_id)
        .where(ApiKey.id == parsed.key_id)
    ).one_or_none()
    row, tenant = (found[0], found[1]) if found is not None else (None, None)
    now = utcnow()
    if (
        row is None
        or row.tenant_id != parsed.tenant_id
        or not keys.matches(presented, row.secret_hash)
        or row.revoked_at is not None
        or (row.expires_at is not None and row.expires_at <= now)
    ):
        if failed_secrets is not None and (wait := failed_secrets.failed(parsed.key_id)) > 0:
            raise _backing_off(parsed.key_id, wait)
        raise Unauthorized("unknown, revoked or expired API key")
    if failed_secrets is not None:
        failed_secrets.succeeded(parsed.key_id)
    generation = row.token_generation or 0
    if row.tenant_id is None:
        if row.role != "platform_admin":
            raise Unauthorized("a platform key must have the platform_admin role")
        return Principal(
            subject=f"key:{row.id}",
            role=row.role,
            tenant_id=None,
            tenant_path=None,
            via="api_key",
            key_id=row.id,
            generation=generation,
        )
    if tenant is None:
        raise Unauthorized("the key's tenant no longer exists")
    db.info["principal_tenant"] = (
        tenant  # the identity map holds objects weakly; keep this one for the request
    )
    return Principal(
        subject=f"key:{row.id}",
        role=row.role,
        tenant_id=tenant.id,
        tenant_path=tenant.path,
        via="api_key",
        key_id=row.id,
        generation=generation,
    )


# --- the key behind a token: checked on every request, cached for at most token_check_cache_seconds -----


@dataclass(frozen=True)
class _KeyStatus:
    tenant_id: str | None
    live: bool  # not revoked
    expires_at: datetime | None
    generation: int


class _KeyStatusCache:
    """Key status per (database, key id) for a few seconds; revocations made in this process evict at once."""

    def __init__(self) -> None:
        self._entries: dict[tuple[str, str], tuple[float, _KeyStatus]] = {}
        self._lock = threading.Lock()

    def get(self, db_key: str, key_id: str, ttl: float) -> _KeyStatus | None:
        with self._lock:
            hit = self._entries.get((db_key, key_id))
        if hit is None or time.monotonic() - hit[0] > ttl:
            return None
        return hit[1]

    def put(self, db_key: str, key_id: str, status: _KeyStatus) -> None:
        with self._lock:
            if len(self._entries) > 50_000:
                self._entries.clear()
            self._entries[(db_key, key_id)] = (time.monotonic(), status)

    def evict(self, key_id: str) -> None:
        with self._lock:
            for entry in [e for e in self._entries if e[1] == key_id]:
                del self._entries[entry]


_key_status = _KeyStatusCache()


def _db_key(db: Session) -> str:
    return str(db.get_bind().engine.url)


def _check_token_key(db: Session, settings: ControlPlaneSettings, claims: tokens.TokenClaims) -> None:
    """Refuse a token whose API key is revoked, expired, of another tenant, or at a newer token generation."""
    key_id = claims.api_key_id
    assert key_id is not None
    status = _key_status.get(_db_key(db), key_id, settings.token_check_cache_seconds)
    if status is None:
        row = db.get(ApiKey, key_id)
        if row is None:
            raise Unauthorized(f"the token's API key {key_id!r} no longer exists")
        status = _KeyStatus(row.tenant_id, row.revoked_at is None, row.expires_at, row.token_generation or 0)
        _key_status.put(_db_key(db), key_id, status)
    if status.tenant_id != claims.tenant_id:
        raise Unauthorized("the token's API key belongs to another tenant")
    if not status.live or (status.expires_at is not None and status.expires_at <= utcnow()):
        raise Unauthorized(f"the token's API key {key_id!r} is revoked or expired")
    if claims.generation != status.generation:
        raise Unauthorized(f"the tokens of API key {key_id!r} were revoked; request a new token")


def _from_token(db: Session, settings: ControlPlaneSettings, token: str) -> Principal:
    try:
        claims = tokens.verify(settings, token)
    except tokens.TokenError as exc:
        raise Unauthorized(str(exc)) from None
    if claims.api_key_id is None and claims.subject.startswith("key:"):
        # Issued from a key before tokens carried the key claim: check that key too (generation 0).
        claims = replace(claims, api_key_id=claims.subject.removeprefix("key:"), generation=0)
    if claims.role not in ROLES:
        raise Unauthorized(f"token role {claims.role!r} is not a known role")
    if claims.role == "platform_admin" and claims.tenant_id is None:
        if claims.signing_key_id is not None:
            raise Unauthorized("a tenant signing key cannot sign platform tokens")
        set_scope(db, DbScope.for_platform())
        if claims.api_key_id is not None:
            _check_token_key(db, settings, claims)
        subject = claims.subject if claims.subject.startswith("key:") else f"user:{claims.subject}"
        return Principal(
            subject=subject,
            role=claims.role,
            tenant_id=None,
            tenant_path=None,
            via="jwt",
            key_id=claims.api_key_id,
            generation=claims.generation,
        )
    if claims.tenant_id is None or claims.role == "platform_admin":
        raise Unauthorized(
            f"a {claims.role} token must carry a {settings.tenant_claim!r} claim"
            if claims.tenant_id is None
            else "a platform_admin token cannot be tenant-scoped"
        )
    from lakehouse.tenancy import validate_tenant_id

    try:
        validate_tenant_id(claims.tenant_id)
    except ValueError as exc:
        raise Unauthorized(str(exc)) from None
    set_scope(db, DbScope.for_tenant(claims.tenant_id))
    tenant = db.get(Tenant, claims.tenant_id)
    if tenant is None:
        raise Unauthorized(f"unknown tenant {claims.tenant_id!r}")
    db.info["principal_tenant"] = tenant
    if claims.signing_key_id is not None:
        key = db.get(SigningKey, claims.signing_key_id)
        if key is None or key.tenant_id != tenant.id or key.status != "active":
            raise Unauthorized("the token's signing key is retired or unknown")
    if claims.api_key_id is not None:
        _check_token_key(db, settings, claims)
    user = db.get(User, (tenant.id, claims.subject))
    if user is not None and user.status != "active":
        raise Unauthorized(f"user {claims.subject!r} is disabled")
    subject = claims.subject if ":" in claims.subject else f"user:{claims.subject}"
    return Principal(
        subject=subject,
        role=claims.role,
        tenant_id=tenant.id,
        tenant_path=tenant.path,
        via="jwt",
        key_id=claims.api_key_id,
        generation=claims.generation,
    )


# --- users -----------------------------------------------------------------------------------------------


def user_state(user: User) -> dict[str, Any]:
    return {
        "tenant_id": user.tenant_id,
        "id": user.id,
        "email": user.email,
        "display_name": user.display_name,
        "role": user.role,
        "status": user.status,
    }


def list_users(db: Session, tenant: Tenant, *, limit: int = 100, offset: int = 0) -> list[User]:
    """One page of the tenant's users, by id."""
    query = select(User).where(User.tenant_id == tenant.id).order_by(User.id)
    return list(db.execute(query.limit(limit).offset(offset)).scalars())


def get_user(db: Session, tenant: Tenant, user_id: str) -> User:
    user = db.get(User, (tenant.id, user_id))
    if user is None:
        raise NotFound(f"user {user_id!r} not found in tenant {tenant.id!r}")
    return user


def put_user(
    db: Session, ctx: RequestContext, tenant: Tenant, user_id: str, spec: dict[str, Any]
) -> tuple[User, bool]:
    """Create or update a user; granting a role is checked by the PDP. Returns (user, created)."""
    action = "users:disable" if spec["status"] == "disabled" else "users:write"
    require(
        ctx.principal,
        action,
        tenant_resource(tenant.id, tenant.path, type_="user", id_=user_id, role=spec["role"]),
        environment=ctx.environment,
        reason=ctx.reason,
        request_id=ctx.request_id,
    )
    user = db.get(User, (tenant.id, user_id))
    now = utcnow()
    if user is None:
        user = User(tenant_id=tenant.id, id=user_id, created_at=now, updated_at=now, **spec)
        db.add(user)
        db.flush()
        audit_record(
            db,
            actor=ctx.principal.actor,
            action="user.create",
            tenant_id=tenant.id,
            resource=f"tenant/{tenant.id}/user/{user_id}",
            reason=ctx.reason,
            request_id=ctx.request_id,
            after=user_state(user),
        )
        db.commit()
        return user, True
    before = user_state(user)
    if all(before[k] == v for k, v in spec.items()):
        return user, False
    for k, v in spec.items():
        setattr(user, k, v)
    user.updated_at = now
    audit_record(
        db,
        actor=ctx.principal.actor,
        action="user.update",
        tenant_id=tenant.id,
        resource=f"tenant/{tenant.id}/user/{user_id}",
        reason=ctx.reason,
        request_id=ctx.request_id,
        before=before,
        after=user_state(user),
    )
    db.commit()
    return user, False


# --- API keys --------------------------------------------------------------------------------------------


def key_state(key: ApiKey) -> dict[str, Any]:
    return {
        "id": key.id,
        "tenant_id": key.tenant_id,
        "name": key.name,
        "role": key.role,
        "expires_at": key.expires_at,
        "revoked_at": key.revoked_at,
        "replaced_by": key.replaced_by,
        "token_generation": key.token_generation,
    }


def list_keys(db: Session, tenant: Tenant, *, limit: int = 100, offset: int = 0) -> list[ApiKey]:
    """One page of the tenant's keys, oldest first."""
    query = select(ApiKey).where(ApiKey.tenant_id == tenant.id).order_by(ApiKey.created_at, ApiKey.id)
    return list(db.execute(query.limit(limit).offset(offset)).scalars())


def _get_key(db: Session, tenant: Tenant, key_id: str) -> ApiKey:
    key = db.get(ApiKey, key_id)
    if key is None or key.tenant_id != tenant.id:
        raise NotFound(f"API key {key_id!r} not found in tenant {tenant.id!r}")
    return key


def create_key(
    db: Session,
    ctx: RequestContext,
    tenant: Tenant,
    *,
    name: str,
    role: str,
    expires_in_days: int | None,
    action: str = "keys:create",
) -> tuple[ApiKey, str]:
    """A new key scoped to ``tenant`` and ``role``; returns the row and the plaintext (shown once)."""
    require(
        ctx.principal,
        action,
        tenant_resource(tenant.id, tenant.path, type_="api_key", role=role),
        environment=ctx.environment,
        reason=ctx.reason,
        request_id=ctx.request_id,
    )
    key_id, plaintext, secret_hash = keys.generate(tenant.id)
    now = utcnow()
    key = ApiKey(
        id=key_id,
        tenant_id=tenant.id,
        name=name,
        role=role,
        secret_hash=secret_hash,
        created_at=now,
        created_by=ctx.principal.subject,
        expires_at=now + timedelta(days=expires_in_days) if expires_in_days else None,
    )
    db.add(key)
    db.flush()
    audit_record(
        db,
        actor=ctx.principal.actor,
        action="api_key.create",
        tenant_id=tenant.id,
        resource=f"tenant/{tenant.id}/api-key/{key_id}",
        reason=ctx.reason,
        request_id=ctx.request_id,
        after=key_state(key),
    )
    return key, plaintext


def create_key_committed(
    db: Session, ctx: RequestContext, tenant: Tenant, **kwargs: Any
) -> tuple[ApiKey, str]:
    key, plaintext = create_key(db, ctx, tenant, **kwargs)
    db.commit()
    return key, plaintext


def rotate_key(db: Session, ctx: RequestContext, tenant: Tenant, key_id: str) -> tuple[ApiKey, str]:
    """Replace a key by a new one with the same name and role; the old one is revoked at once."""
    old = _get_key(db, tenant, key_id)
    if old.revoked_at is not None:
        raise Conflict(f"API key {key_id!r} is revoked; create a new key instead")
    expires_in = None
    if old.expires_at is not None:
        expires_in = max(1, (old.expires_at - old.created_at).days)
    new, plaintext = create_key(
        db, ctx, tenant, name=old.name, role=old.role, expires_in_days=expires_in, action="keys:rotate"
    )
    before = key_state(old)
    old.revoked_at, old.revoked_reason, old.replaced_by = utcnow(), f"rotated: {ctx.reason}", new.id
    _key_status.evict(key_id)
    audit_record(
        db,
        actor=ctx.principal.actor,
        action="api_key.rotate",
        tenant_id=tenant.id,
        resource=f"tenant/{tenant.id}/api-key/{key_id}",
        reason=ctx.reason,
        request_id=ctx.request_id,
        before=before,
        after=key_state(old),
    )
    db.commit()
    _key_status.evict(key_id)
    return new, plaintext


def revoke_key(db: Session, ctx: RequestContext, tenant: Tenant, key_id: str) -> ApiKey:
    """Revoke a key (idempotent: revoking a revoked key changes nothing)."""
    key = _get_key(db, tenant, key_id)
    require(
        ctx.principal,
        "keys:revoke",
        tenant_resource(tenant.id, tenant.path, type_="api_key", id_=key_id),
        environment=ctx.environment,
        reason=ctx.reason,
        request_id=ctx.request_id,
    )
    if key.revoked_at is not None:
        return key
    before = key_state(key)
    key.revoked_at, key.revoked_reason = utcnow(), ctx.reason
    _key_status.evict(key_id)
    audit_record(
        db,
        actor=ctx.principal.actor,
        action="api_key.revoke",
        tenant_id=tenant.id,
        resource=f"tenant/{tenant.id}/api-key/{key_id}",
        reason=ctx.reason,
        request_id=ctx.request_id,
        before=before,
        after=key_state(key),
    )
    db.commit()
    _key_status.evict(key_id)  # again: a concurrent request may have cached the old status meanwhile
    return key


def revoke_key_tokens(db: Session, ctx: RequestContext, tenant: Tenant, key_id: str) -> ApiKey:
    """End every token issued from a key (the key itself keeps working): its token generation goes up."""
    key = _get_key(db, tenant, key_id)
    require(
        ctx.principal,
        "keys:revoke",
        tenant_resource(tenant.id, tenant.path, type_="api_key", id_=key_id),
        environment=ctx.environment,
        reason=ctx.reason,
        request_id=ctx.request_id,
    )
    return _bump_generation(db, ctx, key, tenant.id, f"tenant/{tenant.id}/api-key/{key_id}")


def _bump_generation(
    db: Session, ctx: RequestContext, key: ApiKey, tenant_id: str | None, resource: str
) -> ApiKey:
    before = key_state(key)
    key.token_generation = (key.token_generation or 0) + 1
    _key_status.evict(key.id)
    audit_record(
        db,
        actor=ctx.principal.actor,
        action="api_key.revoke_tokens",
        tenant_id=tenant_id,
        resource=resource,
        reason=ctx.reason,
        request_id=ctx.request_id,
        before=before,
        after=key_state(key),
    )
    db.commit()
    _key_status.evict(key.id)  # again: a concurrent request may have cached the old status meanwhile
    return key


# --- platform keys (tenant_id NULL; only platform admins reach these flows) -------------------------------


def list_platform_keys(db: Session, *, limit: int = 100, offset: int = 0) -> list[ApiKey]:
    """One page of the platform keys (metadata only), oldest first."""
    query = select(ApiKey).where(ApiKey.tenant_id.is_(None)).order_by(ApiKey.created_at, ApiKey.id)
    return list(db.execute(query.limit(limit).offset(offset)).scalars())


def _get_platform_key(db: Session, key_id: str) -> ApiKey:
    key = db.get(ApiKey, key_id)
    if key is None or key.tenant_id is not None:
        raise NotFound(f"platform API key {key_id!r} not found")
    return key


def revoke_platform_key(db: Session, ctx: RequestContext, key_id: str) -> ApiKey:
    """Revoke a platform key (idempotent); its tokens end with it."""
    key = _get_platform_key(db, key_id)
    if key.revoked_at is not None:
        return key
    before = key_state(key)
    key.revoked_at, key.revoked_reason = utcnow(), ctx.reason
    _key_status.evict(key_id)
    audit_record(
        db,
        actor=ctx.principal.actor,
        action="api_key.revoke",
        tenant_id=None,
        resource=f"platform/api-key/{key_id}",
        reason=ctx.reason,
        request_id=ctx.request_id,
        before=before,
        after=key_state(key),
    )
    db.commit()
    _key_status.evict(key_id)
    return key


def revoke_platform_key_tokens(db: Session, ctx: RequestContext, key_id: str) -> ApiKey:
    """End every token issued from a platform key (the key keeps working)."""
    key = _get_platform_key(db, key_id)
    return _bump_generation(db, ctx, key, None, f"platform/api-key/{key_id}")


def revoke_own_tokens(db: Session, ctx: RequestContext) -> ApiKey:
    """End every token issued from the caller's own key (what "sign out everywhere" does)."""
    key_id = ctx.principal.key_id
    if key_id is None:
        raise Conflict("these credentials come from no API key; disable the user to end its tokens")
    key = db.get(ApiKey, key_id)
    if key is None:
        raise NotFound(f"API key {key_id!r} not found")
    resource = (
        f"platform/api-key/{key_id}" if key.tenant_id is None else f"tenant/{key.tenant_id}/api-key/{key_id}"
    )
    return _bump_generation(db, ctx, key, key.tenant_id, resource)


# --- tokens ----------------------------------------------------------------------------------------------


def issue_token(
    db: Session, settings: ControlPlaneSettings, principal: Principal, ttl_seconds: int | None
) -> tuple[str, int]:
    """A short-lived JWT for the caller, signed with its tenant's signing key (platform secret for admins)."""
    if principal.is_platform:
        return tokens.issue(
            settings,
            subject=principal.subject,
            tenant_id=None,
            role=principal.role,
            signing_key_id=None,
            ttl_seconds=ttl_seconds,
            api_key_id=principal.key_id,
            generation=principal.generation,
        )
    key = (
        db.execute(
            select(SigningKey).where(
                SigningKey.tenant_id == principal.tenant_id, SigningKey.status == "active"
            )
        )
        .scalars()
        .first()
    )
    if key is None:
        raise Conflict(f"tenant {principal.tenant_id!r} has no active signing key; re-run its provisioning")
    subject = (
        principal.subject.split(":", 1)[1] if principal.subject.startswith("user:") else principal.subject
    )
    return tokens.issue(
        settings,
        subject=subject,
        tenant_id=principal.tenant_id,
        role=principal.role,
        signing_key_id=key.id,
        ttl_seconds=ttl_seconds,
        api_key_id=principal.key_id,
        generation=principal.generation,
    )
