"""Caller identity for the sandbox: SigV4 signature verification against the sandbox's own credential store.

The access key id in the ``Authorization`` header names the caller; the signature is recomputed with that key's
secret so a client signing with the wrong secret (or an expired / unknown session) is refused as AWS would.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import quote

_AUTH = re.compile(
    r"AWS4-HMAC-SHA256\s+Credential=(?P<akid>[^/]+)/(?P<date>\d{8})/(?P<region>[^/]+)/(?P<service>[^/]+)/aws4_request,"
    r"\s*SignedHeaders=(?P<signed>[^,]+),\s*Signature=(?P<sig>[0-9a-f]{64})"
)


class AuthError(Exception):
    """A request whose caller could not be authenticated; ``code``/``status`` are what AWS answers."""

    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.code, self.message, self.status = code, message, status


@dataclass(frozen=True)
class SignedRequest:
    """The parts of an incoming request that SigV4 covers."""

    method: str
    path: str
    query: str
    headers: Mapping[str, str]  # case-insensitive mapping (http.server's message)
    body: bytes


def access_key_of(headers: Mapping[str, str]) -> tuple[str, str]:
    """The access key id and signing service named by the ``Authorization`` header."""
    header = headers.get("Authorization")
    if not header:
        raise AuthError("MissingAuthenticationTokenException", "Missing Authentication Token", 403)
    match = _AUTH.match(header)
    if not match:
        raise AuthError(
            "IncompleteSignatureException", "The Authorization header is not a valid SigV4 header"
        )
    return match["akid"], match["service"]


def verify(request: SignedRequest, secret: str) -> None:
    """Raise ``AuthError`` unless the request was signed with ``secret``."""
    header = request.headers.get("Authorization") or ""
    match = _AUTH.match(header)
    if not match:
        raise AuthError(
            "IncompleteSignatureException", "The Authorization header is not a valid SigV4 header"
        )
    amz_date = request.headers.get("X-Amz-Date")
    if not amz_date:
        raise AuthError("IncompleteSignatureException", "X-Amz-Date header is missing")
    signed = match["signed"].split(";")
    canonical_headers = "".join(f"{h}:{' '.join((request.headers.get(h) or '').split())}\n" for h in signed)
    payload_hash = request.headers.get("X-Amz-Content-SHA256") or hashlib.sha256(request.body).hexdigest()
    query = "&".join(sorted(request.query.split("&"))) if request.query else ""
    canonical = "\n".join(
        [
            request.method,
            quote(request.path or "/", safe="/~"),
            query,
            canonical_headers,
            match["signed"],
            payload_hash,
        ]
    )
    scope = f"{match['date']}/{match['region']}/{match['service']}/aws4_request"
    to_sign = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(canonical.encode()).hexdigest()])
    key = ("AWS4" + secret).encode()
    for part in (match["date"], match["region"], match["service"], "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    expected = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, match["sig"]):
        raise AuthError(
            "InvalidSignatureException",
            "The request signature we calculated does not match the signature you provided. "
            "Check your AWS Secret Access Key and signing method.",
        )
