"""The Partner Central silver and gold steps: extract -> transform -> check -> load, per tenant.

Silver is incremental by watermark (not change data feed, which Sail ignores): each run reads only the bronze
rows ingested after the last processed ``ingested_at`` (plus ingestion runs at that instant not yet seen),
MERGEs the newer versions into silver and replaces the children (spend, contacts) of the opportunities it
changed. Gold is recomputed for the tenant from silver and written with ``overwrite_partition`` only when a
mart's content changed. A run with no new bronze rows writes no Delta version anywhere; a violated ``fail``
expectation records its issues in ``ops`` and promotes nothing (``QualityGateFailed``, exit 3).

Every intermediate that Sail cannot MERGE from or filter after (plans with lambdas over nested paths, or
lambdas plus ``row_number``) is materialised once into a staging Delta table under
``<lake_root>/_staging/<tenant>/<run_id>/``, removed when the step ends. Raw personal data never reaches
staging: contacts are redacted while parsing.
"""

from __future__ import annotations

import logging
import uuid
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from typing import Any, Literal

import pandas as pd
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from lakehouse import catalog, io, ops
from lakehouse.catalog import TENANT_COLUMN, TableDef
from lakehouse.errors import BadInput, QualityGateFailed
from lakehouse.io import WriteResult
from lakehouse.lineage import RunEvents, edges, edges_frame
from lakehouse.partner_central.entities import gold, silver
from lakehouse.partner_central.transforms import gold as gold_tx
from lakehouse.partner_central.transforms import silver as silver_tx
from lakehouse.privacy import KeyProvider, assert_no_raw_pii, default_key_provider, redact_json_text
from lakehouse.quality import monitor
from lakehouse.quality.gate import (
    LOCAL_GATE_ROWS,
    DataQualityIssue,
    GateResult,
    describe_failures,
    dq_frames,
    run_gate,
)
from lakehouse.quality.suites import Suite, load_suite
from lakehouse.settings import get_settings
from lakehouse.tenancy import TenantScope

log = logging.getLogger(__name__)

SILVER_JOB = "silver_partner_central"
GOLD_JOB = "gold_ace"
BRONZE_SOURCES: dict[str, str] = {
    "opportunity": "bronze.partner_central_opportunity",
    "solution": "bronze.partner_central_solution",
    "engagement_invitation": "bronze.partner_central_engagement_invitation",
}
GOLD_SOURCES: tuple[str, ...] = (silver.OPPORTUNITY.qualified_name, silver.OPPORTUNITY_SPEND.qualified_name)
OPPORTUNITY_KEYS: tuple[str, ...] = ("tenant_id", "opportunity_id")
_TS_TEXT = "yyyy-MM-dd HH:mm:ss.SSSSSS"  # watermark instants travel as text so no Python timezone shifts them
_DELETE = "_delete"
_NEWER = (
    "s.last_modified_at > t.last_modified_at OR (s.last_modified_at = t.last_modified_at AND "
    "s.source_ingested_at > t.source_ingested_at) OR t.last_modified_at IS NULL"
)

Status = Literal["written", "nothing_new", "unchanged"]


# --------------------------------------------------------------------------------------------- run context


@dataclass
class RunContext:
    """One step run for one tenant: session, ids, run date, PII key source, lineage and staging bookkeeping."""

    spark: SparkSession
    tenant_id: str
    run_id: str
    job_name: str
    as_of: date
    key_provider: KeyProvider | None = None
    events: RunEvents | None = None
    inputs: dict[str, int | None] = field(default_factory=dict)
    outputs: dict[str, int | None] = field(default_factory=dict)
    fresh_run_id: bool = (
        False  # generated in this process (timestamp + random): nothing is recorded under it yet
    )

    @classmethod
    def create(
        cls,
        spark: SparkSession,
        tenant_id: str,
        *,
        job_name: str,
        run_id: str | None = None,
        as_of: date | None = None,
        key_provider: KeyProvider | None = None,
        events: RunEvents | None = None,
        fresh_run_id: bool | None = None,
    ) -> RunContext:
        """A context with a generated run id and today's UTC date unless given.

        ``fresh_run_id``: the run id was generated for this run (default: when ``run_id`` is not given), so its
        ops records are appended; a given run id may be a retry, so its records are merged (replaced)."""
        TenantScope.for_tenant(tenant_id)  # validates the id
        fresh = run_id is None if fresh_run_id is None else fresh_run_id
        run_id = run_id or new_run_id(job_name)
        return cls(
            spark,
            tenant_id,
            run_id,
            job_name,
            as_of or datetime.now(UTC).date(),
            key_provider,
            events or RunEvents(job_name, run_id, tenant_id),
            fresh_run_id=fresh,
        )

    @property
    def scope(self) -> TenantScope:
        """The tenant scope of every read and write of this run."""
        return TenantScope.for_tenant(self.tenant_id)

    def email_key(self) -> bytes:
        """This tenant's HMAC key for contact emails."""
        provider = self.key_provider or default_key_provider()
        return provider.key_for(self.tenant_id)

    @property
    def staging_root(self) -> str:
        """Where this run materialises intermediates (removed when the step ends)."""
        return f"{get_settings().lake_root.rstrip('/')}/_staging/{self.tenant_id}/{self.run_id}"


