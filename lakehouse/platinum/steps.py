"""The platinum steps, per tenant, after gold: embeddings (+ vector index), knowledge graph, features and scores.

Each step is extract -> transform -> check (the table's quality suite, beside it in ``suites/``) -> load through
``lakehouse.io`` (tenant checks on every write), like the silver and gold steps of ``lakehouse.partner_central.pipeline``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from lakehouse import io
from lakehouse import ops as gold
from lakehouse.catalog import TableDef
from lakehouse.errors import BadInput, QualityGateFailed
from lakehouse.io import WriteResult
from lakehouse.partner_central.entities import silver
from lakehouse.partner_central.pipeline import _TS_TEXT as TS_TEXT
from lakehouse.partner_central.pipeline import (
    RunContext,
    Status,
    StepOutcome,
    Watermark,
    _record_quality,
    _watermark_frame,
    read_watermarks,
    step_run,
)
from lakehouse.platinum import docs, embeddings, features, kg, model
from lakehouse.platinum import entities as tables
from lakehouse.platinum.embedding import Embedder, default_embedder
from lakehouse.platinum.vector_index import TenantVectorIndex
from lakehouse.quality.gate import DataQualityIssue, GateResult, describe_failures, run_gate
from lakehouse.quality.suites import Suite, load_suite

EMBEDDINGS_JOB = "platinum_embeddings"
KG_JOB = "platinum_kg"
FEATURES_JOB = "platinum_features"
log = logging.getLogger(__name__)


def suite(td: TableDef) -> Suite:
    """The quality suite declared beside the platinum tables for ``td``."""
    return load_suite(td.qualified_name)


def gate(rc: RunContext, td: TableDef, df: DataFrame, rows: int | None = None) -> GateResult:
    """Validate ``df`` against ``td``'s suite; record the results and raise QualityGateFailed on a failure."""
    result = run_gate(df, suite(td), tenant_id=rc.tenant_id, run_id=rc.run_id, rows=rows)
    if result.failures:
        _record_quality(rc, [result])
        raise QualityGateFailed(describe_failures([result]))
    return result


def run_embeddings(rc: RunContext, *, embedder: Embedder | None = None, index: bool = True) -> StepOutcome:
    """Embed the tenant's new or changed opportunities, solutions and doc chunks; update its vector index.

    A silver source whose Delta version is the one the last run consumed, with every stored row embedded by
    this embedder, is skipped without reading it; doc chunks are always listed (files carry no version)."""
    with step_run(rc):
        model = embedder or default_embedder()
        vectors = TenantVectorIndex(rc.scope) if index else None
        spark, scope = rc.spark, rc.scope
        marks = read_watermarks(spark, scope, EMBEDDINGS_JOB)
        chunks = docs.project_doc_chunks() + docs.knowledge_pack_chunks(scope)
        sources: list[tuple[TableDef, TableDef | None, Callable[[], DataFrame], bool]] = [
            (
                tables.OPPORTUNITY_EMBEDDING,
                silver.OPPORTUNITY,
                lambda: embeddings.opportunity_texts(io.read(spark, silver.OPPORTUNITY, scope)),
                False,
            ),
            (
                tables.SOLUTION_EMBEDDING,
                silver.SOLUTION,
                lambda: embeddings.solution_texts(io.read(spark, silver.SOLUTION, scope)),
                False,
            ),
            (
                tables.DOC_CHUNK_EMBEDDING,
                None,
                lambda: embeddings.doc_texts(spark, rc.tenant_id, chunks),
                True,
            ),
        ]
        writes: dict[str, WriteResult] = {}
        counts: dict[str, int] = {}
        gates: list[GateResult] = []
        consumed: dict[str, Watermark] = {}
        for td, origin, build, delete_missing in sources:
            if origin is not None:
                version = io.table_version(origin)
                mark = marks.get(origin.qualified_name)
                if version is None or (
                    mark is not None
                    and mark.source_version == version
                    and embeddings.stored_models(spark, scope, td) <= {model.model_id}
                ):
                    counts[f"{td.qualified_name}.skipped"] = 1
                    continue
                consumed[origin.qualified_name] = Watermark(None, (), version, rc.as_of)
            change = embeddings.refresh(
                spark, scope, td, build(), model, run_id=rc.run_id, delete_missing=delete_missing
            )
            frame = embeddings.frame_of(spark, change)
            if len(change.embedded):
                gates.append(gate(rc, td, frame, rows=len(change.embedded)))
            result = embeddings.apply(spark, scope, change, frame, vectors)
            counts[f"{td.qualified_name}.embedded"] = len(change.embedded)
            counts[f"{td.qualified_name}.deleted"] = len(change.deleted_ids)
            if result is not None and result.committed:
                writes[td.qualified_name] = result
                rc.outputs[td.qualified_name] = result.version
        if gates:
            _record_quality(rc, gates)
        if consumed:
            rc.inputs.update({name: m.source_version for name, m in consumed.items()})
            io.merge(spark, gold.PIPELINE_WATERMARK, _watermark_frame(rc, EMBEDDINGS_JOB, consumed), scope)
        issues = tuple(i for g in gates for i in g.issues)
        return StepOutcome(
            rc.job_name, rc.tenant_id, rc.run_id, "written" if writes else "unchanged", writes, counts, issues
        )


