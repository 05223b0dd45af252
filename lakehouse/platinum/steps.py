"""The platinum steps, per tenant, after gold: embeddings (+ vector index), knowledge graph, features and scores.

Each step is extract -> transform -> check (the table's quality suite, beside it in ``suites/``) -> load through
``lakehouse.io`` (tenant checks on every write), like the silver and gold steps of ``lakehouse.pipeline``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from pyspark.sql import DataFrame

from lakehouse import io
from lakehouse.catalog import TableDef
from lakehouse.entities import partner_central_silver as silver
from lakehouse.errors import QualityGateFailed
from lakehouse.io import WriteResult
from lakehouse.pipeline import RunContext, StepOutcome, _record_quality, step_run
from lakehouse.platinum import docs, embeddings, tables
from lakehouse.platinum.embedding import Embedder, default_embedder
from lakehouse.platinum.vector_index import TenantVectorIndex
from lakehouse.quality.gate import GateResult, describe_failures, run_gate
from lakehouse.quality.suites import Suite, load_suite

EMBEDDINGS_JOB = "platinum_embeddings"
SUITES_DIR = Path(__file__).resolve().parent / "suites"


def suite(td: TableDef) -> Suite:
    """The quality suite declared beside the platinum tables for ``td``."""
    return load_suite(td.qualified_name, SUITES_DIR)


def gate(rc: RunContext, td: TableDef, df: DataFrame, rows: int | None = None) -> GateResult:
    """Validate ``df`` against ``td``'s suite; record the results and raise QualityGateFailed on a failure."""
    result = run_gate(df, suite(td), tenant_id=rc.tenant_id, run_id=rc.run_id, rows=rows)
    if result.failures:
        _record_quality(rc, [result])
        raise QualityGateFailed(describe_failures([result]))
    return result


def run_embeddings(rc: RunContext, *, embedder: Embedder | None = None, index: bool = True) -> StepOutcome:
    """Embed the tenant's new or changed opportunities, solutions and doc chunks; update its vector index."""
    with step_run(rc):
        model = embedder or default_embedder()
        vectors = TenantVectorIndex(rc.scope) if index else None
        spark, scope = rc.spark, rc.scope
        chunks = docs.project_doc_chunks() + docs.knowledge_pack_chunks(scope)
        sources: list[tuple[TableDef, DataFrame, bool]] = [
            (
                tables.OPPORTUNITY_EMBEDDING,
                embeddings.opportunity_texts(io.read(spark, silver.OPPORTUNITY, scope)),
                False,
            ),
            (
                tables.SOLUTION_EMBEDDING,
                embeddings.solution_texts(io.read(spark, silver.SOLUTION, scope)),
                False,
            ),
            (tables.DOC_CHUNK_EMBEDDING, embeddings.doc_texts(spark, rc.tenant_id, chunks), True),
        ]
        writes: dict[str, WriteResult] = {}
        counts: dict[str, int] = {}
        gates: list[GateResult] = []
        for td, source, delete_missing in sources:
            change = embeddings.refresh(
                spark, scope, td, source, model, run_id=rc.run_id, delete_missing=delete_missing
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
        issues = tuple(i for g in gates for i in g.issues)
        return StepOutcome(
            rc.job_name, rc.tenant_id, rc.run_id, "written" if writes else "unchanged", writes, counts, issues
        )


StepRunner = Callable[[RunContext], StepOutcome]
PLATINUM_STEPS: tuple[tuple[str, StepRunner], ...] = ((EMBEDDINGS_JOB, run_embeddings),)