def new_run_id(prefix: str) -> str:
    """A run id no earlier run has: prefix, UTC second and 32 random bits."""
    return f"{prefix}-{datetime.now(UTC):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}"


@dataclass(frozen=True)
class StepOutcome:
    """What a step run did: status, the writes it made, row counts and the quality issues it recorded."""

    job_name: str
    tenant_id: str
    run_id: str
    status: Status
    writes: dict[str, WriteResult] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    issues: tuple[DataQualityIssue, ...] = ()


@contextmanager
def step_run(rc: RunContext) -> Iterator[RunContext]:
    """Emit OpenLineage START, then COMPLETE or FAIL; always remove the run's staging tables."""
    if rc.events:
        rc.events.start({})
    try:
        yield rc
    except BaseException as exc:
        if rc.events:
            rc.events.fail(rc.inputs, exc)
        raise
    else:
        if rc.events:
            rc.events.complete(rc.inputs, rc.outputs)
    finally:
        _remove_tree(rc.staging_root)


def _stage(rc: RunContext, name: str, df: DataFrame) -> DataFrame:
    """Materialise ``df`` as a staging Delta table and return a plain read of it."""
    path = f"{rc.staging_root}/{name}"
    df.write.format("delta").mode("overwrite").options(**io.WRITE_OPTIONS).save(path)
    return rc.spark.read.format("delta").load(path)


def _remove_tree(path: str) -> None:
    """``io.remove_tree``, then the tenant's local staging folder too once no other run of it is staging."""
    io.remove_tree(path)
    if not path.startswith(("s3://", "s3a://")):
        import os

        try:
            os.rmdir(os.path.dirname(path))
        except OSError:
            pass


def _declared(name: str) -> TableDef | None:
    try:
        return catalog.get(name)
    except catalog.UnknownTable:
        return None


def _suite(table: str, *, allow_quarantine: bool) -> Suite:
    suite = load_suite(table)
    if not allow_quarantine and suite.by_action("quarantine"):
        names = [e.name for e in suite.by_action("quarantine")]
        raise BadInput(
            f"{suite.source}: {table} rows carry no payload to quarantine; use warn or fail for {names}"
        )
    return suite


# ----------------------------------------------------------------------------------------------- watermarks


@dataclass(frozen=True)
class Watermark:
    """How far a step has processed one source for one tenant."""

    high: str | None  # highest ingested_at processed, as text (yyyy-MM-dd HH:mm:ss.SSSSSS, UTC)
    run_ids: tuple[str, ...] = ()
    source_version: int | None = None
    as_of: date | None = None


def read_watermarks(spark: SparkSession, scope: TenantScope, pipeline: str) -> dict[str, Watermark]:
    """The step's watermarks by source table."""
    if not io.exists(ops.PIPELINE_WATERMARK):
        return {}
    rows = (
        io.read(spark, ops.PIPELINE_WATERMARK, scope)
        .where(F.col("pipeline") == F.lit(pipeline))
        .select(
            "source_table",
            F.date_format("high_ingested_at", _TS_TEXT).alias("high"),
            "run_ids_at_high",
            "source_version",
            "as_of_date",
        )
        .collect()
    )
    return {
        r["source_table"]: Watermark(
            r["high"], tuple(r["run_ids_at_high"] or ()), r["source_version"], r["as_of_date"]
        )
        for r in rows
    }


def _watermark_frame(rc: RunContext, pipeline: str, marks: dict[str, Watermark]) -> DataFrame:
    rows = [
        (rc.tenant_id, pipeline, table, m.high, list(m.run_ids), m.source_version, m.as_of, rc.run_id)
        for table, m in sorted(marks.items())
    ]
    raw = rc.spark.createDataFrame(
        rows,
        "tenant_id string, pipeline string, source_table string, high string, run_ids_at_high array<string>, "
        "source_version bigint, as_of_date date, updated_run_id string",
    )
    return raw.select(
        "tenant_id",
        "pipeline",
        "source_table",
        F.to_timestamp("high").alias("high_ingested_at"),
        "run_ids_at_high",
        "source_version",
        "as_of_date",
        "updated_run_id",
        F.current_timestamp().alias("updated_at"),
    )


