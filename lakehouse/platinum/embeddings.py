"""Incremental embeddings: only rows whose text (or the model) changed since they were last embedded.

Each row's ``content_sha256`` is SHA-256(model id, text). A run builds the texts of the tenant's current silver
rows, anti-joins them with the stored (id, content_sha256) pairs, embeds only what is left and MERGEs it into
the platinum table; the tenant's vector index gets the same rows. Rows whose source is gone are deleted from
both (doc chunks of a shortened or removed file).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from lakehouse import io
from lakehouse.catalog import TableDef
from lakehouse.io import WriteResult
from lakehouse.partner_central.entities import silver
from lakehouse.platinum import entities as tables
from lakehouse.platinum import text
from lakehouse.platinum.docs import DocChunk
from lakehouse.platinum.embedding import Embedder
from lakehouse.platinum.vector_index import TenantVectorIndex
from lakehouse.tenancy import TenantScope

# the id column of each embedding table (the key besides tenant_id)
ID_COLUMN = {
    tables.OPPORTUNITY_EMBEDDING.qualified_name: "opportunity_id",
    tables.SOLUTION_EMBEDDING.qualified_name: "solution_id",
    tables.DOC_CHUNK_EMBEDDING.qualified_name: "chunk_id",
}


@dataclass
class EmbeddingRefresh:
    """The changes one run makes to one embedding table: rows to write (new vectors) and ids to delete."""

    table: TableDef
    embedded: Any  # pandas frame of rows in the table's shape, with their vectors
    deleted_ids: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        """Whether anything is to be written or deleted."""
        return bool(len(self.embedded) or self.deleted_ids)


def opportunity_texts(opportunity: DataFrame) -> DataFrame:
    """(tenant_id, opportunity_id, embedded_text, source_last_modified_at) from silver.opportunity rows."""
    return opportunity.select(
        "tenant_id",
        "opportunity_id",
        text.text_column(silver.OPPORTUNITY, opportunity, text.OPPORTUNITY_TEXT).alias("embedded_text"),
        F.col("last_modified_at").alias("source_last_modified_at"),
    )


def solution_texts(solution: DataFrame) -> DataFrame:
    """(tenant_id, solution_id, embedded_text, source_last_modified_at) from silver.solution rows."""
    return solution.select(
        "tenant_id",
        "solution_id",
        text.text_column(silver.SOLUTION, solution, text.SOLUTION_TEXT).alias("embedded_text"),
        F.col("last_modified_at").alias("source_last_modified_at"),
    )


def doc_texts(spark: SparkSession, tenant_id: str, chunks: Sequence[DocChunk]) -> DataFrame:
    """Doc chunks as a source frame (tenant_id, chunk_id, chunk columns, embedded_text, source_last_modified_at)."""
    rows = [
        (
            tenant_id,
            c.chunk_id,
            c.source_kind,
            c.source_path,
            c.chunk_index,
            c.heading,
            f"{c.heading}\n\n{c.text}" if c.heading else c.text,
            None,
        )
        for c in chunks
    ]
    return spark.createDataFrame(
        rows,
        "tenant_id string, chunk_id string, source_kind string, source_path string, chunk_index int, "
        "heading string, embedded_text string, source_last_modified_at timestamp",
    )


def stored_models(spark: SparkSession, scope: TenantScope, td: TableDef) -> set[str]:
    """The embedding models of the scope's stored rows of ``td`` (empty when there are none)."""
    return {r[0] for r in io.read(spark, td, scope).select("embedding_model").distinct().limit(5).collect()}


def with_content_hash(source: DataFrame, model_id: str) -> DataFrame:
    """``source`` plus content_sha256 = SHA-256(model id, NUL, text), as ``embedding.content_hash`` computes."""
    return source.withColumn(
        "content_sha256", F.sha2(F.concat(F.lit(model_id + "\x00"), F.col("embedded_text")), 256)
    )


def pending(source: DataFrame, existing: DataFrame, id_column: str, model_id: str) -> DataFrame:
    """Rows of ``source`` (with a non-empty text) whose (id, content hash) is not stored yet: new or changed."""
    hashed = with_content_hash(source.where(F.length("embedded_text") > 0), model_id)
    return hashed.join(
        existing.select(id_column, "content_sha256"), on=[id_column, "content_sha256"], how="left_anti"
    )