# (silver table, node type of its rows, edge derivation, the node id of a row)
KG_SOURCES: tuple[tuple[TableDef, str, Callable[[DataFrame], DataFrame], Callable[[], Column]], ...] = (
    (silver.OPPORTUNITY, "opportunity", kg.opportunity_edges, kg.opportunity_node),
    (silver.ENGAGEMENT_INVITATION, "engagement", kg.engagement_edges, kg.engagement_node),
)


def run_kg(rc: RunContext) -> StepOutcome:
    """Re-derive the graph edges of the silver rows that changed since the last run; insert new edges, close
    those that went away (one MERGE), then move the watermark."""
    with step_run(rc):
        spark, scope = rc.spark, rc.scope
        marks = read_watermarks(spark, scope, KG_JOB)
        current: list[DataFrame] = []
        sources: list[DataFrame] = []
        new_marks: dict[str, Watermark] = {}
        for td, node, derive, node_id in KG_SOURCES:
            version = io.table_version(td)
            if version is None:
                continue
            rows = io.read(spark, td, scope, version=version)
            mark = marks.get(td.qualified_name)
            if mark is not None and mark.high is not None:
                # >= : re-deriving rows at the mark is harmless (their edges are unchanged), missing one is not
                rows = rows.where(F.col("source_ingested_at") >= F.to_timestamp(F.lit(mark.high)))
            high = rows.agg(F.date_format(F.max("source_ingested_at"), TS_TEXT)).collect()[0][0]
            if high is None:
                continue
            rc.inputs[td.qualified_name] = version
            new_marks[td.qualified_name] = Watermark(high, (), version)
            current.append(derive(rows))
            sources.append(
                rows.select(
                    "tenant_id",
                    F.lit(node).alias("src_type"),
                    node_id().alias("src_id"),
                    F.col("last_modified_at").alias("changed_at"),
                )
            )
        if not current:
            return StepOutcome(rc.job_name, rc.tenant_id, rc.run_id, "nothing_new")
        edges, changed = _union(current), _union(sources)
        stored = io.read(spark, tables.KG_EDGE, scope)
        batch = (
            kg.changes(edges, changed, stored, now=F.current_timestamp())
            .withColumn("run_id", F.lit(rc.run_id))
            .select(*tables.KG_EDGE.schema.fieldNames())
        )
        edge_rows: Any = batch.toPandas()
        local = spark.createDataFrame(edge_rows, tables.KG_EDGE.schema)
        writes: dict[str, WriteResult] = {}
        issues: tuple[DataQualityIssue, ...] = ()
        if len(edge_rows):
            checked = gate(rc, tables.KG_EDGE, local, rows=len(edge_rows))
            result = io.merge(spark, tables.KG_EDGE, local, scope)
            if result.committed:
                writes[tables.KG_EDGE.qualified_name] = result
                rc.outputs[tables.KG_EDGE.qualified_name] = result.version
            _record_quality(rc, [checked])
            issues = tuple(checked.issues)
        moved = {n: m for n, m in new_marks.items() if n not in marks or marks[n].high != m.high}
        if moved:
            io.merge(spark, gold.PIPELINE_WATERMARK, _watermark_frame(rc, KG_JOB, moved), scope)
        counts = {
            "kg_edge.opened": int(edge_rows["valid_to"].isna().sum()),
            "kg_edge.closed": int(edge_rows["valid_to"].notna().sum()),
        }
        status: Status = "written" if writes else "unchanged"
        return StepOutcome(rc.job_name, rc.tenant_id, rc.run_id, status, writes, counts, issues)


