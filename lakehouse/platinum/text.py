"""Embedding text built only from cleared columns: each column is checked against the catalog's classification.

A column classified ``pii`` is never embedded, whatever the caller asks; other levels must be within the
clearance (default: up to ``confidential``). Free-text notes that may name people (next steps, review comments,
additional comments) and company names are left out on purpose: an embedding cannot be redacted afterwards.
"""

from __future__ import annotations

from collections.abc import Sequence

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql.types import ArrayType

from lakehouse.catalog import CLASSIFICATIONS, Classification, TableDef
from lakehouse.errors import BadInput

DEFAULT_CLEARANCE: Classification = "confidential"

# (column, label) in the order they appear in the text
OPPORTUNITY_TEXT: tuple[tuple[str, str], ...] = (
    ("project_title", "Title"),
    ("customer_industry", "Industry"),
    ("project_customer_use_case", "Use case"),
    ("project_customer_business_problem", "Business problem"),
    ("project_delivery_models", "Delivery models"),
    ("primary_needs_from_aws", "Needs from AWS"),
    ("opportunity_type", "Type"),
    ("customer_country_code", "Country"),
)
SOLUTION_TEXT: tuple[tuple[str, str], ...] = (
    ("name", "Solution"),
    ("category", "Category"),
    ("status", "Status"),
)


class UnclearedColumn(BadInput):
    """A column above the clearance (or pii) was asked for in embedding text."""


def cleared_columns(
    td: TableDef, columns: Sequence[str], clearance: Classification = DEFAULT_CLEARANCE
) -> list[str]:
    """``columns`` if each is declared in ``td`` and classified within ``clearance`` and not pii; else raise."""
    if clearance not in CLASSIFICATIONS or clearance == "pii":
        raise BadInput(f"clearance must be public, internal or confidential, got {clearance!r}")
    limit = CLASSIFICATIONS.index(clearance)
    problems = []
    for c in columns:
        level = td.classification.get(c)
        if level is None:
            problems.append(f"{c!r} is not a column of {td.qualified_name}")
        elif level == "pii" or CLASSIFICATIONS.index(level) > limit:
            problems.append(f"{c!r} is classified {level}")
    if problems:
        raise UnclearedColumn(
            f"embedding text for {td.qualified_name} refused (clearance {clearance}): " + "; ".join(problems)
        )
    return list(columns)


def text_column(
    td: TableDef,
    df: DataFrame,
    fields: Sequence[tuple[str, str]],
    clearance: Classification = DEFAULT_CLEARANCE,
) -> Column:
    """One ``Label: value`` line per non-empty cleared column (arrays joined with ', ')."""
    cleared_columns(td, [c for c, _ in fields], clearance)
    types = {f.name: f.dataType for f in df.schema.fields}
    parts = []
    for column, label in fields:
        value = F.col(column)
        if isinstance(types[column], ArrayType):
            value = F.array_join(value, ", ")
        value = F.trim(value.cast("string"))
        parts.append(F.when(value != "", F.concat(F.lit(f"{label}: "), value)))
    return F.concat_ws("\n", *parts)
