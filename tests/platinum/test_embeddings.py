"""Embedding text, incremental re-embedding, the Bedrock embedder's wire shape and the platinum embeddings step."""

from __future__ import annotations

import io as stdio
import json

import pytest
from botocore.response import StreamingBody
from botocore.stub import Stubber
from pyspark.sql.types import StringType, StructField, StructType

from lakehouse import catalog, io
from lakehouse.catalog import TableDef
from lakehouse.partner_central.entities import silver
from lakehouse.platinum import embeddings, text
from lakehouse.platinum import entities as tables
from lakehouse.platinum.embedding import BedrockTitanEmbedder, HashingEmbedder, content_hash
from lakehouse.platinum.vector_index import TenantVectorIndex
from lakehouse.tenancy import TenantScope

from .conftest import opp, silver_frame, write_silver

A = TenantScope.for_tenant("acme")


def test_text_is_built_from_cleared_columns_only(spark) -> None:
    df = silver_frame(
        spark,
        "silver.opportunity",
        [opp("acme", "O-1", project_title="Data lake", primary_needs_from_aws=["Co-Sell", "Funding"])],
    )
    got = embeddings.opportunity_texts(df).collect()[0]["embedded_text"]
    assert got == "Title: Data lake\nIndustry: Healthcare\nNeeds from AWS: Co-Sell, Funding"
    assert "Secret Corp" not in got  # the company name is not an embedding column


def test_a_pii_column_is_refused_whatever_the_clearance() -> None:
    td = TableDef(  # not registered: the catalog stays as declared
        layer="platinum",
        name="with_pii",
        schema=StructType([StructField("tenant_id", StringType()), StructField("email", StringType())]),
        keys=("tenant_id",),
        grain="test",
        classification={"tenant_id": "internal", "email": "pii"},
    )
    with pytest.raises(text.UnclearedColumn, match="'email' is classified pii"):
        text.cleared_columns(td, ["email"], "confidential")


def test_a_column_above_the_clearance_is_refused() -> None:
    with pytest.raises(text.UnclearedColumn, match="'project_title' is classified confidential"):
        text.cleared_columns(silver.OPPORTUNITY, ["project_title", "stage"], "internal")


def test_content_hash_in_spark_matches_python(spark) -> None:
    src = spark.createDataFrame([("O-1", "Title: é data")], "opportunity_id string, embedded_text string")
    got = embeddings.with_content_hash(src, "m/1").collect()[0]["content_sha256"]
    assert got == content_hash("Title: é data", "m/1")


def test_only_new_or_changed_rows_are_re_embedded(spark, platinum_lake, counting_embedder) -> None:
    td = tables.OPPORTUNITY_EMBEDDING

    def run(rows):  # type: ignore[no-untyped-def]
        source = embeddings.opportunity_texts(silver_frame(spark, "silver.opportunity", rows))
        change = embeddings.refresh(spark, A, td, source, counting_embedder, run_id="r")
        embeddings.apply(spark, A, change, embeddings.frame_of(spark, change), None)
        return change

    first = run([opp("acme", "O-1", project_title="Alpha"), opp("acme", "O-2", project_title="Beta")])
    assert sorted(first.embedded["opportunity_id"]) == ["O-1", "O-2"]
    counting_embedder.calls.clear()
    second = run([opp("acme", "O-1", project_title="Alpha"), opp("acme", "O-2", project_title="Beta v2")])
    assert list(second.embedded["opportunity_id"]) == ["O-2"]
    assert counting_embedder.texts == ["Title: Beta v2\nIndustry: Healthcare"]
    stored = {r["opportunity_id"]: r for r in io.read(spark, td, A).collect()}
    assert stored["O-2"]["embedded_text"] == "Title: Beta v2\nIndustry: Healthcare"
    assert stored["O-1"]["run_id"] == "r" and len(stored) == 2
    counting_embedder.calls.clear()
    third = run([opp("acme", "O-1", project_title="Alpha"), opp("acme", "O-2", project_title="Beta v2")])
    assert not third.changed and counting_embedder.calls == []


def test_a_new_model_re_embeds_everything(spark, platinum_lake, counting_embedder) -> None:
    td = tables.SOLUTION_EMBEDDING
    source = embeddings.solution_texts(
        silver_frame(spark, "silver.solution", [{"tenant_id": "acme", "solution_id": "S-1", "name": "Lake"}])
    )
    change = embeddings.refresh(spark, A, td, source, counting_embedder, run_id="r1")
    embeddings.apply(spark, A, change, embeddings.frame_of(spark, change), None)
    other = HashingEmbedder(dim=128)
    again = embeddings.refresh(spark, A, td, source, other, run_id="r2")
    assert list(again.embedded["solution_id"]) == ["S-1"]
    assert list(again.embedded["embedding_dim"]) == [128]


def _titan_response(vector: list[float]) -> dict[str, object]:
    body = json.dumps({"embedding": vector, "inputTextTokenCount": 3}).encode()
    return {"body": StreamingBody(stdio.BytesIO(body), len(body)), "contentType": "application/json"}


def test_bedrock_titan_v2_request_and_response_shape() -> None:
    import boto3

    client = boto3.client(
        "bedrock-runtime", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="y"
    )
    stub = Stubber(client)
    vector = [0.0] * 255 + [2.0]
    stub.add_response(
        "invoke_model",
        _titan_response(vector),
        {
            "modelId": "amazon.titan-embed-text-v2:0",
            "body": json.dumps({"inputText": "hello lake", "dimensions": 256, "normalize": True}).encode(),
            "contentType": "application/json",
            "accept": "application/json",
        },
    )
    with stub:
        got = BedrockTitanEmbedder(client, dimensions=256).embed(["hello lake"])
    stub.assert_no_pending_responses()
    assert got.shape == (1, 256) and got[0, 255] == pytest.approx(1.0)