def _after(mark: Watermark | None) -> Any:
    """Predicate for bronze rows not yet processed under ``mark``."""
    if mark is None or mark.high is None:
        return F.lit(True)
    high = F.to_timestamp(F.lit(mark.high))
    same_instant_new_run = (F.col("ingested_at") == high) & (
        ~F.col("ingestion_run_id").isin(*mark.run_ids) if mark.run_ids else F.lit(True)
    )
    return (F.col("ingested_at") > high) | same_instant_new_run


# --------------------------------------------------------------------------------------------------- silver


@dataclass
class SourceBatch:
    """The new bronze rows of one source for this run."""

    entity: str
    table: TableDef
    version: int | None
    rows: DataFrame
    count: int
    watermark: Watermark


@dataclass
class SilverExtract:
    sources: dict[str, SourceBatch]

    @property
    def empty(self) -> bool:
        return not self.sources


@dataclass
class SilverBatch:
    """Staged, parsed batches: changed (latest, newer than silver) rows per entity, and parse quarantine."""

    extract: SilverExtract
    changed: dict[str, DataFrame]
    quarantine: list[DataFrame]
    counts: dict[str, int]


@dataclass
class CheckedSilver:
    """Frames ready to load (in table shape), with the gate results that let them through."""

    batch: SilverBatch
    frames: dict[str, DataFrame]
    parents: DataFrame | None
    gates: list[GateResult]
    counts: dict[str, int]


def extract_silver(rc: RunContext) -> SilverExtract:
    """The tenant's bronze rows past the watermark, per source (bronze read at a pinned version)."""
    marks = read_watermarks(rc.spark, rc.scope, SILVER_JOB)
    sources: dict[str, SourceBatch] = {}
    for entity, name in BRONZE_SOURCES.items():
        td = _declared(name)
        if td is None or not io.exists(td):
            continue
        version = io.table_version(td)
        mark = marks.get(name)
        rows = io.read(rc.spark, td, rc.scope, version=version).where(_after(mark))
        stats = rows.agg(
            F.count(F.lit(1)).alias("n"), F.date_format(F.max("ingested_at"), _TS_TEXT).alias("high")
        ).collect()[0]
        if not stats["n"]:
            continue
        high = stats["high"]
        at_high = rows.where(F.date_format("ingested_at", _TS_TEXT) == F.lit(high))
        run_ids = {r[0] for r in at_high.select("ingestion_run_id").distinct().collect()}
        if mark is not None and mark.high == high:
            run_ids |= set(mark.run_ids)
        rc.inputs[name] = version
        sources[entity] = SourceBatch(
            entity,
            td,
            version,
            rows,
            int(stats["n"]),
            Watermark(high, tuple(sorted(r for r in run_ids if r is not None)), version),
        )
    return SilverExtract(sources)


_PARSE: dict[str, tuple[Callable[..., DataFrame], TableDef, str, bool]] = {
    "opportunity": (silver_tx.parse_opportunities, silver.OPPORTUNITY, "opportunity_id", True),
    "solution": (silver_tx.parse_solutions, silver.SOLUTION, "solution_id", False),
    "engagement_invitation": (
        silver_tx.parse_engagement_invitations,
        silver.ENGAGEMENT_INVITATION,
        "invitation_id",
        True,
    ),
}


def transform_silver(rc: RunContext, extract: SilverExtract) -> SilverBatch:
    """Parse, redact and type each source, split quarantine, keep the latest versions newer than silver."""
    key = rc.email_key() if extract.sources else b""
    changed: dict[str, DataFrame] = {}
    quarantine: list[DataFrame] = []
    counts: dict[str, int] = {}
    for entity, batch in extract.sources.items():
        parse, td, id_column, needs_key = _PARSE[entity]
        parsed_df = parse(batch.rows, email_key=key) if needs_key else parse(batch.rows)
        parsed = _stage(rc, f"{entity}_parsed", parsed_df)
        valid, bad = silver_tx.split_quarantine(parsed)
        quarantine.append(silver_tx.to_quarantine(bad, entity=entity, id_column=id_column, run_id=rc.run_id))
        changed[entity] = _stage(rc, f"{entity}_changed", _latest_newer(rc, valid, td))
        counts[f"{entity}.bronze_rows"] = batch.count
        counts[f"{entity}.quarantined"] = int(bad.count())
        counts[f"{entity}.changed"] = int(changed[entity].count())
    return SilverBatch(extract, changed, quarantine, counts)


