"""JWT bearer tokens: HS256 platform tokens, HS256 tokens signed with a tenant's signing key, and OIDC (JWKS).

A tenant signing key's secret is ``HMAC-SHA256(platform secret, key id)``: nothing secret is stored, and
retiring the key row invalidates every token signed with it. Tenant tokens carry ``kid = t.<tenant>.<key id>``.

Tokens issued by the API also carry the API key they were exchanged for (``lh_key``) and that key's token
generation (``lh_gen``): every request re-checks that the key is live and still at that generation, so revoking
or rotating the key, or revoking its tokens, ends them at once.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import jwt
from jwt.types import Options

from control_plane.settings import ControlPlaneSettings

TENANT_KID_PREFIX = "t."
KEY_CLAIM = "lh_key"
GENERATION_CLAIM = "lh_gen"


@dataclass(frozen=True)
class TokenClaims:
    """What a verified token says about its bearer."""

    subject: str
    tenant_id: str | None
    role: str
    signing_key_id: str | None  # set for tokens signed with a tenant key (must still be active)
    api_key_id: str | None = None  # the API key the token was exchanged for (must still be live)
    generation: int = 0  # that key's token generation at issue time


class TokenError(Exception):
    """The token is malformed, expired, of the wrong issuer/audience, or badly signed."""


def tenant_secret(settings: ControlPlaneSettings, key_id: str, master_secret: str | None = None) -> bytes:
    """The HS256 secret of a tenant signing key (under the current platform secret unless one is given)."""
    master = (master_secret or settings.jwt_secrets()[0]).encode()
    return hmac.new(master, f"signing-key:{key_id}".encode(), hashlib.sha256).digest()


def issue(
    settings: ControlPlaneSettings,
    *,
    subject: str,
    tenant_id: str | None,
    role: str,
    signing_key_id: str | None,
    ttl_seconds: int | None = None,
    api_key_id: str | None = None,
    generation: int = 0,
) -> tuple[str, int]:
    """A signed token and its lifetime in seconds (tenant key when given, else the platform secret)."""
    ttl = ttl_seconds or settings.jwt_ttl_seconds
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
        "sub": subject,
        "iat": now,
        "nbf": now,
        "exp": now + ttl,
        settings.role_claim: role,
    }
    if tenant_id is not None:
        claims[settings.tenant_claim] = tenant_id
    if api_key_id is not None:
        claims[KEY_CLAIM] = api_key_id
        claims[GENERATION_CLAIM] = generation
    if signing_key_id is not None:
        kid = f"{TENANT_KID_PREFIX}{tenant_id}.{signing_key_id}"
        key: bytes | str = tenant_secret(settings, signing_key_id)
    else:
        kid = "platform"
        key = settings.jwt_secrets()[0]
    return jwt.encode(claims, key, algorithm="HS256", headers={"kid": kid}), ttl


@lru_cache(maxsize=8)
def _jwks_client(url: str) -> jwt.PyJWKClient:
    return jwt.PyJWKClient(url, cache_keys=True, lifespan=300)


def verify(settings: ControlPlaneSettings, token: str) -> TokenClaims:
    """Verify signature, expiry, issuer and audience; return the claims that matter."""
    try:
        header = jwt.get_unverified_header(token)
        unverified = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError as exc:
        raise TokenError(f"malformed token: {exc}") from None
    kid = header.get("kid")
    issuer = unverified.get("iss")
    options: Options = {"require": ["exp", "iss", "sub"]}
    signing_key_id: str | None = None
    try:
        if settings.oidc_issuer and issuer == settings.oidc_issuer:
            assert settings.oidc_jwks_url is not None  # the settings require issuer and JWKS URL together
            key: Any = _jwks_client(settings.oidc_jwks_url).get_signing_key_from_jwt(token).key
            claims = jwt.decode(
                token,
                key,
                algorithms=["RS256", "ES256", "PS256"],
                issuer=settings.oidc_issuer,
                audience=settings.oidc_audience,
                options={"require": options["require"], "verify_aud": bool(settings.oidc_audience)},
            )
        else:
            if isinstance(kid, str) and kid.startswith(TENANT_KID_PREFIX):
                kid_tenant, _, signing_key_id = kid[len(TENANT_KID_PREFIX) :].rpartition(".")
                if not signing_key_id or kid_tenant != unverified.get(settings.tenant_claim):
                    raise TokenError("token kid does not match its tenant claim")
            # The current platform secret first; during a rotation window also the previous one.
            masters = settings.jwt_secrets()
            for i, master in enumerate(masters):
                key = tenant_secret(settings, signing_key_id, master) if signing_key_id else master
                try:
                    claims = jwt.decode(
                        token,
                        key,
                        algorithms=["HS256"],
                        issuer=settings.jwt_issuer,
                        audience=settings.jwt_audience,
                        options=options,
                    )
                    break
                except jwt.InvalidSignatureError:
                    if i == len(masters) - 1:
                        raise
    except jwt.PyJWTError as exc:
        raise TokenError(f"invalid token: {exc}") from None
    role = claims.get(settings.role_claim)
    tenant = claims.get(settings.tenant_claim)
    if not isinstance(role, str) or (tenant is not None and not isinstance(tenant, str)):
        raise TokenError(f"token lacks a string {settings.role_claim!r} claim")
    api_key_id = claims.get(KEY_CLAIM)
    generation = claims.get(GENERATION_CLAIM, 0)
    if api_key_id is not None and (
        not isinstance(api_key_id, str) or not isinstance(generation, int) or isinstance(generation, bool)
    ):
        raise TokenError(f"token's {KEY_CLAIM!r}/{GENERATION_CLAIM!r} claims must be a string and an integer")
    return TokenClaims(
        subject=str(claims["sub"]),
        tenant_id=tenant,
        role=role,
        signing_key_id=signing_key_id,
        api_key_id=api_key_id,
        generation=generation,
    )
