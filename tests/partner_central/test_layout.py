"""File layout of the opportunity tables: an incremental MERGE rewrites only the files of the clusters it touches.

silver.opportunity, silver.opportunity_spend and silver.opportunity_contact are partitioned by
(tenant_id, file_cluster = open|closed-YYYY-MM of last_modified_at). These tests read the Delta log's add and
remove actions of the incremental run's commits (not timings).
"""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from deltalake import DeltaTable

from lakehouse import io
from lakehouse.errors import SchemaMismatch
from lakehouse.partner_central import pipeline
from lakehouse.partner_central.entities import silver
from lakehouse.tenancy import TenantScope

from .conftest import bronze_rows, opportunity, utc, write_bronze

pytestmark = pytest.mark.slow  # over a second of work in all: left out of `make test-fast`

TENANT = "acme"
AS_OF = date(2025, 6, 1)
TABLES = {
    "opportunity": silver.OPPORTUNITY,
    "opportunity_spend": silver.OPPORTUNITY_SPEND,
    "opportunity_contact": silver.OPPORTUNITY_CONTACT,
}
CLUSTERED = tuple(TABLES)
TEAM = [{"Email": "owner@partner.example", "BusinessTitle": "OpportunityOwner"}]


def history(lake: Path) -> list[Any]:
    """A tenant's history: closed opportunities over three months of 2024 and open ones in two months of 2025."""
    closed = [
        opportunity(
            f"C{i}",
            stage="Launched" if i % 2 else "Closed Lost",
            modified=f"2024-0{1 + i % 3}-1{i % 9}T10:00:00Z",
            team=TEAM,
        )
        for i in range(9)
    ]
    open_ = [
        opportunity(
            f"P{i}",
            stage="Qualified",
            modified=f"2025-0{1 + i % 2}-0{1 + i % 9}T10:00:00Z",
            spend=[("100", "USD", "Monthly"), ("5", "EUR", "Monthly")],
            team=TEAM,
        )
        for i in range(6)
    ]
    return closed + open_


def log_actions(td_name: str, after: int, until: int) -> dict[str, list[dict[str, Any]]]:
    """The add and remove actions of the commits (after, until] of a table's Delta log."""
    path = Path(TABLES[td_name].path()) / "_delta_log"
    out: dict[str, list[dict[str, Any]]] = {"add": [], "remove": []}
    for version in range(after + 1, until + 1):
        for line in (path / f"{version:020d}.json").read_text().splitlines():
            action = json.loads(line)
            for kind in ("add", "remove"):
                if kind in action:
                    out[kind].append(action[kind])
    return out


def clusters(actions: list[dict[str, Any]]) -> set[str]:
    return {a["partitionValues"]["file_cluster"] for a in actions}


def live_files(td) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """Live data file -> its file_cluster, from the table's current snapshot."""
    import pyarrow as pa

    actions = pa.table(DeltaTable(td.path()).get_add_actions(flatten=True)).to_pydict()
    return dict(zip(actions["path"], actions["partition.file_cluster"], strict=False))


def versions() -> dict[str, int]:
    return {name: io.table_version(TABLES[name]) for name in CLUSTERED}


def run(spark) -> None:  # type: ignore[no-untyped-def]
    pipeline.run_pipeline(spark, TENANT, as_of=AS_OF, until="silver")


@pytest.fixture
def loaded(spark, pipeline_lake):
    write_bronze(
        spark,
        "opportunity",
        bronze_rows(TENANT, history(pipeline_lake), run_id="b1", ingested_at=utc(2025, 3, 1)),
    )
    run(spark)
    return pipeline_lake


def test_first_load_writes_one_partition_per_open_or_closed_month(spark, loaded):
    assert sorted(set(live_files(silver.OPPORTUNITY).values())) == [
        "closed-2024-01",
        "closed-2024-02",
        "closed-2024-03",
        "open-2025-01",
        "open-2025-02",
    ]
    for td in (silver.OPPORTUNITY_SPEND, silver.OPPORTUNITY_CONTACT):
        assert set(live_files(td).values()) <= set(live_files(silver.OPPORTUNITY).values())


