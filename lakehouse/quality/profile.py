"""Table profiles: per column null and distinct rates, range, quantiles (numeric) and top values (categorical).

A profile is computed by Spark in three aggregation jobs, never by collecting the table: one ``agg`` over the
table for every column's counts, approximate distinct count (HyperLogLog) and min/max; one for the numeric
columns' approximate quantiles (``percentile_approx``, on a seeded sample of ~100k rows for larger tables); and,
for the string and boolean columns with at most ``TOP_CANDIDATES`` distinct values, a union of per-column
``groupBy`` counts of which only the top ``TOP_K`` per column come back.
The rows are kept in ``ops.dq_profile`` (one row per column per table per run) and read back as ``Profile``
records for ``lakehouse.quality.anomaly``.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from datetime import datetime
from functools import reduce
from typing import Any

import pandas as pd
from pyspark.sql import DataFrame, SparkSession, Window
from pyspark.sql import functions as F
from pyspark.sql.types import (
    ArrayType,
    BooleanType,
    DataType,
    DateType,
    FractionalType,
    MapType,
    NumericType,
    StringType,
    StructType,
    TimestampType,
)

from lakehouse.quality.anomaly import QUANTILE_PROBS, ColumnProfile, Profile

TOP_K = 20
"""Top values kept per categorical column (anomaly detection compares columns with at most this many values)."""
TOP_CANDIDATES = 1_000
"""Categorical columns with more distinct values than this (ids, free text) get no top values."""
QUANTILE_SAMPLE_ROWS = 100_000
"""Above this many rows, quantiles are computed on a seeded sample of about this size."""
QUANTILE_ACCURACY = 10_000  # percentile_approx's default: relative error about 1/10,000 of the rank


def _orderable(dt: DataType) -> bool:
    return isinstance(dt, NumericType | StringType | DateType | TimestampType | BooleanType)


def _complex(dt: DataType) -> bool:
    return isinstance(dt, ArrayType | MapType | StructType)


def _numeric(dt: DataType) -> bool:
    return isinstance(dt, NumericType)


def profile_frame(
    df: DataFrame,
    *,
    tenant_id: str,
    table_name: str,
    run_id: str,
    profiled_at: datetime,
    table_version: int | None = None,
    rows_written: int | None = None,
    counts_only: Collection[str] = (),
) -> Profile:
    """The profile of ``df`` (one tenant's rows of a table as one run left them).

    ``counts_only``: columns whose values must not leave the table (personal data): only their null and
    distinct counts are kept, no min/max, quantiles or top values."""
    fields = list(df.schema.fields)
    aggs: list[Any] = [F.count(F.lit(1)).alias("__rows")]
    for i, f in enumerate(fields):
        c = F.col(f"`{f.name}`")
        aggs.append(F.count(c).alias(f"n{i}"))
        if not _complex(f.dataType):
            # floating point over its text form: Sail's approx_distinct does not take Float64
            distinct_of = c.cast("string") if isinstance(f.dataType, FractionalType) else c
            aggs.append(F.approx_count_distinct(distinct_of).alias(f"d{i}"))
        if f.name not in counts_only and _orderable(f.dataType):
            aggs += [F.min(c).cast("string").alias(f"lo{i}"), F.max(c).cast("string").alias(f"hi{i}")]
    stats = df.agg(*aggs).collect()[0].asDict()
    rows = int(stats["__rows"])
    numeric = [f.name for f in fields if _numeric(f.dataType) and f.name not in counts_only]
    quantiles = _quantiles_of(df, numeric, rows) if numeric and rows else {}
    categorical = [
        f.name
        for i, f in enumerate(fields)
        if isinstance(f.dataType, StringType | BooleanType)
        and f.name not in counts_only
        and 0 < int(stats.get(f"d{i}") or 0) <= TOP_CANDIDATES
        # every value distinct (an id): its top values say nothing
        and not (int(stats.get(f"d{i}") or 0) >= int(stats[f"n{i}"]) > TOP_K)
    ]
    top = top_values(df, categorical) if categorical and rows else {}
    columns: dict[str, ColumnProfile] = {}
    for i, f in enumerate(fields):
        columns[f.name] = ColumnProfile(
            column_name=f.name,
            data_type=f.dataType.simpleString(),
            null_count=rows - int(stats[f"n{i}"]),
            distinct_count=int(stats.get(f"d{i}") or 0),
            min_value=stats.get(f"lo{i}"),
            max_value=stats.get(f"hi{i}"),
            quantiles=quantiles.get(f.name),
            top_values=top.get(f.name, ()),
        )
    return Profile(
        tenant_id=tenant_id,
        table_name=table_name,
        run_id=run_id,
        profiled_at=profiled_at,
        table_version=table_version,
        row_count=rows,
        rows_written=rows if rows_written is None else rows_written,
        columns=columns,
    )


def _quantiles_of(df: DataFrame, columns: Sequence[str], rows: int) -> dict[str, tuple[float, ...]]:
    """QUANTILE_PROBS quantiles of numeric columns: one aggregation, over a seeded Bernoulli sample of about
    ``QUANTILE_SAMPLE_ROWS`` rows when the table is larger (each quantile is its own t-digest on Sail, the
    costliest part of a profile; a 100k-row sample puts a quantile within ~0.3 % of rank)."""
    source = df if rows <= QUANTILE_SAMPLE_ROWS else df.sample(fraction=QUANTILE_SAMPLE_ROWS / rows, seed=0)
    # one percentile_approx per probability: Sail refuses the array form (DataFusion's approx_percentile_cont
    # takes a single fraction)
    aggs = [
        F.percentile_approx(F.col(f"`{c}`").cast("double"), p, QUANTILE_ACCURACY).alias(f"q{i}_{j}")
        for i, c in enumerate(columns)
        for j, p in enumerate(QUANTILE_PROBS)
    ]
    got = source.agg(*aggs).collect()[0].asDict()
    out: dict[str, tuple[float, ...]] = {}
    for i, c in enumerate(columns):
        values = [got[f"q{i}_{j}"] for j in range(len(QUANTILE_PROBS))]
        if None not in values:
            out[c] = tuple(float(v) for v in values)
    return out


def top_values(
    df: DataFrame, columns: Sequence[str], k: int = TOP_K
) -> dict[str, tuple[tuple[str, int], ...]]:
    """The ``k`` most frequent non-null values of each column: one job, a union of per-column counts.

    (An ``explode`` of (column, value) pairs into one ``groupBy`` was 15x slower on Sail at 1M rows.)"""
    rank = F.row_number().over(Window.partitionBy("c").orderBy(F.col("n").desc(), F.col("v")))
    parts = [
        df.where(F.col(f"`{c}`").isNotNull())
        .groupBy(F.col(f"`{c}`").cast("string").alias("v"))
        .agg(F.count(F.lit(1)).alias("n"))
        .select(F.lit(c).alias("c"), "v", "n")
        for c in columns
    ]
    counted = reduce(lambda a, b: a.unionByName(b), parts)
    kept = counted.withColumn("r", rank).where(F.col("r") <= k).collect()
    out: dict[str, list[tuple[str, int]]] = {}
    for r in sorted(kept, key=lambda r: (r["c"], r["r"])):
        out.setdefault(r["c"], []).append((r["v"], int(r["n"])))
    return {c: tuple(v) for c, v in out.items()}


# ------------------------------------------------------------------------------------------- ops rows


def profile_rows(profile: Profile) -> list[tuple[Any, ...]]:
    """The ops.dq_profile rows of a profile, one per column, in the table's declared column order."""
    return [
        (
            profile.tenant_id,
            profile.run_id,
            profile.table_name,
            profile.table_version,
            profile.profiled_at,
            profile.row_count,
            profile.rows_written,
            c.column_name,
            c.data_type,
            c.null_count,
            c.null_count / profile.row_count if profile.row_count else None,
            c.distinct_count,
            c.distinct_count / (profile.row_count - c.null_count)
            if profile.row_count > c.null_count
            else None,
            c.min_value,
            c.max_value,
            list(c.quantiles) if c.quantiles is not None else None,
            [(v, n) for v, n in c.top_values] if c.top_values else None,
        )
        for c in profile.columns.values()
    ]


def profiles_frame(spark: SparkSession, profiles: Iterable[Profile]) -> DataFrame:
    """Rows of ops.dq_profile for some profiles."""
    from lakehouse.ops import DQ_PROFILE

    return spark.createDataFrame([r for p in profiles for r in profile_rows(p)], DQ_PROFILE.schema)


def profiles_from_rows(frame: pd.DataFrame) -> list[Profile]:
    """``Profile`` records from ops.dq_profile rows (as pandas), one per table and run, oldest first."""
    if frame.empty:
        return []
    out: list[Profile] = []
    for (table, run_id), rows in frame.groupby(["table_name", "run_id"], sort=False):
        first = rows.iloc[0]
        columns = {
            r["column_name"]: ColumnProfile(
                column_name=r["column_name"],
                data_type=r["data_type"],
                null_count=int(r["null_count"]),
                distinct_count=int(r["distinct_count"]),
                min_value=_text(r["min_value"]),
                max_value=_text(r["max_value"]),
                quantiles=_quantiles(r["quantiles"]),
                top_values=_top(r["top_values"]),
            )
            for _, r in rows.iterrows()
        }
        version = first["table_version"]
        out.append(
            Profile(
                tenant_id=str(first["tenant_id"]),
                table_name=str(table),
                run_id=str(run_id),
                profiled_at=_utc(first["profiled_at"]),
                table_version=None if pd.isna(version) else int(version),
                row_count=int(first["row_count"]),
                rows_written=int(first["rows_written"]),
                columns=columns,
            )
        )
    return sorted(out, key=lambda p: (p.table_name, p.profiled_at))


def _utc(value: Any) -> datetime:
    """An aware UTC datetime (Spark hands timestamps to pandas as naive instants in the session's zone, UTC)."""
    stamp = pd.Timestamp(value)
    stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
    moment: datetime = stamp.to_pydatetime()
    return moment


def _text(value: Any) -> str | None:
    return None if value is None or (isinstance(value, float) and pd.isna(value)) else str(value)


def _quantiles(value: Any) -> tuple[float, ...] | None:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return None
    values = [float(v) for v in value]
    return tuple(values) if len(values) == len(QUANTILE_PROBS) else None


def _top(value: Any) -> tuple[tuple[str, int], ...]:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return ()
    pairs = []
    for item in value:
        v, n = (item["value"], item["count"]) if isinstance(item, dict) else (item[0], item[1])
        pairs.append((str(v), int(n)))
    return tuple(pairs)
