"""Platinum tables: embeddings, the knowledge graph, point-in-time features and win-probability scores.

Every table is per tenant (``tenant_id`` first, partition column) and classifies each column. Embeddings and
scores derive from confidential silver columns, so they are classified ``confidential``; none is ``pii``.
"""

from __future__ import annotations

from pyspark.sql.types import (
    ArrayType,
    DateType,
    DoubleType,
    FloatType,
    IntegerType,
    StringType,
    TimestampType,
)

from lakehouse.catalog import Column, TableDef, declare

_S, _TS, _D, _I, _F = StringType(), TimestampType(), DateType(), IntegerType(), DoubleType()
VECTOR = ArrayType(FloatType())

_EMBEDDING_COLUMNS: list[Column] = [
    ("content_sha256", _S, "internal"),
    ("embedded_text", _S, "confidential"),
    ("embedding", VECTOR, "confidential"),
    ("embedding_model", _S, "internal"),
    ("embedding_dim", _I, "internal"),
    ("source_last_modified_at", _TS, "internal"),
    ("embedded_at", _TS, "internal"),
    ("run_id", _S, "internal"),
]

OPPORTUNITY_EMBEDDING = declare(
    "platinum",
    "opportunity_embedding",
    [("tenant_id", _S, "internal"), ("opportunity_id", _S, "internal"), *_EMBEDDING_COLUMNS],
    keys=("tenant_id", "opportunity_id"),
    grain="one row per current silver opportunity: the embedding of its cleared text columns",
    description="content_sha256 = SHA-256 of embedded_text and the model id; a row is re-embedded only when it "
    "changes. embedded_text is built from the columns lakehouse.platinum.text names (never a pii column).",
)

SOLUTION_EMBEDDING = declare(
    "platinum",
    "solution_embedding",
    [("tenant_id", _S, "internal"), ("solution_id", _S, "internal"), *_EMBEDDING_COLUMNS],
    keys=("tenant_id", "solution_id"),
    grain="one row per current silver solution",
    description="Embedding of the solution's name, category and status (incremental by content_sha256).",
)

DOC_CHUNK_EMBEDDING = declare(
    "platinum",
    "doc_chunk_embedding",
    [
        ("tenant_id", _S, "internal"),
        ("chunk_id", _S, "internal"),
        ("source_kind", _S, "internal"),
        ("source_path", _S, "internal"),
        ("chunk_index", _I, "internal"),
        ("heading", _S, "internal"),
        *_EMBEDDING_COLUMNS,
    ],
    keys=("tenant_id", "chunk_id"),
    grain="one row per chunk (a markdown section, split to at most ~1,200 characters) of a project doc or of a "
    "file of the tenant's knowledge pack",
    description="source_kind: project_docs (the repository's docs/) or knowledge_pack (markdown/text under "
    "<lake_root>/landing/<tenant>/knowledge/). chunk_id = SHA-256 of source_kind, source_path and chunk_index.",
)

KG_EDGE = declare(
    "platinum",
    "kg_edge",
    [
        ("tenant_id", _S, "internal"),
        ("src_type", _S, "internal"),
        ("src_id", _S, "internal"),
        ("edge_type", _S, "internal"),
        ("dst_type", _S, "internal"),
        ("dst_id", _S, "internal"),
        ("valid_from", _TS, "internal"),
        ("valid_to", _TS, "internal"),
        ("source_table", _S, "internal"),
        ("run_id", _S, "internal"),
    ],
    keys=("tenant_id", "src_type", "src_id", "edge_type", "dst_type", "dst_id", "valid_from"),
    grain="one row per typed edge and validity interval; valid_to null = the edge holds now",
    description="Edges: opportunity -for_customer-> customer_account, -in_industry-> industry, -in_stage-> "
    "stage, -uses_solution-> solution, -uses_product-> aws_product, -from_campaign-> campaign; engagement "
    "-invited_by-> partner, -referred_customer-> customer_account. Node types: opportunity, customer_account, "
    "solution, aws_product, campaign, engagement, "
    "partner, industry, stage. Node ids are silver ids; a customer account without an AWS account id is keyed "
    "by a hash of its normalised company name (the name itself is not an id).",
)

OPPORTUNITY_FEATURES = declare(
    "platinum",
    "opportunity_features",
    [
        ("tenant_id", _S, "internal"),
        ("opportunity_id", _S, "internal"),
        ("snapshot_date", _D, "internal"),
        ("stage", _S, "internal"),
        ("stage_index", _I, "internal"),
        ("age_days", _I, "internal"),
        ("days_since_modified", _I, "internal"),
        ("days_to_target_close", _I, "internal"),
        ("customer_industry", _S, "confidential"),
        ("opportunity_type", _S, "internal"),
        ("delivery_model_count", _I, "internal"),
        ("solution_count", _I, "internal"),
        ("aws_product_count", _I, "internal"),
        ("needs_count", _I, "internal"),
        ("expected_monthly_spend_usd", _F, "confidential"),
        ("outcome", _S, "internal"),
        ("closed_at", _TS, "internal"),
    ],
    keys=("tenant_id", "opportunity_id", "snapshot_date"),
    grain="one row per opportunity open at a weekly snapshot (Mondays, UTC), as known at that date",
    description="Point in time: each row uses the latest silver version of the opportunity with "
    "last_modified_at <= snapshot_date (versions from silver's Delta history) and nothing later. outcome "
    "(won|lost|null) and closed_at are labels, filled from the current row and never used as features.",
)

OPPORTUNITY_SCORE = declare(
    "platinum",
    "opportunity_score",
    [
        ("tenant_id", _S, "internal"),
        ("opportunity_id", _S, "internal"),
        ("snapshot_date", _D, "internal"),
        ("win_probability", _F, "confidential"),
        ("baseline_probability", _F, "internal"),
        ("expected_close_month", _S, "internal"),
        ("weighted_monthly_spend_usd", _F, "confidential"),
        ("model_version", _S, "internal"),
        ("scored_at", _TS, "internal"),
        ("run_id", _S, "internal"),
    ],
    keys=("tenant_id", "opportunity_id"),
    grain="one row per opportunity open at the latest snapshot: its win probability from the tenant's model",
    description="baseline_probability is the stage-only win rate; weighted_monthly_spend_usd = "
    "win_probability x expected monthly spend, the unit of the per-month pipeline forecast.",
)

PLATINUM_TABLES: tuple[TableDef, ...] = (
    OPPORTUNITY_EMBEDDING,
    SOLUTION_EMBEDDING,
    DOC_CHUNK_EMBEDDING,
    KG_EDGE,
    OPPORTUNITY_FEATURES,
    OPPORTUNITY_SCORE,
)