def refresh(
    spark: SparkSession,
    scope: TenantScope,
    td: TableDef,
    source: DataFrame,
    embedder: Embedder,
    *,
    run_id: str,
    delete_missing: bool = False,
) -> EmbeddingRefresh:
    """Embed the new and changed rows of ``source`` for ``td``; with ``delete_missing``, also list stored ids
    that ``source`` no longer has. Nothing is written here (see ``apply``)."""
    id_column = ID_COLUMN[td.qualified_name]
    existing = io.read(spark, td, scope)
    todo: Any = pending(source, existing, id_column, embedder.model_id).toPandas()
    gone: list[str] = []
    if delete_missing:
        missing = existing.select(id_column).join(source.select(id_column), id_column, "left_anti")
        gone = sorted(r[0] for r in missing.collect())
    if len(todo):
        vectors = embedder.embed(todo["embedded_text"].tolist())
        todo["embedding"] = [v.tolist() for v in vectors]
    else:
        todo["embedding"] = []
    todo["embedding_model"] = embedder.model_id
    todo["embedding_dim"] = embedder.dim
    todo["embedded_at"] = datetime.now(UTC).replace(tzinfo=None)
    todo["run_id"] = run_id
    return EmbeddingRefresh(td, todo[list(td.schema.fieldNames())], gone)


def frame_of(spark: SparkSession, change: EmbeddingRefresh) -> DataFrame:
    """The rows to write as a Spark frame in the table's schema."""
    return spark.createDataFrame(change.embedded, change.table.schema)


def apply(
    spark: SparkSession,
    scope: TenantScope,
    change: EmbeddingRefresh,
    frame: DataFrame,
    index: TenantVectorIndex | None,
) -> WriteResult | None:
    """Write a checked refresh: the vector index first (idempotent upserts: an index ahead of Delta after a
    failed write is re-upserted by the next run), then Delta (MERGE; a full replace of the tenant's rows when
    ids are deleted, which only doc chunks do and which are few)."""
    import numpy as np

    td = change.table
    id_column = ID_COLUMN[td.qualified_name]
    resized = False
    if index is not None:
        dim = int(change.embedded["embedding_dim"].iloc[0]) if len(change.embedded) else None
        if dim is not None and index.dim(td.name) not in (None, dim):
            # a new embedder: its vectors cannot join the old ones; the table is rebuilt from Delta below
            index.drop(td.name)
            resized = True
        if len(change.embedded):
            vectors = np.vstack([np.asarray(v, dtype=np.float32) for v in change.embedded["embedding"]])
            index.upsert(td.name, change.embedded[id_column].tolist(), vectors)
        index.delete(td.name, change.deleted_ids)
    if not change.changed:
        if index is not None:
            _heal_index(spark, scope, td, index)
        return None
    if change.deleted_ids:
        gone = spark.createDataFrame([(i,) for i in change.deleted_ids], f"{id_column} string")
        kept = (
            io.read(spark, td, scope)
            .join(frame.select(id_column), id_column, "left_anti")
            .join(gone, id_column, "left_anti")
        )
        result = io.overwrite_partition(spark, td, kept.unionByName(frame), scope)
    else:
        result = io.merge(spark, td, frame, scope)
    if resized and index is not None:
        _heal_index(spark, scope, td, index)
    return result


def _heal_index(spark: SparkSession, scope: TenantScope, td: TableDef, index: TenantVectorIndex) -> None:
    """Rebuild the tenant's vector table from Delta when their row counts differ (index lost or behind)."""
    if index.count(td.name) != io.read(spark, td, scope).count():
        rebuild_index(spark, scope, td, index)


def rebuild_index(spark: SparkSession, scope: TenantScope, td: TableDef, index: TenantVectorIndex) -> int:
    """Replace the tenant's vector table with every stored embedding of ``td``; returns the row count."""
    import numpy as np

    id_column = ID_COLUMN[td.qualified_name]
    rows: Any = io.read(spark, td, scope).select(id_column, "embedding").toPandas()
    index.drop(td.name)
    if not len(rows):
        return 0
    vectors = np.vstack([np.asarray(v, dtype=np.float32) for v in rows["embedding"]])
    return index.upsert(td.name, rows[id_column].tolist(), vectors)