def test_an_update_within_a_cluster_rewrites_only_that_clusters_files(spark, loaded):
    before_versions = versions()
    before_files = {name: live_files(TABLES[name]) for name in CLUSTERED}
    # P1 (open-2025-02) gets a newer open version in the same month, plus one new opportunity in 2025-02
    write_bronze(
        spark,
        "opportunity",
        bronze_rows(
            TENANT,
            [
                opportunity(
                    "P1",
                    stage="Committed",
                    modified="2025-02-20T10:00:00Z",
                    spend=[("7", "USD", "Monthly")],
                    team=TEAM,
                ),
                opportunity("N1", stage="Prospect", modified="2025-02-21T10:00:00Z", team=TEAM),
            ],
            run_id="b2",
            ingested_at=utc(2025, 3, 2),
        ),
    )
    run(spark)
    after_versions = versions()
    for name in CLUSTERED:
        assert after_versions[name] == before_versions[name] + 1, name  # one MERGE commit per table
        actions = log_actions(name, before_versions[name], after_versions[name])
        assert actions["remove"], f"{name}: the update rewrote no file"
        assert clusters(actions["remove"]) == {"open-2025-02"}, name
        assert clusters(actions["add"]) == {"open-2025-02"}, name
        untouched = {p for p, c in before_files[name].items() if c != "open-2025-02"}
        assert untouched <= set(live_files(TABLES[name])), f"{name}: other clusters rewritten"
    scope = TenantScope.for_tenant(TENANT)
    p1 = [
        r.asDict() for r in io.read(spark, silver.OPPORTUNITY, scope).where("opportunity_id = 'P1'").collect()
    ]
    assert [(r["stage"], r["file_cluster"]) for r in p1] == [("Committed", "open-2025-02")]
    spend = io.read(spark, silver.OPPORTUNITY_SPEND, scope).where("opportunity_id = 'P1'").collect()
    assert [(r.spend_index, str(r.amount), r.file_cluster) for r in spend] == [(0, "7.00", "open-2025-02")]


def test_an_opportunity_that_closes_moves_with_its_children_to_the_closed_cluster(spark, loaded):
    before_versions = versions()
    write_bronze(
        spark,
        "opportunity",
        bronze_rows(
            TENANT,
            [
                opportunity(
                    "P0",
                    stage="Launched",
                    modified="2025-03-03T10:00:00Z",
                    spend=[("9", "USD", "Monthly")],
                    team=TEAM,
                ),
            ],
            run_id="b2",
            ingested_at=utc(2025, 3, 4),
        ),
    )
    run(spark)
    scope = TenantScope.for_tenant(TENANT)
    for name in CLUSTERED:
        actions = log_actions(name, before_versions[name], versions()[name])
        assert clusters(actions["remove"]) == {"open-2025-01"}, name  # P0's previous cluster only
        assert clusters(actions["add"]) <= {"open-2025-01", "closed-2025-03"}, name
        assert "closed-2025-03" in clusters(actions["add"]), name
        rows = io.read(spark, TABLES[name], scope).where("opportunity_id = 'P0'").collect()
        assert rows and {r.file_cluster for r in rows} == {"closed-2025-03"}, name
    spend = io.read(spark, silver.OPPORTUNITY_SPEND, scope).where("opportunity_id = 'P0'").collect()
    assert [(r.spend_index, str(r.amount)) for r in spend] == [(0, "9.00")]  # the EUR entry was deleted
    assert io.read(spark, silver.OPPORTUNITY, scope).count() == 15


def test_a_late_stale_version_rewrites_nothing(spark, loaded):
    before_versions = versions()
    write_bronze(
        spark,
        "opportunity",
        bronze_rows(
            TENANT,
            [
                opportunity("C0", stage="Prospect", modified="2023-12-01T10:00:00Z", team=TEAM),
            ],
            run_id="b2",
            ingested_at=utc(2025, 3, 2),
        ),
    )
    run(spark)
    assert versions() == before_versions


def test_a_table_written_before_the_layout_is_refused_with_how_to_rebuild(spark, pipeline_lake):
    td = silver.OPPORTUNITY
    old = io.read(spark, td, TenantScope.for_tenant(TENANT)).limit(0)
    old.write.format("delta").mode("overwrite").partitionBy("tenant_id").save(td.path())
    write_bronze(
        spark,
        "opportunity",
        bronze_rows(TENANT, [opportunity("O1")], run_id="b1", ingested_at=utc(2025, 3, 1)),
    )
    with pytest.raises(
        SchemaMismatch,
        match=r"silver.opportunity refused, nothing written: .* partitioned by "
        r"\['tenant_id'\] but declared by \['tenant_id', 'file_cluster'\].*"
        r"rebuild it.*silver_partner_central rows of ops.pipeline_watermark",
    ):
        run(spark)