def _latest_newer(rc: RunContext, valid: DataFrame, td: TableDef) -> DataFrame:
    """Rows of ``valid`` that are their key's latest version and newer than what ``td`` holds.

    Ranked on a narrow projection, then semi-joined back: sorting the wide parsed rows costs twice as much.
    """
    keys = list(td.keys)
    version = ["last_modified_at", "source_ingested_at", "source_payload_sha256", "source_ingestion_run_id"]
    current = io.read(rc.spark, td, rc.scope).select(*keys, "last_modified_at", "source_ingested_at")
    winners = silver_tx.newer_than_current(
        silver_tx.latest_versions(valid.select(*keys, *version), keys), current, keys
    )
    return valid.join(winners.select(*keys, *version[1:]), on=[*keys, *version[1:]], how="left_semi")


def check_silver(rc: RunContext, batch: SilverBatch) -> CheckedSilver:
    """Run every silver table's gate; on a violated ``fail`` record the issues and raise QualityGateFailed."""
    frames: dict[str, DataFrame] = {}
    gates: list[GateResult] = []
    parents: DataFrame | None = None
    counts = dict(batch.counts)
    quarantine = list(batch.quarantine)

    def gate(df: DataFrame, table: str, allow: bool = False, rows: int | None = None) -> GateResult:
        return run_gate(
            df, _suite(table, allow_quarantine=allow), tenant_id=rc.tenant_id, run_id=rc.run_id, rows=rows
        )

    opportunities = batch.changed.get("opportunity")
    if opportunities is not None and counts.get("opportunity.changed"):
        changed = counts["opportunity.changed"]
        g = gate(opportunities, silver.OPPORTUNITY.qualified_name, True, changed)
        gates.append(g)
        if g.quarantined is not None:
            quarantine.append(_gate_quarantine(rc, g.quarantined, batch.extract.sources["opportunity"].rows))
            counts["opportunity.gate_quarantined"] = int(g.quarantined.count())
        passed = g.passed
        parents = passed.select(*OPPORTUNITY_KEYS)
        frames[silver.OPPORTUNITY.qualified_name] = silver_tx.to_opportunity(passed)
        for td, build in (
            (silver.OPPORTUNITY_SPEND, silver_tx.to_opportunity_spend),
            (silver.OPPORTUNITY_CONTACT, silver_tx.to_opportunity_contact),
        ):
            # a large batch is staged: each GX metric on Spark and the MERGE would otherwise explode the parsed rows
            # again; a small one is collected once for the gate and exploded again for the MERGE
            children = build(passed)
            child_gate = gate(
                _stage(rc, td.name, children) if changed > LOCAL_GATE_ROWS else children, td.qualified_name
            )
            gates.append(child_gate)
            frames[td.qualified_name] = child_gate.passed
    for entity, td, build in (
        ("solution", silver.SOLUTION, silver_tx.to_solution),
        ("engagement_invitation", silver.ENGAGEMENT_INVITATION, silver_tx.to_engagement_invitation),
    ):
        rows = batch.changed.get(entity)
        if rows is not None and counts.get(f"{entity}.changed"):
            g = gate(build(rows), td.qualified_name, rows=counts[f"{entity}.changed"])
            gates.append(g)
            frames[td.qualified_name] = g.passed
    if quarantine:
        union = quarantine[0]
        for part in quarantine[1:]:
            union = union.unionByName(part)
        # one row per key even if bronze holds the same payload twice: the latest landing wins
        frames[silver.OPPORTUNITY_QUARANTINE.qualified_name] = silver_tx.latest_versions(
            union, silver.OPPORTUNITY_QUARANTINE.keys, order=("ingested_at", "ingestion_run_id")
        )
    failed = [g for g in gates if g.failures]
    if failed:
        _record_quality(rc, gates)
        raise QualityGateFailed(describe_failures(failed))
    return CheckedSilver(batch, frames, parents, gates, counts)


def _gate_quarantine(rc: RunContext, rows: DataFrame, bronze_rows: DataFrame) -> DataFrame:
    """Quarantine rows for opportunities a gate expectation rejected (payload redacted from bronze)."""
    on = ["source_payload_sha256", "source_ingestion_run_id", "source_ingested_at"]
    # pick the rejected rows' payloads first, then redact: redacting every bronze payload of the batch before
    # the join cost 2.7 s per 100k rows
    payloads = (
        bronze_rows.select(
            F.col("payload_sha256").alias(on[0]),
            F.col("ingestion_run_id").alias(on[1]),
            F.col("ingested_at").alias(on[2]),
            "payload",
        )
        .join(rows.select(*on), on=on, how="left_semi")
        .dropDuplicates(on)
        .select(*on, redact_json_text(F.col("payload"), silver.PAYLOAD_PII_KEYS).alias("_p"))
    )
    joined = rows.select("tenant_id", "opportunity_id", "gate_reason", *on).join(payloads, on=on, how="left")
    return joined.select(
        "tenant_id",
        "opportunity_id",
        F.lit("opportunity").alias("entity"),
        F.col("opportunity_id").alias("entity_id"),
        F.col("gate_reason").alias("reason"),
        F.col("_p").alias("payload"),
        F.col("source_payload_sha256").alias("payload_sha256"),
        F.col("source_ingestion_run_id").alias("ingestion_run_id"),
        F.col("source_ingested_at").alias("ingested_at"),
        F.lit(rc.run_id).alias("quarantine_run_id"),
    )


