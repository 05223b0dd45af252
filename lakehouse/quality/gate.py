"""Quality gate: validate a batch with Great Expectations 1.x and apply each expectation's action.

Order: quarantine expectations are validated on the whole batch and their offending rows split off with one
Spark filter (the same condition GX checks); warn and fail expectations are then validated on the rows that
remain. Every result becomes a ``dq_result`` row and every violated expectation a ``DataQualityIssue``. A
violated ``fail`` expectation makes ``GateResult.raise_if_failed`` raise ``QualityGateFailed``.

Where GX runs: a batch of at most ``LOCAL_GATE_ROWS`` rows (an incremental run's changes, a gold mart) is
collected once, as the columns the suite reads, and validated by GX's pandas engine; larger batches by GX's Spark
engine. Same suite, same expectations, same results (tests run both); on Spark every metric is its own Spark
job, ~0.1 s each, which dominated the gates of a small incremental run.
"""

from __future__ import annotations

import json
import logging
import threading
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pandas as pd
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from lakehouse.errors import QualityGateFailed
from lakehouse.quality.suites import ExpectationSpec, Suite, gx_class, row_condition

log = logging.getLogger(__name__)

SAMPLE_KEYS = 20
LOCAL_GATE_ROWS = 100_000
QUARANTINE_REASON_PREFIX = "quality: "
SEVERITY_OF_ACTION: dict[str, str] = {"fail": "critical", "quarantine": "warning", "warn": "warning"}
"""A gate issue's severity: a failed run is critical; rows set aside or a recorded warning are warnings."""


@dataclass(frozen=True)
class DataQualityIssue:
    """A violated expectation: the table, what was expected, the action taken, how many rows, sample keys."""

    tenant_id: str
    run_id: str
    table_name: str
    suite: str
    expectation: str
    expectation_type: str
    column_name: str | None
    action: str
    unexpected_count: int
    element_count: int | None
    sample_keys: tuple[str, ...]
    observed_at: datetime
    severity: str = ""
    details: str | None = None

    def as_row(self) -> tuple[Any, ...]:
        """The ops.dq_issue row."""
        return (
            self.tenant_id,
            self.run_id,
            self.table_name,
            self.suite,
            self.expectation,
            self.expectation_type,
            self.column_name,
            self.action,
            self.unexpected_count,
            self.element_count,
            list(self.sample_keys),
            self.observed_at,
            self.severity or SEVERITY_OF_ACTION.get(self.action, "warning"),
            self.details,
        )


@dataclass(frozen=True)
class ExpectationOutcome:
    """One evaluated expectation with GX's result."""

    spec: ExpectationSpec
    success: bool
    element_count: int | None
    unexpected_count: int
    sample_keys: tuple[str, ...]
    result: dict[str, Any]


@dataclass
class GateResult:
    """What a gate did to one table's batch."""

    table: str
    suite: Suite
    tenant_id: str
    run_id: str
    passed: DataFrame
    quarantined: DataFrame | None
    outcomes: list[ExpectationOutcome] = field(default_factory=list)
    validated_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    @property
    def failures(self) -> list[ExpectationOutcome]:
        """Violated ``fail`` expectations."""
        return [o for o in self.outcomes if o.spec.action == "fail" and not o.success]

    @property
    def issues(self) -> list[DataQualityIssue]:
        """A DataQualityIssue per violated expectation (quarantine ones count even if GX's 'mostly' passed)."""
        return [
            DataQualityIssue(
                self.tenant_id,
                self.run_id,
                self.table,
                self.suite.source or self.table,
                o.spec.name,
                o.spec.type,
                o.spec.column,
                o.spec.action,
                o.unexpected_count,
                o.element_count,
                o.sample_keys,
                self.validated_at,
            )
            for o in self.outcomes
            if not o.success or o.unexpected_count > 0
        ]

    def result_rows(self) -> list[tuple[Any, ...]]:
        """Rows of ops.dq_result, one per evaluated expectation."""
        return [
            (
                self.tenant_id,
                self.run_id,
                self.table,
                self.suite.source or self.table,
                o.spec.name,
                o.spec.type,
                o.spec.column,
                o.spec.action,
                o.success,
                o.element_count,
                o.unexpected_count,
                json.dumps(o.result, default=str, sort_keys=True),
                self.validated_at,
            )
            for o in self.outcomes
        ]

    def raise_if_failed(self) -> None:
        """Raise QualityGateFailed naming every violated fail expectation."""
        if self.failures:
            raise QualityGateFailed(describe_failures([self]))


