"""``lakehouse pipeline run --until platinum``: bronze -> silver -> gold -> platinum for one tenant, tenant-scoped."""

from __future__ import annotations

import pytest

from lakehouse import io
from lakehouse.platinum import entities as tables
from lakehouse.tenancy import TenantScope
from tests.partner_central.conftest import (
    PII_SECRET,
    bronze_rows,
    ensure_bronze_tables,
    opportunity,
    utc,
    write_bronze,
)


@pytest.fixture
def bronze_lake(platinum_lake, monkeypatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("LAKEHOUSE_PII_SECRET", PII_SECRET)
    monkeypatch.setenv("LAKEHOUSE_EMBEDDER", "hashing")
    ensure_bronze_tables()
    return platinum_lake


def test_until_platinum_builds_the_platinum_tables_of_that_tenant_only(spark, bronze_lake, capsys) -> None:
    from lakehouse.cli import main

    for tenant, ids in (("acme", ["O1", "O2"]), ("globex", ["G1"])):
        rows = [opportunity(i, stage="Qualified") for i in ids]
        write_bronze(
            spark, "opportunity", bronze_rows(tenant, rows, run_id=f"b-{tenant}", ingested_at=utc(2025, 1, 1))
        )
    assert main(["pipeline", "run", "--tenant", "acme", "--until", "platinum", "--as-of", "2025-06-02"]) == 0
    out = capsys.readouterr().out
    assert "platinum_embeddings written" in out and "platinum_kg written" in out
    assert "platinum_features written" in out
    acme, globex = TenantScope.for_tenant("acme"), TenantScope.for_tenant("globex")
    ids = sorted(
        r[0] for r in io.read(spark, tables.OPPORTUNITY_EMBEDDING, acme).select("opportunity_id").collect()
    )
    assert ids == ["O1", "O2"]
    assert io.read(spark, tables.OPPORTUNITY_EMBEDDING, globex).count() == 0
    assert io.read(spark, tables.KG_EDGE, acme).where("edge_type = 'in_stage'").count() == 2

    assert main(["pipeline", "run", "--tenant", "acme", "--until", "platinum", "--as-of", "2025-06-02"]) == 0
    again = capsys.readouterr().out
    assert "platinum_embeddings unchanged" in again and "platinum_kg unchanged" in again
    assert "platinum_features nothing_new" in again
