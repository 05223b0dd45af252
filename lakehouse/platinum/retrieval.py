"""Text search over a tenant's embeddings: what the agents' retrieval tools call.

The query is embedded with the same embedder the step used (its ``model_id`` must match the stored rows'), the
tenant's own vector table is searched (the tenant filter applies before similarity: see ``vector_index``),
and the hits are joined back to the Delta rows for their text and metadata.
"""

from __future__ import annotations

from typing import Any

from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from lakehouse import io
from lakehouse.catalog import TableDef
from lakehouse.errors import BadInput
from lakehouse.platinum.embedding import Embedder
from lakehouse.platinum.embeddings import ID_COLUMN
from lakehouse.platinum.vector_index import TenantVectorIndex
from lakehouse.tenancy import TenantScope


def search_text(
    spark: SparkSession,
    scope: TenantScope,
    table: TableDef,
    query: str,
    embedder: Embedder,
    *,
    k: int = 5,
    index: TenantVectorIndex | None = None,
) -> list[dict[str, Any]]:
    """The ``k`` rows of the scope's ``table`` nearest to ``query``, nearest first, each with ``distance``."""
    if not query.strip():
        raise BadInput("the search query is empty")
    id_column = ID_COLUMN[table.qualified_name]
    stored = io.read(spark, table, scope)
    models = {r[0] for r in stored.select("embedding_model").distinct().limit(3).collect()}
    if models and models != {embedder.model_id}:
        raise BadInput(
            f"{table.qualified_name} of tenant {scope.tenant_id} was embedded with {sorted(models)}, "
            f"the query with {embedder.model_id!r}: use the same embedder (LAKEHOUSE_EMBEDDER)"
        )
    vectors = index or TenantVectorIndex(scope)
    hits = vectors.search(table.name, embedder.embed([query])[0], k=k)
    if not hits:
        return []
    ids = [h.item_id for h in hits]
    rows = {
        r[id_column]: r.asDict()
        for r in stored.where(F.col(id_column).isin(*ids)).drop("embedding").collect()
    }
    return [{**rows[h.item_id], "distance": h.distance} for h in hits if h.item_id in rows]
