"""Query cost limit: each object a query can return costs 1 and each object field resolved costs its weight, so
a field costs ``weight + size x (1 + cost of its selection)``, where ``size`` is its page size (1 for a single
object) and the multiplication carries through every list above it.

Strawberry ships depth, token and alias limiters but no cost analysis, and no well-kept Python package does it
for Strawberry (the few on PyPI are single-author and young), so this is a short walk over the parsed document
with the schema's types. It runs before execution, with the operation's variables, so a refused query reads
nothing. Scalars and introspection cost nothing; a field that reads a lake table weighs ``LAKE_WEIGHT``, any other
object field 1; a list's size is its ``limit`` argument (given, from a variable, or the argument's default).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    get_named_type,
    value_from_ast,
)
from graphql.type.definition import GraphQLOutputType
from strawberry.extensions import SchemaExtension

from control_plane.graphql.errors import COST_LIMIT

MAX_COST = 5_000
MAX_DEPTH = 6
LAKE_WEIGHT = 10
# Fields that read a Delta table of the lake (one table scan of the tenant's partition each).
LAKE_FIELDS = frozenset(
    {
        "Tenant.ingestionRuns",
        "Tenant.pipelineRuns",
        "Tenant.qualityIssues",
        "Tenant.qualityProfiles",
        "Tenant.metrics",
    }
)


def _is_list(type_: GraphQLOutputType) -> bool:
    while isinstance(type_, GraphQLNonNull):
        type_ = type_.of_type
    return isinstance(type_, GraphQLList)


class _Walk:
    def __init__(
        self,
        schema: GraphQLSchema,
        fragments: Mapping[str, FragmentDefinitionNode],
        variables: Mapping[str, Any],
    ) -> None:
        self.schema = schema
        self.fragments = fragments
        self.variables = variables

    def fields(self, selection_set: SelectionSetNode, seen: frozenset[str]) -> Iterator[FieldNode]:
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                yield selection
            elif isinstance(selection, InlineFragmentNode):
                yield from self.fields(selection.selection_set, seen)
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                fragment = self.fragments.get(name)
                if fragment is not None and name not in seen:  # cycles are refused by validation anyway
                    yield from self.fields(fragment.selection_set, seen | {name})

    def cost(self, selection_set: SelectionSetNode, parent: GraphQLObjectType, seen: frozenset[str]) -> int:
        total = 0
        for node in self.fields(selection_set, seen):
            name = node.name.value
            if name.startswith("__") or name not in parent.fields:
                continue  # introspection is free; unknown fields are refused by validation
            field = parent.fields[name]
            named = get_named_type(field.type)
            if not isinstance(named, GraphQLObjectType) or node.selection_set is None:
                continue
            weight = LAKE_WEIGHT if f"{parent.name}.{name}" in LAKE_FIELDS else 1
            size = self.page_size(node, field.args) if _is_list(field.type) else 1
            total += weight + size * (1 + self.cost(node.selection_set, named, seen))
        return total

    def page_size(self, node: FieldNode, args: Mapping[str, Any]) -> int:
        """The ``limit`` this list field was asked for (1 when it has none)."""
        definition = args.get("limit")
        if definition is None:
            return 1
        value: Any = definition.default_value
        for argument in node.arguments or ():
            if argument.name.value == "limit":
                value = value_from_ast(argument.value, definition.type, dict(self.variables))
        return max(1, int(value)) if isinstance(value, int) else 1


def query_cost(
    schema: GraphQLSchema,
    operation: OperationDefinitionNode,
    fragments: Mapping[str, FragmentDefinitionNode],
    variables: Mapping[str, Any] | None = None,
) -> int:
    """The cost of one operation (only queries have a root type here)."""
    root = schema.query_type
    if operation.operation.value != "query" or root is None:
        return 0
    return _Walk(schema, fragments, variables or {}).cost(operation.selection_set, root, frozenset())


class CostLimiter(SchemaExtension):
    """Refuses an operation whose cost exceeds ``MAX_COST`` before any resolver runs (a GraphQL error with
    ``extensions.code == "QUERY_TOO_COSTLY"``, the cost and the limit)."""

    def on_execute(self) -> Iterator[None]:
        ctx = self.execution_context
        document = ctx.graphql_document
        if document is not None:
            fragments = {
                d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
            }
            operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
            chosen = [
                o
                for o in operations
                if ctx.operation_name is None or (o.name and o.name.value == ctx.operation_name)
            ]
            for operation in chosen[:1]:
                cost = query_cost(ctx.schema._schema, operation, fragments, ctx.variables)
                if cost > MAX_COST:
                    raise GraphQLError(
                        f"query cost {cost} exceeds the limit of {MAX_COST}: ask for smaller pages (limit) or "
                        "fewer nested lists",
                        extensions={"code": COST_LIMIT, "cost": cost, "maxCost": MAX_COST},
                    )
        yield
