"""The ``/graphql`` router: the schema with its limits (depth, cost, aliases, tokens) and error masking."""

from __future__ import annotations

from typing import Annotated

import strawberry
from fastapi import Depends
from fastapi.routing import APIWebSocketRoute
from graphql import GraphQLError
from strawberry.extensions import MaskErrors, MaxAliasesLimiter, MaxTokensLimiter, QueryDepthLimiter
from strawberry.fastapi import GraphQLRouter
from strawberry.types import ExecutionContext

from control_plane.graphql.context import GatewayContext, get_context
from control_plane.graphql.errors import is_expected
from control_plane.graphql.limits import MAX_DEPTH, CostLimiter
from control_plane.graphql.schema import Query

MAX_ALIASES = 30
MAX_TOKENS = 5_000


class GatewaySchema(strawberry.Schema):
    """Logs only unexpected errors (with their traceback): refusals are audited and bad queries are the
    caller's, so logging each at ERROR would bury the failures that matter."""

    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        """Hand the unexpected errors to Strawberry's logger; the others are answered, not logged."""
        super().process_errors([e for e in errors if not is_expected(e)], execution_context)


schema = GatewaySchema(
    query=Query,
    extensions=[
        lambda: QueryDepthLimiter(max_depth=MAX_DEPTH),
        lambda: MaxAliasesLimiter(max_alias_count=MAX_ALIASES),
        lambda: MaxTokensLimiter(max_token_count=MAX_TOKENS),
        CostLimiter,
        lambda: MaskErrors(should_mask_error=lambda error: not is_expected(error)),
    ],
)


async def context_getter(context: Annotated[GatewayContext, Depends(get_context)]) -> GatewayContext:
    """The request's context (``get_context`` is a generator dependency: it closes the session afterwards)."""
    return context


# GraphQL is described by its own schema (docs/graphql.schema.graphql), not by the OpenAPI document.
router: GraphQLRouter[GatewayContext, None] = GraphQLRouter(
    schema, path="/graphql", context_getter=context_getter, graphql_ide="graphiql", include_in_schema=False
)
# There are no subscriptions, so no WebSocket endpoint (its dependencies would need an HTTP request anyway).
router.routes[:] = [r for r in router.routes if not isinstance(r, APIWebSocketRoute)]
