"""The shape of a metric definition (validated by pydantic when the registry loads the YAML files)."""

from __future__ import annotations

import re
from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

NAME_PATTERN = r"^[a-z][a-z0-9_]{0,62}$"
Classification = Literal["public", "internal", "confidential", "pii"]
Format = Literal["count", "usd", "money", "percent", "number"]
FilterOp = Literal["=", "!=", "<", "<=", ">", ">=", "in", "not in", "is null", "not null"]
FILTER_OPS: tuple[str, ...] = ("=", "!=", "<", "<=", ">", ">=", "in", "not in", "is null", "not null")


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SemanticModel(_Frozen):
    """A relation metrics aggregate: a lake table (by its catalog name) and the columns metrics may use."""

    name: str = Field(pattern=NAME_PATTERN)
    table: str = Field(pattern=r"^(bronze|silver|gold|platinum|ops)\.[a-z][a-z0-9_]*$")
    description: str
    dimensions: tuple[str, ...] = Field(min_length=1)
    measures: tuple[str, ...] = Field(min_length=1)


class MetricDefinition(_Frozen):
    """One KPI, defined once: a SQL aggregate (dialect-neutral SQL) over a semantic model.

    ``expression`` aggregates the model's columns, or (``derived_from`` set) combines other metrics by name.
    ``filters`` are SQL conditions applied inside each aggregate, so metrics with different filters share one
    query. ``required_dimensions`` are always grouped by (money is never summed across currencies).
    """

    name: str = Field(pattern=NAME_PATTERN)
    version: int = Field(ge=1)
    label: str
    description: str
    owner: str = Field(min_length=1)
    model: str = Field(pattern=NAME_PATTERN)
    expression: str = Field(min_length=1)
    derived_from: tuple[str, ...] = ()
    grain: str = Field(min_length=1)
    dimensions: tuple[str, ...] = ()
    required_dimensions: tuple[str, ...] = ()
    filters: tuple[str, ...] = ()
    format: Format
    classification: Classification = "internal"

    @field_validator("dimensions", "required_dimensions", "derived_from")
    @classmethod
    def _identifiers(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        bad = [v for v in value if not re.fullmatch(NAME_PATTERN, v)]
        if bad:
            raise ValueError(f"not an identifier: {', '.join(map(repr, bad))}")
        return value


class MetricFilter(_Frozen):
    """A caller's filter on a dimension; the value stays data (a SQL literal built by the AST, never text)."""

    column: str = Field(pattern=NAME_PATTERN)
    op: FilterOp = "="
    value: date | str | int | float | bool | tuple[date | str | int | float | bool, ...] | None = None
