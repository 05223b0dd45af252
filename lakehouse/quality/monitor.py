"""The data-quality hook a pipeline calls after its writes: profile each table it wrote, detect anomalies.

Generic on purpose: a step passes what it wrote (``{table: WriteResult}``) and this profiles the tenant's rows of
each table at the version written (``lakehouse.quality.profile``; of columns classified ``pii`` only counts), compares the profile with the table's own
history in ``ops.dq_profile`` (``lakehouse.quality.anomaly``), appends the profiles there and each anomaly to
``ops.dq_issue`` as a DataQualityIssue (suite ``anomaly``, action ``warn``: anomalies are reported, never
block data that passed its gates). Ops tables are not profiled. ``LAKEHOUSE_DQ_PROFILE=0`` turns the hook off
(a backfill that rewrites history would otherwise flag every run it replays).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from lakehouse import catalog, io, ops
from lakehouse.io import WriteResult
from lakehouse.quality.anomaly import Anomaly, AnomalyConfig, Profile, detect
from lakehouse.quality.gate import DataQualityIssue
from lakehouse.quality.profile import profile_frame, profiles_frame, profiles_from_rows
from lakehouse.tenancy import TenantScope

log = logging.getLogger(__name__)

ENABLED_ENV = "LAKEHOUSE_DQ_PROFILE"
ANOMALY_SUITE = "anomaly"
HISTORY_DAYS = 120


@dataclass(frozen=True)
class Observation:
    """What the hook recorded for one step run: the profiles and the anomalies found."""

    profiles: tuple[Profile, ...] = ()
    anomalies: tuple[Anomaly, ...] = ()
    issues: tuple[DataQualityIssue, ...] = field(default_factory=tuple)


def enabled() -> bool:
    """Whether profiling after writes is on (``LAKEHOUSE_DQ_PROFILE``, default on)."""
    return os.environ.get(ENABLED_ENV, "1").strip().lower() not in ("0", "false", "no", "off")


def to_issue(anomaly: Anomaly, *, tenant_id: str, run_id: str, observed_at: datetime) -> DataQualityIssue:
    """The ops.dq_issue row of an anomaly (evidence as JSON in ``details``)."""
    return DataQualityIssue(
        tenant_id=tenant_id,
        run_id=run_id,
        table_name=anomaly.table_name,
        suite=ANOMALY_SUITE,
        expectation=anomaly.name,
        expectation_type=f"{anomaly.kind}_anomaly",
        column_name=anomaly.column_name,
        action="warn",
        unexpected_count=0,
        element_count=None,
        sample_keys=(anomaly.message,),
        observed_at=observed_at,
        severity=anomaly.severity,
        details=anomaly.details(),
    )


def _merge(spark: SparkSession, td: catalog.TableDef, df: DataFrame, scope: TenantScope) -> WriteResult:
    return io.merge(spark, td, df, scope, stage=False)


def read_history(
    spark: SparkSession, scope: TenantScope, tables: Sequence[str], *, since: datetime
) -> list[Profile]:
    """The tenant's stored profiles of ``tables`` since an instant (one read of ops.dq_profile)."""
    if not tables or not io.exists(ops.DQ_PROFILE):
        return []
    rows = (
        io.read(spark, ops.DQ_PROFILE, scope)
        .where(F.col("table_name").isin(*tables) & (F.col("profiled_at") >= F.lit(since)))
        .toPandas()
    )
    return profiles_from_rows(rows)


def observe_writes(
    spark: SparkSession,
    tenant_id: str,
    run_id: str,
    writes: Mapping[str, WriteResult],
    *,
    config: AnomalyConfig | None = None,
    now: datetime | None = None,
    fresh_run_id: bool = True,
) -> Observation:
    """Profile every non-ops table in ``writes`` at its written version, detect anomalies, record both.

    ``fresh_run_id``: nothing is recorded under the run id yet, so records are appended; otherwise (a retry of a
    given run id) they are merged on their keys, so a re-run does not record twice."""
    if not enabled():
        return Observation()
    scope = TenantScope.for_tenant(tenant_id)
    at = now or datetime.now(UTC)
    tables = [name for name, w in writes.items() if w.committed and catalog.get(name).layer != "ops"]
    if not tables:
        return Observation()
    history = read_history(spark, scope, tables, since=at - timedelta(days=HISTORY_DAYS))
    profiles: list[Profile] = []
    anomalies: list[Anomaly] = []
    for name in tables:
        written = writes[name]
        td = catalog.get(name)
        current = profile_frame(
            io.read(spark, td, scope, version=written.version),
            tenant_id=tenant_id,
            table_name=name,
            run_id=run_id,
            profiled_at=at,
            table_version=written.version,
            rows_written=int(written.rows),
            counts_only=td.columns_classified("pii"),
        )
        profiles.append(current)
        found = detect(current, [p for p in history if p.table_name == name], config)
        for a in found:
            log.warning("%s: %s anomaly (%s): %s", name, a.kind, a.severity, a.message)
        anomalies.extend(found)
    issues = [to_issue(a, tenant_id=tenant_id, run_id=run_id, observed_at=at) for a in anomalies]
    record = io.append if fresh_run_id else _merge
    record(spark, ops.DQ_PROFILE, profiles_frame(spark, profiles), scope)
    if issues:
        record(
            spark,
            ops.DQ_ISSUE,
            spark.createDataFrame([i.as_row() for i in issues], ops.DQ_ISSUE.schema),
            scope,
        )
    return Observation(tuple(profiles), tuple(anomalies), tuple(issues))