def describe_failures(results: Sequence[GateResult]) -> str:
    """One message naming each violated fail expectation with its unexpected count and sample keys."""
    parts = [
        f"{r.table}: {o.spec.name} ({o.spec.type}) failed on {o.unexpected_count} row(s)"
        + (f", e.g. {', '.join(o.sample_keys[:5])}" if o.sample_keys else "")
        for r in results
        for o in r.failures
    ]
    return "quality gate failed, nothing promoted: " + "; ".join(parts)


def run_gate(
    df: DataFrame, suite: Suite, *, tenant_id: str, run_id: str, rows: int | None = None
) -> GateResult:
    """Validate ``df`` against ``suite``; split off quarantined rows (with ``quarantine_reason``).

    ``rows``: the batch's row count when the caller knows it (else it is counted); it picks GX's engine.
    """
    result = GateResult(
        table=suite.table, suite=suite, tenant_id=tenant_id, run_id=run_id, passed=df, quarantined=None
    )
    if not suite.expectations:
        return result
    local = _local(df, suite) if (df.count() if rows is None else rows) <= LOCAL_GATE_ROWS else None
    quarantine_specs = suite.by_action("quarantine")
    if quarantine_specs:
        outcomes = validate(df if local is None else local, quarantine_specs, suite.key_columns)
        result.outcomes.extend(outcomes)
        violated = [o.spec for o in outcomes if o.unexpected_count > 0 or not o.success]
        if violated:
            ok = F.lit(True)
            reasons = []
            for spec in violated:
                cond = F.coalesce(row_condition(spec), F.lit(False))
                ok = ok & cond
                reasons.append(F.when(~cond, F.lit(QUARANTINE_REASON_PREFIX + spec.name)))
            result.passed = df.where(ok)
            result.quarantined = df.where(~ok).withColumn("gate_reason", F.concat_ws("; ", *reasons))
            if local is not None:
                local = _local(result.passed, suite)
    others = suite.by_action("warn", "fail")
    if others:
        result.outcomes.extend(validate(result.passed if local is None else local, others, suite.key_columns))
    for o in result.outcomes:
        if not o.success or o.unexpected_count:
            log.warning(
                "%s: %s %s: %d unexpected (%s)",
                suite.table,
                o.spec.action,
                o.spec.name,
                o.unexpected_count,
                ", ".join(o.sample_keys[:5]),
            )
    return result


# ---------------------------------------------------------------------------------------------- GX plumbing

_gx_lock = threading.Lock()
_gx_context: Any = None


def _context() -> Any:
    """One ephemeral GX context per process (progress bars off)."""
    global _gx_context
    with _gx_lock:
        if _gx_context is None:
            import great_expectations as gx
            from great_expectations.data_context.types.base import ProgressBarsConfig

            ctx = gx.get_context(mode="ephemeral")
            try:
                ctx.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
            except Exception:
                log.debug("could not switch GX progress bars off", exc_info=True)
            _gx_context = ctx
        return _gx_context


_batch_definitions: dict[str, Any] = {}


def _batch_definition(engine: str) -> Any:
    """One GX dataframe batch definition per engine for the process (each batch passes its own dataframe):
    adding and deleting a data source per validation made GX save its project config twice, ~0.05 s."""
    ctx = _context()
    with _gx_lock:
        if engine not in _batch_definitions:
            name = f"lakehouse_{engine}"
            source = (
                ctx.data_sources.add_pandas(name=name)
                if engine == "pandas"
                else ctx.data_sources.add_spark(name=name)
            )
            _batch_definitions[engine] = source.add_dataframe_asset(
                name=name
            ).add_batch_definition_whole_dataframe(name)
        return _batch_definitions[engine]


def _local(df: DataFrame, suite: Suite) -> pd.DataFrame:
    """The batch as pandas, only the columns the suite's expectations and sample keys read."""
    return df.select(*_needed(df.columns, suite.expectations, suite.key_columns)).toPandas()


