"""SigV4 verification for every emulator: the access key names the caller, the signature proves the secret.

The canonical request is rebuilt from what arrived (method, path, the query re-encoded the way SigV4 requires,
the signed headers, the body's SHA-256), signed with the caller's secret and compared with the client's
signature. It is computed here rather than with botocore's signer on purpose: the clients under test sign with
botocore, and a check that reuses the signer would agree with any mistake it made.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Collection
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import parse_qsl, quote

_AUTH = re.compile(
    r"AWS4-HMAC-SHA256\s+Credential=(?P<akid>[^/]+)/(?P<date>\d{8})/(?P<region>[^/]+)/(?P<service>[^/]+)/aws4_request,"
    r"\s*SignedHeaders=(?P<signed>[^,]+),\s*Signature=(?P<sig>[0-9a-f]{64})"
)
_INVALID_SIGNATURE = (
    "The request signature we calculated does not match the signature you provided. "
    "Check your AWS Secret Access Key and signing method."
)


class Headers(Protocol):
    """Request headers looked up case-insensitively (``http.server``'s ``Message`` is one)."""

    def get(self, name: str, /) -> str | None: ...


class AuthError(Exception):
    """A request whose caller could not be authenticated; ``code`` and ``status`` are what AWS answers."""

    def __init__(self, code: str, message: str, status: int = 403) -> None:
        super().__init__(message)
        self.code, self.message, self.status = code, message, status


@dataclass
class SigningAccount:
    """An AWS account of an emulator: its id and the long-term key pair its callers sign requests with."""

    account_id: str
    access_key_id: str
    secret_access_key: str

    def credentials(self) -> dict[str, str]:
        """What a boto3 client needs to act as this account."""
        return {
            "account_id": self.account_id,
            "aws_access_key_id": self.access_key_id,
            "aws_secret_access_key": self.secret_access_key,
        }


@dataclass(frozen=True)
class SignedRequest:
    """The parts of an incoming request that SigV4 covers."""

    method: str
    path: str
    query: str
    headers: Headers
    body: bytes


def _parse(headers: Headers) -> re.Match[str]:
    header = headers.get("Authorization")
    if not header:
        raise AuthError("MissingAuthenticationTokenException", "Missing Authentication Token")
    match = _AUTH.match(header)
    if not match:
        raise AuthError(
            "IncompleteSignatureException", "The Authorization header is not a valid SigV4 header", 400
        )
    return match


def access_key(headers: Headers, services: Collection[str] | None = None) -> str:
    """The access key id of a SigV4 ``Authorization`` header, whose scope must name one of ``services``."""
    match = _parse(headers)
    if services is not None and match["service"] not in services:
        raise AuthError(
            "InvalidSignatureException",
            f"Credential should be scoped to correct service: '{' or '.join(sorted(services))}'",
        )
    return match["akid"]


def _canonical_query(query: str) -> str:
    pairs = [
        (quote(k, safe="-_.~"), quote(v, safe="-_.~")) for k, v in parse_qsl(query, keep_blank_values=True)
    ]
    return "&".join(f"{k}={v}" for k, v in sorted(pairs))


def verify(request: SignedRequest, secret: str) -> None:
    """Raise ``AuthError`` unless ``request`` was signed with ``secret``."""
    match = _parse(request.headers)
    amz_date = request.headers.get("X-Amz-Date")
    if not amz_date:
        raise AuthError("IncompleteSignatureException", "X-Amz-Date header is missing", 400)
    signed = match["signed"].split(";")
    canonical_headers = "".join(f"{h}:{' '.join((request.headers.get(h) or '').split())}\n" for h in signed)
    canonical = "\n".join(
        [
            request.method,
            quote(request.path or "/", safe="/~"),
            _canonical_query(request.query),
            canonical_headers,
            match["signed"],
            hashlib.sha256(request.body).hexdigest(),
        ]
    )
    scope = f"{match['date']}/{match['region']}/{match['service']}/aws4_request"
    to_sign = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(canonical.encode()).hexdigest()])
    key = ("AWS4" + secret).encode()
    for part in (match["date"], match["region"], match["service"], "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    expected = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, match["sig"]):
        raise AuthError("InvalidSignatureException", _INVALID_SIGNATURE)