def load_silver(rc: RunContext, checked: CheckedSilver) -> StepOutcome:
    """MERGE the checked frames into silver, then quality records, lineage edges and the watermark."""
    writes: dict[str, WriteResult] = {}
    counts = dict(checked.counts)
    clusters: dict[str, list[str]] | None = None
    if checked.parents is not None:
        touched = touched_clusters(rc, checked.frames[silver.OPPORTUNITY.qualified_name], checked.parents)
        clusters = {silver.FILE_CLUSTER: touched}
        counts["opportunity.clusters_touched"] = len(touched)
    # the frames are projections, filters and explodes of the staged batches: Sail merges from them directly
    for td in (silver.OPPORTUNITY, silver.SOLUTION, silver.ENGAGEMENT_INVITATION):
        df = checked.frames.get(td.qualified_name)
        if df is not None:
            _write(
                rc,
                writes,
                td,
                df,
                update_condition=_NEWER,
                target_filter=clusters if td is silver.OPPORTUNITY else None,
                stage=False,
            )
    if checked.parents is not None:
        for td in (silver.OPPORTUNITY_SPEND, silver.OPPORTUNITY_CONTACT):
            _write(
                rc,
                writes,
                td,
                checked.frames[td.qualified_name],
                replace_children_of=checked.parents,
                target_filter=clusters,
            )
    q = checked.frames.get(silver.OPPORTUNITY_QUARANTINE.qualified_name)
    if q is not None:
        _write(rc, writes, silver.OPPORTUNITY_QUARANTINE, q)
    for name, result in writes.items():
        counts[f"{name}.rows_written"] = int(result.rows)
        rc.outputs[name] = result.version
    _record_quality(rc, checked.gates)
    _record_lineage(rc)
    marks = {b.table.qualified_name: b.watermark for b in checked.batch.extract.sources.values()}
    if marks:
        io.merge(rc.spark, ops.PIPELINE_WATERMARK, _watermark_frame(rc, SILVER_JOB, marks), rc.scope)
    issues = tuple(i for g in checked.gates for i in g.issues)
    return StepOutcome(rc.job_name, rc.tenant_id, rc.run_id, "written", writes, counts, issues)


def _write(
    rc: RunContext, writes: dict[str, WriteResult], td: TableDef, df: DataFrame, **merge_options: Any
) -> None:
    """Merge ``df`` into ``td`` unless it is empty; refuses frames that carry raw personal data."""
    assert_no_raw_pii(df, td)
    result = merge_into(rc, td, df, **merge_options)
    if result is not None:
        writes[td.qualified_name] = result


def merge_into(
    rc: RunContext,
    td: TableDef,
    df: DataFrame,
    *,
    update_condition: str | None = None,
    replace_children_of: DataFrame | None = None,
    target_filter: Mapping[str, Sequence[str]] | None = None,
    stage: bool = True,
) -> WriteResult | None:
    """Upsert ``df`` into the tenant's partition of ``td`` on its keys, staged; None when nothing was written.

    With ``replace_children_of`` (parent key rows), the rows of those parents that ``df`` no longer contains
    are deleted in the same commit. With ``target_filter`` ({partition column: values}) the MERGE reads and
    rewrites only the target files in those partitions. ``stage=False`` for small frames built from local
    rows (ops records): staging exists for plans Sail cannot MERGE from, and costs a Delta write per call.
    """
    try:
        result = io.merge(
            rc.spark,
            td,
            df,
            rc.scope,
            update_condition=update_condition,
            replace_within=replace_children_of,
            stage=stage,
            target_filter=target_filter,
        )
    except io.LayoutMismatch as exc:
        raise io.LayoutMismatch(
            f"{exc} - for {rc.job_name}: remove {td.path()} and the {rc.job_name} rows of "
            f"{ops.PIPELINE_WATERMARK.qualified_name}, then run the pipeline again"
        ) from exc
    return result if result.committed else None


