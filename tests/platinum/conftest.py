"""Fixtures for the platinum tests: silver rows built inline, a counting embedder, a lake with a docs folder."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest


def silver_frame(spark, table: str, rows: Sequence[dict[str, Any]]):  # type: ignore[no-untyped-def]
    """A frame in the declared schema of ``table`` with the given columns set and the others null."""
    from lakehouse import catalog

    td = catalog.get(table)
    names = td.schema.fieldNames()
    return spark.createDataFrame([tuple(r.get(n) for n in names) for r in rows], td.schema)


def write_silver(spark, table: str, rows: Sequence[dict[str, Any]]) -> None:  # type: ignore[no-untyped-def]
    """Append inline rows to a silver table through lakehouse.io (tenant of the first row)."""
    from lakehouse import catalog, io
    from lakehouse.tenancy import TenantScope

    io.append(
        spark,
        catalog.get(table),
        silver_frame(spark, table, rows),
        TenantScope.for_tenant(rows[0]["tenant_id"]),
    )


def opp(tenant: str, opp_id: str, **fields: Any) -> dict[str, Any]:
    """A silver.opportunity row with sensible defaults."""
    base: dict[str, Any] = {
        "tenant_id": tenant,
        "catalog": "AWS",
        "opportunity_id": opp_id,
        "project_title": f"Project {opp_id}",
        "customer_industry": "Healthcare",
        "customer_company_name": "Secret Corp",
        "stage": "Prospect",
        "created_at": datetime(2025, 1, 1),
        "last_modified_at": datetime(2025, 1, 10),
        "file_cluster": "open-2025-01",
    }
    base.update(fields)
    return base


class CountingEmbedder:
    """Wraps an embedder and records every text it was asked to embed."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.calls: list[list[str]] = []

    @property
    def model_id(self) -> str:
        return str(self.inner.model_id)

    @property
    def dim(self) -> int:
        return int(self.inner.dim)

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        self.calls.append(list(texts))
        return self.inner.embed(texts)

    @property
    def texts(self) -> list[str]:
        return [t for call in self.calls for t in call]


@pytest.fixture
def counting_embedder() -> CountingEmbedder:
    from lakehouse.platinum.embedding import HashingEmbedder

    return CountingEmbedder(HashingEmbedder(dim=256))


@pytest.fixture
def platinum_lake(lake: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh lake whose project docs are one small markdown file (not the repository's docs/)."""
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "guide.md").write_text(
        "# Guide\n\nHow to run the pipeline.\n\n## Quotas\n\nTen reads per second.\n"
    )
    monkeypatch.setenv("LAKEHOUSE_PROJECT_DOCS", str(docs))
    monkeypatch.setenv("LAKEHOUSE_OPENLINEAGE_FILE", str(lake / "_lineage" / "events.jsonl"))
    return lake
