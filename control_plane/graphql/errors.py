"""API errors as GraphQL errors: the message is the REST problem's ``detail``; ``extensions`` carry the code,
the HTTP status REST would have answered, and the policy's reasons."""

from __future__ import annotations

from typing import Any

from graphql import GraphQLError

from control_plane.errors import ApiError

CODES = {
    400: "BAD_REQUEST",
    401: "UNAUTHENTICATED",
    403: "FORBIDDEN",
    404: "NOT_FOUND",
    409: "CONFLICT",
    413: "PAYLOAD_TOO_LARGE",
    422: "BAD_USER_INPUT",
    429: "TOO_MANY_REQUESTS",
    503: "UNAVAILABLE",
}
COST_LIMIT = "QUERY_TOO_COSTLY"


def as_graphql_error(exc: ApiError) -> GraphQLError:
    """The GraphQL error for an API error (``extensions``: code, status, reasons and Retry-After if any)."""
    extensions: dict[str, Any] = {"code": CODES.get(exc.status, "BAD_REQUEST"), "status": exc.status}
    if exc.reasons:
        extensions["reasons"] = list(exc.reasons)
    if exc.problems:
        extensions["problems"] = list(exc.problems)
    if exc.headers and "Retry-After" in exc.headers:
        extensions["retryAfter"] = int(exc.headers["Retry-After"])
    return GraphQLError(exc.detail, extensions=extensions)


def is_expected(error: GraphQLError) -> bool:
    """Whether an error is ours to show (a coded API error, or a parse/validation error): everything else is
    masked, so an unexpected exception never shows its message or internals to the caller."""
    return bool(error.extensions and "code" in error.extensions) or error.original_error is None
