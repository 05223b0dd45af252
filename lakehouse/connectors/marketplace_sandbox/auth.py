"""SigV4 verification for the sandbox: the access key names the seller, the signature proves the secret.

The canonical request is rebuilt from what arrived (method, path, query re-encoded the way SigV4 requires, the
signed headers, the body's SHA-256), signed with the seller's secret, and compared with the client's signature.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping
from urllib.parse import parse_qsl, quote

SIGNING_NAME = "aws-marketplace"
_AUTH = re.compile(
    r"AWS4-HMAC-SHA256\s+Credential=(?P<akid>[^/]+)/(?P<date>\d{8})/(?P<region>[^/]+)/(?P<service>[^/]+)/aws4_request,"
    r"\s*SignedHeaders=(?P<signed>[^,]+),\s*Signature=(?P<sig>[0-9a-f]{64})"
)


class AuthError(Exception):
    """The caller could not be authenticated; ``code`` and ``status`` are what AWS answers."""

    def __init__(self, code: str, message: str, status: int = 403) -> None:
        super().__init__(message)
        self.code, self.message, self.status = code, message, status


def access_key(headers: Mapping[str, str]) -> str:
    """The access key id of a SigV4 ``Authorization`` header (the signature is checked by ``verify``)."""
    header = headers.get("Authorization")
    if not header:
        raise AuthError("MissingAuthenticationTokenException", "Missing Authentication Token")
    match = _AUTH.match(header)
    if not match:
        raise AuthError(
            "IncompleteSignatureException", "The Authorization header is not a valid SigV4 header", 400
        )
    if match["service"] != SIGNING_NAME:
        raise AuthError(
            "InvalidSignatureException",
            f"Credential should be scoped to correct service: '{SIGNING_NAME}'",
            403,
        )
    return match["akid"]


def _canonical_query(query: str) -> str:
    pairs = [
        (quote(k, safe="-_.~"), quote(v, safe="-_.~")) for k, v in parse_qsl(query, keep_blank_values=True)
    ]
    return "&".join(f"{k}={v}" for k, v in sorted(pairs))


def verify(method: str, path: str, query: str, headers: Mapping[str, str], body: bytes, secret: str) -> None:
    """Raise ``AuthError`` unless the request was signed with ``secret``."""
    match = _AUTH.match(headers.get("Authorization") or "")
    if not match:
        raise AuthError(
            "IncompleteSignatureException", "The Authorization header is not a valid SigV4 header", 400
        )
    amz_date = headers.get("X-Amz-Date")
    if not amz_date:
        raise AuthError("IncompleteSignatureException", "X-Amz-Date header is missing", 400)
    signed = match["signed"].split(";")
    canonical_headers = "".join(f"{h}:{' '.join((headers.get(h) or '').split())}\n" for h in signed)
    canonical = "\n".join(
        [
            method,
            quote(path or "/", safe="/~"),
            _canonical_query(query),
            canonical_headers,
            match["signed"],
            hashlib.sha256(body).hexdigest(),
        ]
    )
    scope = f"{match['date']}/{match['region']}/{match['service']}/aws4_request"
    to_sign = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(canonical.encode()).hexdigest()])
    key = ("AWS4" + secret).encode()
    for part in (match["date"], match["region"], match["service"], "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    if not hmac.compare_digest(hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest(), match["sig"]):
        raise AuthError(
            "InvalidSignatureException",
            "The request signature we calculated does not match the signature you provided. "
            "Check your AWS Secret Access Key and signing method.",
        )