def touched_clusters(rc: RunContext, opportunities: DataFrame, parents: DataFrame) -> list[str]:
    """The file clusters an opportunity MERGE must reach: the changed rows' new clusters and, for keys silver
    already holds, their current clusters (their children sit there too)."""
    keys = list(OPPORTUNITY_KEYS)
    current = io.read(rc.spark, silver.OPPORTUNITY, rc.scope).select(*keys, silver.FILE_CLUSTER)
    old = current.join(parents.select(*keys), on=keys, how="left_semi").select(silver.FILE_CLUSTER)
    both = old.unionByName(opportunities.select(silver.FILE_CLUSTER)).distinct()
    return sorted(r[0] for r in both.collect() if r[0] is not None)


def _record_quality(rc: RunContext, gates: Sequence[GateResult]) -> None:
    """Write the gates' DataQualityIssues and results to ops (merge on run id: re-runs are idempotent)."""
    if not gates:
        return
    issues, results = dq_frames(rc.spark, gates)
    if any(g.issues for g in gates):
        _record(rc, ops.DQ_ISSUE, issues)
    _record(rc, ops.DQ_RESULT, results)


def _record_lineage(rc: RunContext) -> None:
    if rc.inputs and rc.outputs:
        rows = edges(rc.tenant_id, rc.run_id, rc.job_name, rc.inputs, rc.outputs)
        _record(rc, ops.LINEAGE_EDGE, edges_frame(rc.spark, rows))


def _record(rc: RunContext, td: TableDef, df: DataFrame) -> None:
    """Write a run's ops records (keyed by run id; each step records each table once): appended under a fresh
    run id, which has no records yet (an append is ~4x cheaper than a MERGE: ~0.04 s against ~0.15 s on Sail);
    merged under a given run id, which may be a retry of a run that recorded some already."""
    if rc.fresh_run_id:
        io.append(rc.spark, td, df, rc.scope)
    else:
        merge_into(rc, td, df, stage=False)


def observe(rc: RunContext, outcome: StepOutcome) -> StepOutcome:
    """Profile every table the step wrote and record anomalies against their history (lakehouse.quality.monitor);
    the outcome's issues then include the anomalies."""
    seen = monitor.observe_writes(
        rc.spark, rc.tenant_id, rc.run_id, outcome.writes, fresh_run_id=rc.fresh_run_id
    )
    return replace(outcome, issues=outcome.issues + seen.issues) if seen.issues else outcome


def run_silver(rc: RunContext) -> StepOutcome:
    """The whole silver step (what ``jobs/silver_partner_central.py`` runs)."""
    with step_run(rc):
        extracted = extract_silver(rc)
        if extracted.empty:
            return StepOutcome(rc.job_name, rc.tenant_id, rc.run_id, "nothing_new")
        batch = transform_silver(rc, extracted)
        checked = check_silver(rc, batch)
        return observe(rc, load_silver(rc, checked))


# ----------------------------------------------------------------------------------------------------- gold


@dataclass
class GoldExtract:
    versions: dict[str, int | None]
    opportunity: DataFrame | None = None
    spend: DataFrame | None = None
    # silver file clusters changed since the versions gold last consumed (None: recompute every cluster)
    touched: set[str | None] | None = None

    @property
    def empty(self) -> bool:
        return self.opportunity is None


@dataclass
class CheckedGold:
    extract: GoldExtract
    marts: dict[str, DataFrame]
    gates: list[GateResult]


def extract_gold(rc: RunContext) -> GoldExtract:
    """Silver at pinned versions, or nothing when silver and the run date are what gold last consumed."""
    versions = {name: io.table_version(name) for name in GOLD_SOURCES}
    marks = read_watermarks(rc.spark, rc.scope, GOLD_JOB)
    consumed = all(
        name in marks and marks[name].source_version == v and marks[name].as_of == rc.as_of
        for name, v in versions.items()
    )
    if consumed or versions[silver.OPPORTUNITY.qualified_name] is None:
        return GoldExtract(versions)
    rc.inputs.update(versions)
    opportunity = io.read(
        rc.spark, silver.OPPORTUNITY, rc.scope, version=versions[silver.OPPORTUNITY.qualified_name]
    )
    spend = io.read(
        rc.spark,
        silver.OPPORTUNITY_SPEND,
        rc.scope,
        version=versions[silver.OPPORTUNITY_SPEND.qualified_name],
    )
    return GoldExtract(versions, opportunity, spend, _clusters_changed_since_gold(rc, marks, versions))


