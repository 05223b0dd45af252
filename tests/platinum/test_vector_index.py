"""Per-tenant vector retrieval: the tenant filter applies before similarity, and exact vs ANN agree."""

from __future__ import annotations

import numpy as np

from lakehouse.platinum.vector_index import TenantVectorIndex
from lakehouse.tenancy import TenantScope


def test_cross_tenant_retrieval_returns_nothing_even_for_identical_text(tmp_path) -> None:
    from lakehouse.platinum.embedding import HashingEmbedder

    vector = HashingEmbedder(dim=64).embed(["identical confidential deal text"])
    a = TenantVectorIndex(TenantScope.for_tenant("tenant-a"), lake_root=str(tmp_path))
    b = TenantVectorIndex(TenantScope.for_tenant("tenant-b"), lake_root=str(tmp_path))
    a.upsert("opportunity_embedding", ["A-1"], vector)
    assert [h.item_id for h in a.search("opportunity_embedding", vector[0], k=5)] == ["A-1"]
    assert b.search("opportunity_embedding", vector[0], k=5) == []
    b.upsert("opportunity_embedding", ["B-1"], vector)
    assert [h.item_id for h in b.search("opportunity_embedding", vector[0], k=5)] == ["B-1"]
    assert [h.item_id for h in a.search("opportunity_embedding", vector[0], k=5)] == ["A-1"]


def test_upsert_replaces_by_id_and_delete_removes(tmp_path) -> None:
    idx = TenantVectorIndex(TenantScope.for_tenant("t1"), lake_root=str(tmp_path))
    eye = np.eye(4, dtype=np.float32)
    idx.upsert("v", ["x", "y"], eye[:2])
    idx.upsert("v", ["x"], eye[2:3])
    assert idx.count("v") == 2
    assert idx.search("v", eye[2], k=1)[0].item_id == "x"
    idx.delete("v", ["x"])
    assert [h.item_id for h in idx.search("v", eye[2], k=5)] == ["y"]


def test_ann_index_finds_the_exact_neighbours(tmp_path) -> None:
    rng = np.random.default_rng(7)
    centers = rng.normal(size=(20, 32))
    data = (centers[rng.integers(0, 20, 3000)] + 0.3 * rng.normal(size=(3000, 32))).astype(np.float32)
    data /= np.linalg.norm(data, axis=1, keepdims=True)
    idx = TenantVectorIndex(TenantScope.for_tenant("t1"), lake_root=str(tmp_path))
    idx.upsert("v", [str(i) for i in range(len(data))], data)
    assert idx.build_index("v", min_rows=1000)
    query = data[5]
    exact = [h.item_id for h in idx.search("v", query, k=10, exact=True)]
    truth = [str(i) for i in np.argsort(-(data @ query))[:10]]
    assert exact == truth
    ann = [h.item_id for h in idx.search("v", query, k=10)]
    assert len(set(ann) & set(truth)) >= 8
