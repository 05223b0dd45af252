"""Metrics as code: each KPI defined once (YAML beside this module), compiled by sqlglot for every consumer.

The public API (the GraphQL gateway and other callers use only these)::

    list_metrics()                      every MetricDefinition, by name
    get(name)                           one MetricDefinition (UnknownMetric otherwise)
    compute(name_or_names, tenant, dimensions=(), filters=(), engine="arrow"|"spark")  -> pandas
    compile_sql(names, dialect, relation=..., tenant=..., dimensions=..., filters=...)  -> SQL text
    spark_columns(names)                Spark aggregate columns for a gold mart
    compute_frame(names, arrow_or_pandas, ...)  the Arrow path over rows a caller already read

See docs/metrics.md.
"""

from __future__ import annotations

from lakehouse.metrics.compiler import DIALECTS, compile_sql, measure_sql
from lakehouse.metrics.compute import (
    ENGINES,
    Engine,
    compute,
    compute_frame,
    compute_spark,
    read_arrow,
    scalar,
    spark_columns,
)
from lakehouse.metrics.errors import (
    MetricDefinitionError,
    MetricError,
    MetricQueryError,
    UnknownMetric,
)
from lakehouse.metrics.models import MetricDefinition, MetricFilter, SemanticModel
from lakehouse.metrics.registry import Registry, get_registry, load, package_definitions, use_registry

__all__ = [
    "DIALECTS",
    "ENGINES",
    "Engine",
    "MetricDefinition",
    "MetricDefinitionError",
    "MetricError",
    "MetricFilter",
    "MetricQueryError",
    "Registry",
    "SemanticModel",
    "UnknownMetric",
    "compile_sql",
    "compute",
    "compute_frame",
    "compute_spark",
    "get",
    "get_registry",
    "list_metrics",
    "load",
    "measure_sql",
    "model_of",
    "package_definitions",
    "read_arrow",
    "scalar",
    "spark_columns",
    "use_registry",
]


def list_metrics() -> list[MetricDefinition]:
    """Every defined metric, sorted by name."""
    registry = get_registry()
    return [registry.metrics[n] for n in sorted(registry.metrics)]


def get(name: str) -> MetricDefinition:
    """The metric called ``name`` (``UnknownMetric`` names the defined ones otherwise)."""
    return get_registry().get(name)


def model_of(name: str) -> SemanticModel:
    """The semantic model (source table and columns) metric ``name`` aggregates."""
    return get_registry().model_of(name)