def _clusters_changed_since_gold(
    rc: RunContext, marks: dict[str, Watermark], versions: dict[str, int | None]
) -> set[str | None] | None:
    """The silver file clusters whose rows changed since the versions gold last consumed (from the Delta log), or
    None when gold must recompute all of them: no stored facts, a new run date (``stale`` depends on it), or a
    history the log cannot tell."""
    if not io.exists(gold.ACE_FACTS):
        return None
    touched: set[str | None] = set()
    for name, version in versions.items():
        mark = marks.get(name)
        if mark is None or mark.source_version is None or mark.as_of != rc.as_of or version is None:
            return None
        if version == mark.source_version:
            continue
        changed = io.changed_partitions(name, rc.scope, mark.source_version, silver.FILE_CLUSTER)
        if changed is None:
            return None
        touched |= changed
    return touched


def transform_gold(rc: RunContext, extract: GoldExtract) -> dict[str, DataFrame]:
    """The three ACE marts for the tenant and the ``gold.ace_facts`` they derive from; empty when the facts are
    what gold already holds (then so are the marts: they are written before the facts).

    Facts (the finest grain the marts need, per silver file cluster: ~10k rows at 1M opportunities) are
    recomputed from silver only for the clusters that changed since gold last ran (all clusters on a first run
    or a new run date) and taken from the stored facts for the rest, then held locally; the marts are derived
    from that local copy, so no gate metric, comparison or write check scans silver again.
    """
    assert extract.opportunity is not None and extract.spend is not None
    opportunity, spend = extract.opportunity, extract.spend
    # through pandas (Arrow both ways): Row objects cost ~40 us each
    stored = io.read(rc.spark, gold.ACE_FACTS, rc.scope).toPandas() if io.exists(gold.ACE_FACTS) else None
    parts = []
    if extract.touched is not None and stored is not None:
        in_touched = _in_clusters(extract.touched)
        opportunity, spend = opportunity.where(in_touched), spend.where(in_touched)
        cluster = stored[silver.FILE_CLUSTER]
        untouched = ~cluster.isin([c for c in extract.touched if c is not None])
        if None in extract.touched:
            untouched &= cluster.notna()
        parts.append(stored[untouched])
    parts.append(gold_tx.ace_facts(opportunity, spend, as_of=rc.as_of).toPandas())
    local = pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]
    if stored is not None and _row_multiset(local) == _row_multiset(stored):
        return {}
    facts = rc.spark.createDataFrame(local, gold.ACE_FACTS.schema)
    marts = {
        gold.ACE_PIPELINE.qualified_name: gold_tx.pipeline_from_facts(facts),
        gold.ACE_WIN_RATE.qualified_name: gold_tx.win_rate_from_facts(facts),
        gold.ACE_PIPELINE_HEALTH.qualified_name: gold_tx.health_from_facts(facts),
    }
    return {**{name: _local(rc, df) for name, df in marts.items()}, gold.ACE_FACTS.qualified_name: facts}


def _in_clusters(clusters: set[str | None]) -> Any:
    values = sorted(c for c in clusters if c is not None)
    cond = F.col(silver.FILE_CLUSTER).isin(*values) if values else F.lit(False)
    return cond | F.col(silver.FILE_CLUSTER).isNull() if None in clusters else cond


def _local(rc: RunContext, df: DataFrame) -> DataFrame:
    """``df`` computed once and held as local rows (for small results)."""
    return rc.spark.createDataFrame(df.toPandas(), df.schema)


def check_gold(rc: RunContext, extract: GoldExtract, marts: dict[str, DataFrame]) -> CheckedGold:
    """Gate every mart; on a violated ``fail`` record the issues and raise QualityGateFailed."""
    gates = [
        run_gate(df, _suite(name, allow_quarantine=False), tenant_id=rc.tenant_id, run_id=rc.run_id)
        for name, df in marts.items()
    ]
    failed = [g for g in gates if g.failures]
    if failed:
        _record_quality(rc, gates)
        raise QualityGateFailed(describe_failures(failed))
    return CheckedGold(extract, {g.table: g.passed for g in gates}, gates)


def load_gold(rc: RunContext, checked: CheckedGold) -> StepOutcome:
    """Overwrite the tenant's partition of each mart whose content changed; then ops records."""
    writes: dict[str, WriteResult] = {}
    for name, df in checked.marts.items():
        td = catalog.get(name)
        assert_no_raw_pii(df, td)
        # transform_gold passes the facts only when they changed; a mart may still be what gold holds
        if td is not gold.ACE_FACTS and _same_rows(df, io.read(rc.spark, td, rc.scope)):
            continue
        writes[name] = io.overwrite_partition(rc.spark, td, df, rc.scope)
        rc.outputs[name] = writes[name].version
    if not writes:
        return StepOutcome(rc.job_name, rc.tenant_id, rc.run_id, "unchanged")
    _record_quality(rc, checked.gates)
    _record_lineage(rc)
    marks = {name: Watermark(None, (), v, rc.as_of) for name, v in checked.extract.versions.items()}
    io.merge(rc.spark, ops.PIPELINE_WATERMARK, _watermark_frame(rc, GOLD_JOB, marks), rc.scope)
    counts = {f"{name}.rows_written": int(w.rows) for name, w in writes.items()}
    issues = tuple(i for g in checked.gates for i in g.issues)
    return StepOutcome(rc.job_name, rc.tenant_id, rc.run_id, "written", writes, counts, issues)


