"""The audit chain's HMAC key: held outside the database, loaded by one function (so it can be routed through
a secret store without touching the chain code).

Order: ``LAKEHOUSE_AUDIT_HMAC_KEY``; else the Secrets Manager secret named by
``LAKEHOUSE_AUDIT_HMAC_KEY_SECRET_ARN``; else, outside production only, a random key kept in
``{lake_root}/.audit_hmac_key`` (mode 0600, created on first use). Production refuses to start without one.
"""

from __future__ import annotations

import os
import secrets
import threading
from pathlib import Path

from control_plane.settings import ControlPlaneSettings

MIN_KEY_BYTES = 32
_lock = threading.Lock()
_current: bytes | None = None


class AuditKeyError(RuntimeError):
    """No usable audit HMAC key: what is missing and how to provide it."""


def load_audit_hmac_key(settings: ControlPlaneSettings) -> bytes:
    """The HMAC key of the audit chain from the settings, Secrets Manager, or (dev/test) a local key file."""
    if settings.audit_hmac_key is not None:
        key = settings.audit_hmac_key.get_secret_value().encode()
    elif settings.audit_hmac_key_secret_arn:
        import boto3

        client = boto3.client("secretsmanager")
        key = client.get_secret_value(SecretId=settings.audit_hmac_key_secret_arn)["SecretString"].encode()
    elif settings.environment == "production":
        raise AuditKeyError(
            "no audit HMAC key: set LAKEHOUSE_AUDIT_HMAC_KEY or LAKEHOUSE_AUDIT_HMAC_KEY_SECRET_ARN in production"
        )
    else:
        key = _local_key_file(Path(settings.lake_root or "./.lake") / ".audit_hmac_key")
    if len(key) < MIN_KEY_BYTES:
        raise AuditKeyError(f"the audit HMAC key must be at least {MIN_KEY_BYTES} bytes (got {len(key)})")
    return key


def _local_key_file(path: Path) -> bytes:
    if path.exists():
        return path.read_bytes().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48).encode()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(key)
    return key


def configure(key: bytes) -> None:
    """Make ``key`` the process's audit key (the app does this at startup; one key per process)."""
    global _current
    with _lock:
        _current = key


def current_key() -> bytes:
    """The process's audit key, loaded from the environment's settings on first use when not configured."""
    global _current
    with _lock:
        if _current is None:
            _current = load_audit_hmac_key(ControlPlaneSettings())  # from the environment
        return _current
