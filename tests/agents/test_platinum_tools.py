"""The agents' tools over the platinum layer: win-probability scores, the knowledge graph, the vector index."""

from __future__ import annotations

import pytest

from lakehouse.agents.hub import AgentHub
from lakehouse.agents.retrieval import PlatinumVectorSearch
from lakehouse.guardrails import NoGuardrails
from tests.agents.conftest import TODAY, allow_all, demo_rows


def edge(tenant: str, src: str, edge_type: str, dst_type: str, dst: str, valid_to=None) -> dict:
    return {
        "tenant_id": tenant,
        "src_type": "opportunity",
        "src_id": src,
        "edge_type": edge_type,
        "dst_type": dst_type,
        "dst_id": dst,
        "valid_from": "2026-11-01T00:00:00",
        "valid_to": valid_to,
        "source_table": "silver.opportunity",
        "run_id": "r1",
    }


def hub_over(data, provider, audit, **kwargs) -> AgentHub:
    return AgentHub(
        provider=provider,
        data=data,
        decide=allow_all,
        audit=audit,
        quota=NoGuardrails(),
        actor="user:tester",
        today=TODAY,
        **kwargs,
    )


def test_attention_reasons_carry_the_platinum_win_probability(provider, audit):
    data = demo_rows()
    data.add(
        "platinum.opportunity_score",
        [
            {"tenant_id": "acme", "opportunity_id": "O1001", "win_probability": 0.23},
            {
                "tenant_id": "globex",
                "opportunity_id": "O1002",
                "win_probability": 0.99,
            },  # another tenant's id clash
        ],
    )
    result = hub_over(data, provider, audit).ask("acme", "advisor", "Which opportunities need attention?")
    assert "win probability 23% (platinum.opportunity_score)" in result.answer
    assert "99%" not in result.answer


def test_similar_won_deals_follow_the_knowledge_graph_edges_that_hold_now(provider, audit):
    data = demo_rows()
    data.add(
        "platinum.kg_edge",
        [
            edge("acme", "O1001", "uses_solution", "solution", "S-9"),
            edge("acme", "O1001", "in_stage", "stage", "Qualified"),
            edge("acme", "O1002", "uses_solution", "solution", "S-9"),
            edge("acme", "O1002", "in_stage", "stage", "Launched"),
            edge("acme", "O1003", "in_stage", "stage", "Launched"),
            edge(
                "acme", "O1003", "uses_solution", "solution", "S-9", valid_to="2026-11-20T00:00:00"
            ),  # ended
            edge("globex", "O2001", "uses_solution", "solution", "S-9"),
            edge("globex", "O2001", "in_stage", "stage", "Launched"),
        ],
    )
    result = hub_over(data, provider, audit).ask("acme", "advisor", "Show won deals similar to O1001")
    assert result.citations == ["silver.opportunity/O1002"]
    assert "(knowledge graph)" in result.answer and "shares solution S-9" in result.answer


@pytest.mark.slow
def test_retrieval_through_the_tenant_vector_index_never_crosses_tenants(provider, audit, tmp_path):
    from lakehouse.platinum.embedding import HashingEmbedder
    from lakehouse.platinum.vector_index import TenantVectorIndex
    from lakehouse.tenancy import TenantScope

    embedder = HashingEmbedder(dim=64)
    text = "Sequence analysis at scale on spot capacity"
    data = demo_rows()
    for tenant, oid in (("acme", "O1002"), ("globex", "O2001")):
        index = TenantVectorIndex(TenantScope.for_tenant(tenant), lake_root=str(tmp_path))
        index.upsert("opportunity_embedding", [oid], embedder.embed([text]))
        data.add(
            "platinum.opportunity_embedding",
            [{"tenant_id": tenant, "opportunity_id": oid, "embedding_model": embedder.model_id}],
        )
    search = PlatinumVectorSearch(embedder, lake_root=str(tmp_path))
    hub = hub_over(data, provider, audit, semantic=search)
    question = "Find opportunities about sequence analysis at scale on spot capacity"
    acme, globex = hub.ask("acme", "advisor", question), hub.ask("globex", "advisor", question)
    assert acme.retrieved == ["silver.opportunity/O1002"] and "(vector index)" in acme.answer
    assert globex.retrieved == ["silver.opportunity/O2001"] and "(vector index)" in globex.answer
    initech = hub.ask("initech", "advisor", question)  # no rows, no vectors: nothing
    assert initech.retrieved == []


def test_an_index_built_with_another_embedder_is_not_used(provider, audit, tmp_path):
    from lakehouse.platinum.embedding import HashingEmbedder

    data = demo_rows()
    data.add(
        "platinum.opportunity_embedding",
        [{"tenant_id": "acme", "opportunity_id": "O1002", "embedding_model": "some-other-model"}],
    )
    hub = hub_over(
        data, provider, audit, semantic=PlatinumVectorSearch(HashingEmbedder(dim=64), lake_root=str(tmp_path))
    )
    result = hub.ask("acme", "advisor", "Find opportunities about sequence analysis")
    assert "(BM25)" in result.answer and result.retrieved == ["silver.opportunity/O1002"]