def _union(frames: list[DataFrame]) -> DataFrame:
    out = frames[0]
    for frame in frames[1:]:
        out = out.unionByName(frame)
    return out


FEATURE_SOURCES: tuple[TableDef, ...] = (silver.OPPORTUNITY, silver.OPPORTUNITY_SPEND)
FEATURE_WEEKS = 104  # snapshots kept: the last two years of Mondays


def run_features(rc: RunContext) -> StepOutcome:
    """Point-in-time weekly features from silver's version history, then the tenant's win model's scores.

    Skipped when silver and the run date are what the last run consumed. Scores need enough labelled history
    (``model.MIN_TRAIN_ROWS`` snapshots with both outcomes); without it the features are written, the scores
    are not, and ``counts['opportunity_score.skipped']`` says so."""
    with step_run(rc):
        spark, scope = rc.spark, rc.scope
        versions = {td.qualified_name: io.table_version(td) for td in FEATURE_SOURCES}
        marks = read_watermarks(spark, scope, FEATURES_JOB)
        consumed = all(
            name in marks and marks[name].source_version == v and marks[name].as_of == rc.as_of
            for name, v in versions.items()
        )
        if consumed or versions[silver.OPPORTUNITY.qualified_name] is None:
            return StepOutcome(rc.job_name, rc.tenant_id, rc.run_id, "nothing_new")
        rc.inputs.update(versions)
        current = io.read(spark, silver.OPPORTUNITY, scope)
        first = current.agg(F.min(F.to_date("created_at"))).collect()[0][0]
        start = max(first or rc.as_of, rc.as_of - timedelta(weeks=FEATURE_WEEKS))
        snapshots = features.weekly_snapshots(start, rc.as_of)
        history = features.version_history(spark, scope)
        built = features.point_in_time_features(history, features.labels(current), snapshots)
        local: Any = built.select(*tables.OPPORTUNITY_FEATURES.schema.fieldNames()).toPandas()
        frame = spark.createDataFrame(local, tables.OPPORTUNITY_FEATURES.schema)
        gates = [gate(rc, tables.OPPORTUNITY_FEATURES, frame, rows=len(local))]
        writes: dict[str, WriteResult] = {}
        counts: dict[str, int] = {"opportunity_features.rows": len(local), "snapshots": len(snapshots)}
        writes[tables.OPPORTUNITY_FEATURES.qualified_name] = io.overwrite_partition(
            spark, tables.OPPORTUNITY_FEATURES, frame, scope
        )
        scores: Any = None
        kind = ""
        try:
            if len(local):
                scores, kind = model.score(local, rc.as_of)
        except BadInput as exc:
            log.warning("tenant %s: no win-probability scores: %s", rc.tenant_id, exc)
        if scores is None:
            counts["opportunity_score.skipped"] = 1
        else:
            scores.insert(0, "tenant_id", rc.tenant_id)
            scores["model_version"] = (
                f"{'logreg' if kind == 'model' else 'stage-baseline'}-{rc.as_of.isoformat()}"
            )
            counts[f"opportunity_score.{kind}"] = 1
            scores["scored_at"] = datetime.now(UTC).replace(tzinfo=None)
            scores["run_id"] = rc.run_id
            score_frame = spark.createDataFrame(
                scores[tables.OPPORTUNITY_SCORE.schema.fieldNames()], tables.OPPORTUNITY_SCORE.schema
            )
            gates.append(gate(rc, tables.OPPORTUNITY_SCORE, score_frame, rows=len(scores)))
            writes[tables.OPPORTUNITY_SCORE.qualified_name] = io.overwrite_partition(
                spark, tables.OPPORTUNITY_SCORE, score_frame, scope
            )
            counts["opportunity_score.rows"] = len(scores)
        for name, result in writes.items():
            rc.outputs[name] = result.version
        _record_quality(rc, gates)
        new_marks = {name: Watermark(None, (), v, rc.as_of) for name, v in versions.items()}
        io.merge(spark, gold.PIPELINE_WATERMARK, _watermark_frame(rc, FEATURES_JOB, new_marks), scope)
        issues = tuple(i for g in gates for i in g.issues)
        return StepOutcome(rc.job_name, rc.tenant_id, rc.run_id, "written", writes, counts, issues)


StepRunner = Callable[[RunContext], StepOutcome]
PLATINUM_STEPS: tuple[tuple[str, StepRunner], ...] = (
    (EMBEDDINGS_JOB, run_embeddings),
    (KG_JOB, run_kg),
    (FEATURES_JOB, run_features),
)