def test_bedrock_refuses_a_vector_of_the_wrong_size() -> None:
    import boto3

    client = boto3.client(
        "bedrock-runtime", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="y"
    )
    stub = Stubber(client)
    stub.add_response("invoke_model", _titan_response([0.1] * 10))
    with stub, pytest.raises(ValueError, match="returned an embedding of 10 values, expected 256"):
        BedrockTitanEmbedder(client, dimensions=256).embed(["hello"])


def test_minilm_ranks_a_paraphrase_above_an_unrelated_text() -> None:
    from lakehouse.platinum.embedding import MiniLMEmbedder

    v = MiniLMEmbedder().embed(
        ["migrate our Oracle database to AWS", "move the Oracle DB into the cloud", "a recipe for bread"]
    )
    assert v.shape == (3, 384)
    assert float(v[0] @ v[1]) > float(v[0] @ v[2]) + 0.2


def test_embeddings_step_writes_tables_and_index_then_nothing_on_rerun(
    spark, platinum_lake, counting_embedder
) -> None:
    from lakehouse.partner_central.pipeline import RunContext
    from lakehouse.platinum.steps import run_embeddings

    write_silver(spark, "silver.opportunity", [opp("acme", "O-1", project_title="Serverless analytics")])
    write_silver(spark, "silver.solution", [{"tenant_id": "acme", "solution_id": "S-1", "name": "Lake kit"}])
    pack = platinum_lake / "landing" / "acme" / "knowledge"
    pack.mkdir(parents=True)
    (pack / "pricing.md").write_text("# Pricing\n\nOur partner discount is 12 percent.\n")

    def step():  # type: ignore[no-untyped-def]
        rc = RunContext.create(spark, "acme", job_name="platinum_embeddings")
        return run_embeddings(rc, embedder=counting_embedder)

    first = step()
    assert first.status == "written"
    assert first.counts["platinum.doc_chunk_embedding.embedded"] == 3  # guide.md: 2 sections, pricing.md: 1
    chunks = io.read(spark, tables.DOC_CHUNK_EMBEDDING, A).select("source_kind", "source_path").collect()
    assert sorted(tuple(r) for r in chunks) == [
        ("knowledge_pack", "pricing.md"),
        ("project_docs", "guide.md"),
        ("project_docs", "guide.md"),
    ]
    index = TenantVectorIndex(A)
    assert index.count("opportunity_embedding") == 1 and index.count("doc_chunk_embedding") == 3
    from lakehouse.platinum.retrieval import search_text

    found = search_text(
        spark, A, tables.DOC_CHUNK_EMBEDDING, "partner discount percent", counting_embedder.inner, k=1
    )
    assert [r["source_path"] for r in found] == ["pricing.md"]
    other = TenantScope.for_tenant("globex")
    assert (
        search_text(
            spark, other, tables.DOC_CHUNK_EMBEDDING, "partner discount percent", counting_embedder.inner
        )
        == []
    )
    with pytest.raises(ValueError, match="embedded with"):
        search_text(spark, A, tables.DOC_CHUNK_EMBEDDING, "discount", HashingEmbedder(dim=256 + 1))

    counting_embedder.calls.clear()
    assert step().status == "unchanged" and counting_embedder.calls == []

    (pack / "pricing.md").unlink()
    third = step()
    assert third.counts["platinum.doc_chunk_embedding.deleted"] == 1
    assert index.count("doc_chunk_embedding") == 2
    assert io.read(spark, tables.DOC_CHUNK_EMBEDDING, A).count() == 2


def test_every_platinum_table_has_a_quality_suite() -> None:
    from lakehouse.platinum.steps import suite

    declared = [t for t in catalog.all_tables() if t.layer == "platinum"]
    assert {t.qualified_name for t in declared} >= {t.qualified_name for t in tables.PLATINUM_TABLES}
    missing = [t.qualified_name for t in tables.PLATINUM_TABLES if not suite(t).expectations]
    assert missing == []


def test_a_lost_index_is_rebuilt_from_delta_and_a_new_embedder_re_embeds(spark, platinum_lake) -> None:
    import shutil

    from lakehouse.partner_central.pipeline import RunContext
    from lakehouse.platinum.steps import run_embeddings

    write_silver(spark, "silver.opportunity", [opp("acme", "O-1"), opp("acme", "O-2", project_title="Other")])

    def step(embedder):  # type: ignore[no-untyped-def]
        return run_embeddings(
            RunContext.create(spark, "acme", job_name="platinum_embeddings"), embedder=embedder
        )

    step(HashingEmbedder(dim=64))
    shutil.rmtree(platinum_lake / "platinum" / "_vectors")
    again = step(HashingEmbedder(dim=64))
    assert again.counts["platinum.opportunity_embedding.skipped"] == 1  # silver unchanged, same embedder
    assert TenantVectorIndex(A).count("doc_chunk_embedding") == 2  # rebuilt from Delta
    changed = step(HashingEmbedder(dim=32))
    assert changed.counts["platinum.opportunity_embedding.embedded"] == 2
    dims = {r[0] for r in io.read(spark, tables.OPPORTUNITY_EMBEDDING, A).select("embedding_dim").collect()}
    assert dims == {32}
    index = TenantVectorIndex(A)
    assert index.dim("opportunity_embedding") == 32 and index.count("opportunity_embedding") == 2