def _same_rows(a: DataFrame, b: DataFrame) -> bool:
    """Whether two small frames hold the same multiset of rows (compared locally: one Arrow transfer each)."""
    return _row_multiset(a.toPandas()) == _row_multiset(b.select(*a.columns).toPandas())


def _row_multiset(frame: pd.DataFrame) -> Counter[tuple[Any, ...]]:
    values = frame.astype(object)
    values = values.where(values.notna(), None)  # NaN and NaT (nulls in numeric/time columns) compare as None
    return Counter(values.itertuples(index=False, name=None))


def run_gold(rc: RunContext) -> StepOutcome:
    """The whole gold step (what ``jobs/gold_ace.py`` runs)."""
    with step_run(rc):
        extracted = extract_gold(rc)
        if extracted.empty:
            return StepOutcome(rc.job_name, rc.tenant_id, rc.run_id, "nothing_new")
        marts = transform_gold(rc, extracted)
        checked = check_gold(rc, extracted, marts)
        return observe(rc, load_gold(rc, checked))


# ------------------------------------------------------------------------------------------------ pipeline

STEP_RUNNERS = {SILVER_JOB: run_silver, GOLD_JOB: run_gold}


def run_platinum(
    spark: SparkSession, tenant_id: str, *, run_id: str, as_of: date | None = None, fresh_run_id: bool = True
) -> list[StepOutcome]:
    """The platinum steps (embeddings, knowledge graph, features and scores) for one tenant, in order."""
    from lakehouse.platinum.steps import PLATINUM_STEPS

    outcomes: list[StepOutcome] = []
    for name, runner in PLATINUM_STEPS:
        rc = RunContext.create(
            spark, tenant_id, job_name=name, run_id=f"{run_id}.{name}", as_of=as_of, fresh_run_id=fresh_run_id
        )
        outcomes.append(runner(rc))
    return outcomes


def run_pipeline(
    spark: SparkSession,
    tenant_id: str,
    *,
    until: str = "gold",
    run_id: str | None = None,
    as_of: date | None = None,
    key_provider: KeyProvider | None = None,
) -> list[StepOutcome]:
    """Run the silver (and gold, then platinum) steps for one tenant, in ``lakehouse.pipeline_steps`` order."""
    from lakehouse import pipeline_steps

    if until not in ("silver", "gold", "platinum"):
        raise BadInput(f"--until must be silver, gold or platinum, got {until!r}")
    fresh = run_id is None
    run_id = run_id or new_run_id("pipeline")
    outcomes: list[StepOutcome] = []
    for step in pipeline_steps.until(until):
        if step.layer == "bronze":
            continue  # ingestion has its own command (lakehouse ingest ...)
        if step.layer == "platinum":
            outcomes.extend(run_platinum(spark, tenant_id, run_id=run_id, as_of=as_of, fresh_run_id=fresh))
            continue
        runner = STEP_RUNNERS.get(step.name)
        if runner is None:
            raise BadInput(
                f"pipeline step {step.name!r} has no runner in lakehouse.partner_central.pipeline.STEP_RUNNERS"
            )
        rc = RunContext.create(
            spark,
            tenant_id,
            job_name=step.name,
            run_id=f"{run_id}.{step.name}",
            as_of=as_of,
            key_provider=key_provider,
            fresh_run_id=fresh,
        )
        outcomes.append(runner(rc))
    return outcomes


def kpis(spark: SparkSession, tenant_id: str) -> dict[str, list[dict[str, Any]]]:
    """The tenant's gold marts as plain rows (for the CLI and the demo)."""
    scope = TenantScope.for_tenant(tenant_id)
    out: dict[str, list[dict[str, Any]]] = {}
    for td in gold.GOLD_TABLES:
        if not io.exists(td):
            out[td.qualified_name] = []
            continue
        df = io.read(spark, td, scope).drop(TENANT_COLUMN)
        order = [c for c in td.keys if c != TENANT_COLUMN]
        rows = df.orderBy(*[F.col(c).asc_nulls_last() for c in order]).collect() if order else df.collect()
        out[td.qualified_name] = [r.asDict() for r in rows]
    return out
