"""API errors: one JSON problem shape for every non-2xx answer, and the OpenAPI entries that document it."""

from __future__ import annotations

import math
from typing import Any

from pydantic import BaseModel, Field


class Problem(BaseModel):
    """An error answer: what was wrong (``detail``) and, for invalid input, every problem found."""

    detail: str = Field(description="What was wrong, in one sentence")
    problems: list[dict[str, Any]] = Field(
        default_factory=list, description="Each problem: location and message"
    )
    reasons: list[str] = Field(default_factory=list, description="Policy reasons of a refusal (403)")
    request_id: str | None = None


class ApiError(Exception):
    """Raised by services and views; rendered as a :class:`Problem` with ``status``."""

    status = 400

    def __init__(
        self,
        detail: str,
        *,
        problems: list[dict[str, Any]] | None = None,
        reasons: list[str] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.problems = problems or []
        self.reasons = reasons or []
        self.headers = headers


class BadRequest(ApiError):
    status = 400


class Unauthorized(ApiError):
    status = 401

    def __init__(self, detail: str = "missing or invalid credentials") -> None:
        super().__init__(detail, headers={"WWW-Authenticate": 'Bearer realm="lakehouse", ApiKey'})


class Forbidden(ApiError):
    status = 403


class NotFound(ApiError):
    status = 404


class Conflict(ApiError):
    status = 409


class Invalid(ApiError):
    status = 422


class PayloadTooLarge(ApiError):
    status = 413


class TooManyRequests(ApiError):
    """A rate limit or a failed-secret back-off; ``Retry-After`` says when to come back (whole seconds)."""

    status = 429

    def __init__(self, detail: str, *, retry_after: float) -> None:
        super().__init__(detail, headers={"Retry-After": str(max(1, math.ceil(retry_after)))})
        self.retry_after = retry_after


class Unavailable(ApiError):
    status = 503


_DESCRIPTIONS = {
    400: "Bad request: an unparseable body, or a sensitive action without an X-Audit-Reason header",
    401: "Missing, invalid, expired or revoked credentials",
    403: "Refused by the policy decision point (reasons listed)",
    404: "No such resource visible to the caller",
    409: "Conflicts with the current state (e.g. an immutable field or a published version)",
    413: "The request body is larger than the limit (refused before it is read)",
    422: "Invalid input; every problem is listed",
    429: "Too many requests from this key or address, or too many failed secrets; see Retry-After",
    502: "An upstream service (the model provider) refused or failed the call",
    503: "A dependency failed; the operation was recorded and can be resumed by repeating it",
}


def responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` entries for the given error status codes, all with the Problem body."""
    return {code: {"model": Problem, "description": _DESCRIPTIONS[code]} for code in codes}
