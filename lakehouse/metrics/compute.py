"""Compute metrics for one tenant: on Spark (the marts' engine) or on Arrow data with DuckDB.

The Arrow path is what the dashboards, notebooks and the control-plane API use: they have no Spark session,
and DuckDB runs the sqlglot-compiled query directly on an Arrow table or pandas frame (zero-copy, vectorised),
so the figure comes from the same compiled SQL as everywhere else instead of a second hand-written pandas
implementation of each KPI.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Literal

from lakehouse.metrics.compiler import definitions, filter_condition, measure, resolve_dimensions, select
from lakehouse.metrics.errors import MetricQueryError
from lakehouse.metrics.models import MetricFilter
from lakehouse.metrics.registry import Registry, get_registry

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa
    from pyspark.sql import Column, DataFrame, SparkSession

Engine = Literal["arrow", "spark"]
ENGINES: tuple[str, ...] = ("arrow", "spark")
INPUT_RELATION = "metric_input"
_LOCAL = threading.local()  # one DuckDB connection per thread (connecting costs tens of ms; a connection is
# not safe to share between threads)


def _names(names: str | Sequence[str]) -> list[str]:
    return [names] if isinstance(names, str) else list(names)


def spark_columns(names: Sequence[str], registry: Registry | None = None) -> list[Column]:
    """The metrics as Spark aggregate columns named after them (for a mart's ``groupBy(...).agg(...)``)."""
    from pyspark.sql import functions as F

    reg = registry or get_registry()
    return [F.expr(measure(reg.get(n), reg).sql(dialect="spark")).alias(n) for n in names]


def compute_spark(
    names: str | Sequence[str],
    frame: DataFrame,
    *,
    dimensions: Sequence[str] = (),
    filters: Sequence[MetricFilter] = (),
    registry: Registry | None = None,
) -> DataFrame:
    """The metrics over a Spark DataFrame of the model's columns, grouped by ``dimensions``."""
    from pyspark.sql import functions as F

    reg = registry or get_registry()
    metric_names = _names(names)
    dims = resolve_dimensions(definitions(metric_names, reg), dimensions, filters)
    condition = filter_condition(filters)
    if condition is not None:
        frame = frame.where(F.expr(condition.sql(dialect="spark")))
    aggregates = spark_columns(metric_names, reg)
    out = frame.groupBy(*dims).agg(*aggregates) if dims else frame.agg(*aggregates)
    return out.orderBy(*dims) if dims else out


@lru_cache(maxsize=512)
def _duckdb_sql(
    names: tuple[str, ...], dimensions: tuple[str, ...], filters: tuple[MetricFilter, ...], registry: Registry
) -> str:
    return select(
        list(names), relation=INPUT_RELATION, dimensions=dimensions, filters=filters, registry=registry
    ).sql(dialect="duckdb")


def _connection() -> Any:
    import duckdb

    con = getattr(_LOCAL, "connection", None)
    if con is None:
        con = duckdb.connect()
        _LOCAL.connection = con
    return con


def compute_frame(
    names: str | Sequence[str],
    data: pa.Table | pd.DataFrame,
    *,
    dimensions: Sequence[str] = (),
    filters: Sequence[MetricFilter] = (),
    registry: Registry | None = None,
) -> pd.DataFrame:
    """The metrics over Arrow / pandas rows of the model's columns (one tenant's), grouped by ``dimensions``."""
    sql = _duckdb_sql(tuple(_names(names)), tuple(dimensions), tuple(filters), registry or get_registry())
    import duckdb

    con = _connection()
    con.register(INPUT_RELATION, data)
    try:
        result: pd.DataFrame = con.execute(sql).df()
    except duckdb.DataError as exc:  # a filter value that does not convert to its column's type
        first = str(exc).splitlines()[0]
        raise MetricQueryError(f"a filter value does not fit its column: {first}") from None
    finally:
        con.unregister(INPUT_RELATION)
    return result


def read_arrow(table: str, tenant: str) -> pa.Table:
    """One tenant's partition of a lake table as Arrow (delta-rs, no Spark); empty, with the declared schema,
    when the table has not been written yet (as ``lakehouse.io.read`` answers on Spark)."""
    from deltalake import DeltaTable, QueryBuilder
    from pyspark.sql.pandas.types import to_arrow_schema

    from lakehouse import io
    from lakehouse.tenancy import validate_tenant_id

    validate_tenant_id(tenant)
    td = io.resolve(table)
    if not io.exists(td):
        return to_arrow_schema(td.schema).empty_table()
    dt = DeltaTable(td.path(), storage_options=io.storage_options() or None)
    # QueryBuilder applies deletion vectors (to_pyarrow_table refuses tables that carry them)
    qb = QueryBuilder().register("t", dt)
    # the tenant id passed validate_tenant_id (letters, digits, '_' and '-'), so it cannot leave its literal
    return qb.execute(f"SELECT * FROM t WHERE tenant_id = '{tenant}'").read_all()


def compute(
    names: str | Sequence[str],
    tenant: str,
    dimensions: Sequence[str] = (),
    filters: Sequence[MetricFilter] = (),
    *,
    engine: Engine = "arrow",
    spark: SparkSession | None = None,
    registry: Registry | None = None,
) -> pd.DataFrame:
    """The metrics for ``tenant`` from their model's lake table, grouped by ``dimensions``, as pandas.

    ``engine="arrow"`` reads the tenant's partition with delta-rs and runs the DuckDB query; ``engine="spark"``
    reads through ``lakehouse.io`` (tenant-scoped) and aggregates on Spark. A table not written yet holds no
    rows of the tenant, so the metric is computed over nothing (0 for counts and sums, null for the win rate).
    """
    reg = registry or get_registry()
    metric_names = _names(names)
    chosen = definitions(metric_names, reg)
    resolve_dimensions(chosen, dimensions, filters)  # a bad request is refused before any data is read
    model = reg.model_of(chosen[0])
    if engine == "arrow":
        return compute_frame(
            metric_names,
            read_arrow(model.table, tenant),
            dimensions=dimensions,
            filters=filters,
            registry=reg,
        )
    if engine == "spark":
        from lakehouse import io
        from lakehouse.engine import get_spark
        from lakehouse.tenancy import TenantScope

        session = spark or get_spark()
        frame = io.read(session, model.table, TenantScope.for_tenant(tenant))
        out = compute_spark(metric_names, frame, dimensions=dimensions, filters=filters, registry=reg)
        return out.toPandas()
    raise MetricQueryError(f"unknown engine {engine!r}; one of {', '.join(ENGINES)}")


def scalar(frame: pd.DataFrame, name: str) -> Any:
    """The single value of an ungrouped result (None for SQL NULL)."""
    if len(frame) != 1:
        raise MetricQueryError(f"{name}: expected one row, got {len(frame)} (group by fewer dimensions)")
    value = frame[name].iloc[0]
    try:
        import pandas as pd

        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    return value.item() if hasattr(value, "item") else value