def _needed(
    columns: Sequence[str], specs: Sequence[ExpectationSpec], key_columns: Sequence[str]
) -> list[str]:
    referenced = _referenced_columns(specs)
    needed = [c for c in columns if c in (referenced or set()) or c in key_columns]
    if referenced is None or not referenced <= set(columns) or not needed:
        return list(columns)  # let GX name what is missing
    return needed


def validate(
    df: DataFrame | pd.DataFrame, specs: Sequence[ExpectationSpec], key_columns: Sequence[str]
) -> list[ExpectationOutcome]:
    """Run ``specs`` on ``df`` with GX (SUMMARY results, sample keys from ``key_columns``); a pandas frame is
    validated by GX's pandas engine, a Spark frame by its Spark engine."""
    import great_expectations as gx

    local = isinstance(df, pd.DataFrame)
    definition = _batch_definition("pandas" if local else "spark")
    name = f"batch_{uuid.uuid4().hex[:12]}"
    columns = list(df.columns)
    keys = [k for k in key_columns if k in columns]
    needed = _needed(columns, specs, keys)
    if needed != columns:  # GX reads only what it checks; the staged batches are wide
        df = df[needed] if local else df.select(*needed)
    batch = definition.get_batch(batch_parameters={"dataframe": df})
    suite = gx.ExpectationSuite(name=name)
    for spec in specs:
        suite.add_expectation(gx_class(spec.type)(**spec.kwargs, meta={"lakehouse_name": spec.name}))
    result_format: dict[str, Any] = {"result_format": "SUMMARY", "partial_unexpected_count": SAMPLE_KEYS}
    if keys:
        result_format["unexpected_index_column_names"] = keys
    validation = batch.validate(suite, result_format=result_format)
    by_name = {spec.name: spec for spec in specs}
    outcomes: list[ExpectationOutcome] = []
    for r in validation.results:
        spec = by_name[r.expectation_config.meta["lakehouse_name"]]
        raw = r.result or {}
        exception = (r.exception_info or {}) if hasattr(r, "exception_info") else {}
        if exception.get("raised_exception"):
            raw = {**raw, "exception_message": exception.get("exception_message")}
        outcomes.append(
            ExpectationOutcome(
                spec=spec,
                success=bool(r.success),
                element_count=_int(raw.get("element_count")),
                unexpected_count=_int(raw.get("unexpected_count")) or (0 if r.success else 1),
                sample_keys=_sample_keys(raw, keys),
                result=_jsonable(raw),
            )
        )
    order = {spec.name: i for i, spec in enumerate(specs)}
    return sorted(outcomes, key=lambda o: order[o.spec.name])


_COLUMN_KWARGS = ("column", "column_A", "column_B")
_COLUMN_LIST_KWARGS = ("column_list", "column_set")


def _referenced_columns(specs: Sequence[ExpectationSpec]) -> set[str] | None:
    """Columns the expectations name (None when some kwarg may name columns in a way not understood here)."""
    names: set[str] = set()
    for spec in specs:
        for k, v in spec.kwargs.items():
            if k in _COLUMN_KWARGS:
                names.add(v)
            elif k in _COLUMN_LIST_KWARGS:
                names.update(v)
            elif k in ("row_condition", "condition_parser"):
                return None
    return names


def _int(value: Any) -> int | None:
    try:
        return None if value is None else int(value)
    except (TypeError, ValueError):
        return None


def _sample_keys(raw: dict[str, Any], keys: Sequence[str]) -> tuple[str, ...]:
    index = raw.get("partial_unexpected_index_list")
    if index and keys:
        return tuple("|".join("" if row.get(k) is None else str(row.get(k)) for k in keys) for row in index)
    values = raw.get("partial_unexpected_list") or []
    return tuple("null" if v is None else str(v) for v in values)


def _jsonable(raw: dict[str, Any]) -> dict[str, Any]:
    plain: dict[str, Any] = json.loads(json.dumps(raw, default=str))
    return plain


def dq_frames(spark: SparkSession, results: Sequence[GateResult]) -> tuple[DataFrame, DataFrame]:
    """(ops.dq_issue rows, ops.dq_result rows) of some gate results."""
    from lakehouse.ops import DQ_ISSUE, DQ_RESULT

    issues = [i.as_row() for r in results for i in r.issues]
    rows = [row for r in results for row in r.result_rows()]
    return spark.createDataFrame(issues, DQ_ISSUE.schema), spark.createDataFrame(rows, DQ_RESULT.schema)