def test_a_first_load_larger_than_a_slice_is_appended_in_partition_groups_one_file_per_cluster(
    spark, pipeline_lake, monkeypatch
):
    monkeypatch.setattr(io, "APPEND_SLICE_ROWS", 4)  # 15 opportunities in 5 clusters of 3: 5 appends
    write_bronze(
        spark,
        "opportunity",
        bronze_rows(TENANT, history(pipeline_lake), run_id="b1", ingested_at=utc(2025, 3, 1)),
    )
    run(spark)
    files = live_files(silver.OPPORTUNITY)
    assert sorted(files.values()) == sorted(set(files.values()))  # one file per cluster
    assert len(files) == 5
    assert io.table_version(silver.OPPORTUNITY) == 4  # versions 0..4: one commit per group
    scope = TenantScope.for_tenant(TENANT)
    assert sorted(r.opportunity_id for r in io.read(spark, silver.OPPORTUNITY, scope).collect()) == sorted(
        [f"C{i}" for i in range(9)] + [f"P{i}" for i in range(6)]
    )


# ----------------------------------------------------------------------------- gold from changed clusters only


def full_facts(spark) -> list[tuple]:  # type: ignore[no-untyped-def]
    """gold.ace_facts recomputed from the whole of silver (what the stored facts must equal)."""
    from lakehouse.partner_central.transforms import gold as gold_ace

    scope = TenantScope.for_tenant(TENANT)
    facts = gold_ace.ace_facts(
        io.read(spark, silver.OPPORTUNITY, scope),
        io.read(spark, silver.OPPORTUNITY_SPEND, scope),
        as_of=AS_OF,
    )
    return sorted((tuple(r) for r in facts.collect()), key=repr)


def stored_facts(spark) -> list[tuple]:  # type: ignore[no-untyped-def]
    return sorted(
        (tuple(r) for r in io.read(spark, "gold.ace_facts", TenantScope.for_tenant(TENANT)).collect()),
        key=repr,
    )


def test_gold_recomputes_only_the_clusters_silver_changed_and_equals_a_full_recompute(
    spark, pipeline_lake, monkeypatch
):
    from lakehouse.partner_central.transforms import gold as gold_ace

    write_bronze(
        spark,
        "opportunity",
        bronze_rows(TENANT, history(pipeline_lake), run_id="b1", ingested_at=utc(2025, 3, 1)),
    )
    pipeline.run_pipeline(spark, TENANT, as_of=AS_OF)
    assert stored_facts(spark) == full_facts(spark)
    scope = TenantScope.for_tenant(TENANT)
    before = io.table_version(silver.OPPORTUNITY)

    # P0 (open-2025-01) closes in 2025-03 and P1 (open-2025-02) gets new spend: three clusters change
    write_bronze(
        spark,
        "opportunity",
        bronze_rows(
            TENANT,
            [
                opportunity("P0", stage="Launched", modified="2025-03-05T10:00:00Z", team=TEAM),
                opportunity(
                    "P1",
                    stage="Qualified",
                    modified="2025-02-20T10:00:00Z",
                    spend=[("900", "USD", "Monthly")],
                    team=TEAM,
                ),
            ],
            run_id="b2",
            ingested_at=utc(2025, 3, 6),
        ),
    )
    assert io.changed_partitions(silver.OPPORTUNITY, scope, before, "file_cluster") == set()
    seen: list[set] = []
    real = gold_ace.ace_facts

    def spy(opportunity_df, spend_df=None, **kwargs):  # type: ignore[no-untyped-def]
        seen.append({r[0] for r in opportunity_df.select("file_cluster").distinct().collect()})
        return real(opportunity_df, spend_df, **kwargs)

    monkeypatch.setattr(gold_ace, "ace_facts", spy)
    pipeline.run_pipeline(spark, TENANT, as_of=AS_OF)
    assert io.changed_partitions(silver.OPPORTUNITY, scope, before, "file_cluster") == {
        "open-2025-01",
        "open-2025-02",
        "closed-2025-03",
    }
    assert seen == [{"open-2025-01", "open-2025-02", "closed-2025-03"}]  # not the other three clusters
    monkeypatch.setattr(gold_ace, "ace_facts", real)
    assert stored_facts(spark) == full_facts(spark)
    pipeline_rows = {
        (r.stage, r.target_close_month): (r.opportunity_count, r.expected_monthly_spend_usd)
        for r in io.read(spark, "gold.ace_pipeline", scope).collect()
    }
    assert pipeline_rows[("Launched", "2025-06")] == (5, Decimal("500.00"))  # C1, C3, C5, C7 and now P0
    assert pipeline_rows[("Qualified", "2025-06")] == (5, Decimal("1300.00"))  # P1's 900 + 4 x 100
