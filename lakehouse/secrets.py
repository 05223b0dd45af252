"""Secrets: the production secret policy and an AWS Secrets Manager reader with a rotation-aware TTL cache.

Both the spine settings (PII secret) and the control-plane settings (JWT secret, bootstrap admin key) judge
their secrets with ``check_production_secret``, so one policy decides what "strong enough" means.
"""

from __future__ import annotations

import math
import re
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

# Values published in this repository, its docs or its tests: never acceptable in production.
KNOWN_DEVELOPMENT_SECRETS = frozenset(
    {
        "lakehouse-development-pii-secret-do-not-use-in-production",
        "bench-pii-secret-0123456789abcdef",
        "test-secret-" + "x" * 40,
        "changeme",
        "change-me",
        "changethis",
        "secret",
        "password",
        "dev",
        "development",
        "test",
    }
)
MIN_SECRET_LENGTH = 32
# Estimated from the secret's own character frequencies: 32 random hex characters score about 120.
MIN_SECRET_ENTROPY_BITS = 96.0
_REPEATED_UNIT = re.compile(r"(.{1,8}?)\1+", re.DOTALL)


class WeakSecret(ValueError):
    """A secret does not meet the production secret policy; the message names the secret and the reason."""


def estimated_entropy_bits(value: str) -> float:
    """Length times the Shannon entropy of the secret's own character distribution, in bits.

    A rough upper bound (it cannot see structure beyond character frequencies), good enough to reject
    low-variety secrets; random secrets of the required length clear it with room to spare. Hand-written
    because password-strength libraries (zxcvbn & co.) model human passwords, not machine-generated keys.
    """
    if not value:
        return 0.0
    counts = Counter(value)
    n = len(value)
    per_char = -sum(c / n * math.log2(c / n) for c in counts.values())
    return per_char * n


def secret_problem(value: str) -> str | None:
    """Why ``value`` is not an acceptable production secret, or None when it is."""
    if value.strip().lower() in KNOWN_DEVELOPMENT_SECRETS or value in KNOWN_DEVELOPMENT_SECRETS:
        return "it is a published development or placeholder value"
    if len(value) < MIN_SECRET_LENGTH:
        return f"it has {len(value)} characters, fewer than {MIN_SECRET_LENGTH}"
    if _REPEATED_UNIT.fullmatch(value):
        return "it is one short sequence of characters repeated"
    bits = estimated_entropy_bits(value)
    if bits < MIN_SECRET_ENTROPY_BITS:
        return f"its estimated entropy is {bits:.0f} bits, below {MIN_SECRET_ENTROPY_BITS:.0f}"
    return None


def check_production_secret(name: str, value: str) -> str:
    """Return ``value`` if it meets the production policy; else raise ``WeakSecret`` naming ``name`` and why."""
    problem = secret_problem(value)
    if problem is not None:
        raise WeakSecret(
            f"{name} is not acceptable in production: {problem}; "
            "generate one with `python -c 'import secrets; print(secrets.token_urlsafe(48))'`"
        )
    return value


# ------------------------------------------------------------------------------------------ Secrets Manager


@dataclass(frozen=True)
class SecretVersion:
    """One version of a secret: its value, version id and when it was created."""

    value: str
    version_id: str
    created_at: datetime


def region_of_arn(arn: str) -> str:
    """The AWS region named in a Secrets Manager ARN (``arn:aws:secretsmanager:<region>:<account>:secret:…``)."""
    parts = arn.split(":")
    if len(parts) < 7 or parts[0] != "arn" or parts[2] != "secretsmanager" or not parts[3]:
        raise ValueError(f"not a Secrets Manager secret ARN: {arn!r}")
    return parts[3]


class SecretsManagerSource:
    """Reads secret versions from AWS Secrets Manager through a TTL cache, so a rotated secret is picked up.

    ``client`` defaults to a boto3 client for the ARN's region (standard AWS configuration applies). The
    cache holds each (ARN, stage) for ``ttl_seconds``; ``clock`` is injectable for tests.
    """

    def __init__(
        self,
        *,
        client: Any = None,
        ttl_seconds: float = 300.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._client = client
        self._clients: dict[str, Any] = {}
        self.ttl_seconds = ttl_seconds
        self._clock = clock
        self._cache: dict[tuple[str, str], tuple[float, SecretVersion | None]] = {}
        self._lock = threading.Lock()

    def _client_for(self, arn: str) -> Any:
        if self._client is not None:
            return self._client
        region = region_of_arn(arn)
        if region not in self._clients:
            import boto3

            self._clients[region] = boto3.client("secretsmanager", region_name=region)
        return self._clients[region]

    def version(self, arn: str, stage: str = "AWSCURRENT") -> SecretVersion | None:
        """The secret's version at ``stage`` (None when no version has that stage), cached for the TTL."""
        key = (arn, stage)
        now = self._clock()
        with self._lock:
            cached = self._cache.get(key)
            if cached is not None and now - cached[0] < self.ttl_seconds:
                return cached[1]
        found = self._fetch(arn, stage)
        with self._lock:
            self._cache[key] = (now, found)
        return found

    def _fetch(self, arn: str, stage: str) -> SecretVersion | None:
        client = self._client_for(arn)
        try:
            resp = client.get_secret_value(SecretId=arn, VersionStage=stage)
        except client.exceptions.ResourceNotFoundException:
            if stage == "AWSCURRENT":
                raise LookupError(f"secret {arn} does not exist or has no current version") from None
            return None
        value = resp.get("SecretString")
        if value is None:
            binary = resp.get("SecretBinary")
            value = binary.decode("utf-8") if isinstance(binary, bytes | bytearray) else None
        if value is None:
            raise LookupError(f"secret {arn} ({stage}) has neither SecretString nor UTF-8 SecretBinary")
        created = resp.get("CreatedDate")
        if not isinstance(created, datetime):
            created = datetime.now(UTC)
        return SecretVersion(value=value, version_id=str(resp.get("VersionId", "")), created_at=created)

    def current(self, arn: str) -> str:
        """The secret's current value (``AWSCURRENT``)."""
        version = self.version(arn, "AWSCURRENT")
        assert version is not None  # _fetch raises for a missing current version
        return version.value

    def current_and_previous(
        self, arn: str, *, rotation_window_seconds: float, now: datetime | None = None
    ) -> list[str]:
        """The current value, then ``AWSPREVIOUS`` while the current version is younger than the window.

        Verifiers accept both during a rotation window so credentials signed just before a rotation stay
        valid until they expire; after the window only the current value counts.
        """
        current = self.version(arn, "AWSCURRENT")
        assert current is not None
        values = [current.value]
        now = now or datetime.now(UTC)
        created = current.created_at if current.created_at.tzinfo else current.created_at.replace(tzinfo=UTC)
        if (now - created).total_seconds() < rotation_window_seconds:
            previous = self.version(arn, "AWSPREVIOUS")
            if previous is not None and previous.value != current.value:
                values.append(previous.value)
        return values

    def clear(self) -> None:
        """Forget every cached value and client (the next read goes to Secrets Manager)."""
        with self._lock:
            self._cache.clear()
            self._clients.clear()


_default_source: SecretsManagerSource | None = None
_default_lock = threading.Lock()


def default_source() -> SecretsManagerSource:
    """The process-wide Secrets Manager source (one cache per process)."""
    global _default_source
    with _default_lock:
        if _default_source is None:
            _default_source = SecretsManagerSource()
        return _default_source
