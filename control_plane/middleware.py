"""Pure ASGI middleware (cheap, before routing and authentication): request id, body size limit, rate limit
per source address."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.exceptions import HTTPException

from control_plane.auth.ratelimit import TokenBuckets

_SANE = re.compile(r"^[A-Za-z0-9._:-]{1,100}$")

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]
OnRefusal = Callable[[Scope, int, str], Awaitable[None]]


class RequestIdMiddleware:
    """Puts ``request.state.request_id`` in place and adds the ``X-Request-ID`` response header."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = None
        for name, value in scope.get("headers", []):
            if name == b"x-request-id":
                incoming = value.decode("latin-1")
                break
        request_id = incoming if incoming and _SANE.match(incoming) else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id

        async def send_with_id(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", []).append((b"x-request-id", request_id.encode()))
            await send(message)

        await self.app(scope, receive, send_with_id)


async def send_problem(
    scope: Scope, send: Send, status: int, detail: str, headers: dict[str, str] | None = None
) -> None:
    """Answer with the API's Problem body (what the exception handlers produce) without running the app."""
    request_id = scope.get("state", {}).get("request_id")
    body = json.dumps({"detail": detail, "problems": [], "reasons": [], "request_id": request_id}).encode()
    raw = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    raw += [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
    if request_id:
        raw.append((b"x-request-id", request_id.encode()))
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})


class BodyLimitMiddleware:
    """413 for bodies over the limit: from ``Content-Length`` before anything is read (and before
    authentication); for a body without a length, as soon as the bytes read pass the limit.

    ``limits`` is ``[(path prefix, max bytes), ...]``; the first matching prefix wins, ``default`` otherwise.
    """

    def __init__(
        self,
        app: Any,
        *,
        default: int,
        limits: list[tuple[str, int]] | None = None,
        on_refusal: OnRefusal | None = None,
    ) -> None:
        self.app = app
        self.default = default
        self.limits = limits or []
        self.on_refusal = on_refusal

    def _limit(self, path: str) -> int:
        for prefix, limit in self.limits:
            if path.startswith(prefix):
                return limit
        return self.default

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self._limit(scope.get("path", ""))
        length: int | None = None
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                try:
                    length = int(value)
                except ValueError:
                    length = None
                    await send_problem(scope, send, 400, "Content-Length is not an integer")
                    return
        if length is not None and length > limit:
            detail = f"request body of {length} bytes is over the limit of {limit} bytes"
            if self.on_refusal is not None:
                await self.on_refusal(scope, 413, detail)
            await send_problem(scope, send, 413, detail, {"Connection": "close"})
            return
        seen = 0

        async def limited_receive() -> dict[str, Any]:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    # An HTTPException: FastAPI re-raises it from body parsing, the app's handler renders 413.
                    raise HTTPException(413, f"request body is over the limit of {limit} bytes")
            return message

        await self.app(scope, limited_receive, send)


class SourceRateLimitMiddleware:
    """429 with ``Retry-After`` when one source address sends more than ``rate`` requests/s (bucket of
    ``burst``), before authentication. ``/health`` is exempt (load balancer probes)."""

    def __init__(
        self,
        app: Any,
        *,
        rate: float,
        burst: float,
        buckets: TokenBuckets | None = None,
        on_refusal: OnRefusal | None = None,
    ) -> None:
        self.app = app
        self.rate = rate
        self.burst = burst
        self.buckets = buckets or TokenBuckets()
        self.on_refusal = on_refusal

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("path") == "/health":
            await self.app(scope, receive, send)
            return
        client = scope.get("client")
        source = client[0] if client else "unknown"
        wait = self.buckets.acquire(f"ip:{source}", self.rate, self.burst)
        if wait > 0:
            detail = f"rate limit of {self.rate:g} requests/s for address {source} exceeded"
            if self.on_refusal is not None:
                await self.on_refusal(scope, 429, detail)
            await send_problem(scope, send, 429, detail, {"Retry-After": str(max(1, int(wait + 0.999)))})
            return
        await self.app(scope, receive, send)
