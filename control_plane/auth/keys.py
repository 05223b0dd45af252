"""API key format and hashing: ``lh.<tenant id or _platform>.<key id>.<secret>``; only SHA-256 is stored."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from control_plane.db import new_id

PLATFORM = "_platform"
PREFIX = "lh"


@dataclass(frozen=True)
class ParsedKey:
    """The public parts of a presented key; ``tenant_id`` is None for a platform key."""

    tenant_id: str | None
    key_id: str
    plaintext: str


def hash_key(plaintext: str) -> str:
    """SHA-256 (hex) of the whole key; keys carry 256 random bits, so a slow hash adds nothing."""
    return hashlib.sha256(plaintext.encode()).hexdigest()


def generate(tenant_id: str | None) -> tuple[str, str, str]:
    """A new key: ``(key_id, plaintext, hash)``. The plaintext is shown once and never stored."""
    key_id = new_id("k", 8)
    plaintext = f"{PREFIX}.{tenant_id or PLATFORM}.{key_id}.{secrets.token_urlsafe(32)}"
    return key_id, plaintext, hash_key(plaintext)


def parse(plaintext: str) -> ParsedKey | None:
    """Split a presented key, or None when it is not in the key format."""
    parts = plaintext.split(".")
    if len(parts) != 4 or parts[0] != PREFIX or not all(parts):
        return None
    scope, key_id = parts[1], parts[2]
    if len(key_id) > 32:
        return None
    if scope == PLATFORM:
        return ParsedKey(None, key_id, plaintext)
    from lakehouse.tenancy import validate_tenant_id

    try:
        validate_tenant_id(scope)
    except ValueError:
        return None
    return ParsedKey(scope, key_id, plaintext)


def matches(plaintext: str, stored_hash: str) -> bool:
    """Constant-time comparison of a presented key with a stored hash."""
    return hmac.compare_digest(hash_key(plaintext), stored_hash)
