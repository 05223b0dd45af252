"""Bronze -> silver -> gold end to end on real Delta tables (embedded Sail).

One scenario (fixture + generated opportunities, two ingestion runs, malformed and out-of-order versions,
planted personal data) runs once per module; the tests check its outcome against tests/partner_central/data.py's
independent plain-Python computation, then prove re-runs write nothing and no raw PII left bronze.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow.parquet
import pytest
from deltalake import DeltaTable

from lakehouse import io, ops
from lakehouse.errors import QualityGateFailed
from lakehouse.partner_central import pipeline
from lakehouse.quality.suites import packaged_suites
from lakehouse.settings import get_settings
from lakehouse.tenancy import TenantScope

from . import data
from .conftest import PII_SECRET, bronze_rows, ensure_bronze_tables, opportunity, utc, write_bronze

TENANT = "acme"
AS_OF = date(2025, 6, 1)
SCOPE = TenantScope.for_tenant(TENANT)


def ingest(spark, batch: data.Batch, tenant: str = TENANT) -> None:
    for entity in ("opportunity", "solution", "engagement_invitation"):
        payloads = getattr(batch, entity)
        if payloads:
            write_bronze(
                spark,
                entity,
                bronze_rows(tenant, payloads, run_id=batch.run_id, ingested_at=batch.ingested_at),
            )


def delta_tables(root: Path) -> dict[str, Path]:
    """Every Delta table under the lake root, by layer.name."""
    found = {}
    for log in root.rglob("_delta_log"):
        rel = log.parent.relative_to(root).parts
        if rel and rel[0] != "_staging":
            found[".".join(rel)] = log.parent
    return found


def versions(root: Path) -> dict[str, int]:
    return {name: DeltaTable(str(path)).version() for name, path in delta_tables(root).items()}


def rows(spark, table: str, tenant: str = TENANT) -> list[dict[str, Any]]:
    return [r.asDict(recursive=True) for r in io.read(spark, table, TenantScope.for_tenant(tenant)).collect()]


def assert_gold_matches(spark, want: data.Expected) -> None:
    pipeline_rows = {
        (r["stage"], r["target_close_month"]): (r["opportunity_count"], r["expected_monthly_spend_usd"])
        for r in rows(spark, "gold.ace_pipeline")
    }
    assert pipeline_rows == want.pipeline
    assert [
        (r["won_count"], r["lost_count"], r["open_count"], r["win_rate"])
        for r in rows(spark, "gold.ace_win_rate")
    ] == [want.win_rate]
    health = {
        r["review_status"]: (r["opportunity_count"], r["stale_count"], r["action_required_count"])
        for r in rows(spark, "gold.ace_pipeline_health")
    }
    assert health == want.health
    assert {r["as_of_date"] for r in rows(spark, "gold.ace_pipeline_health")} == {AS_OF}


@dataclass
class Scenario:
    root: Path
    first: data.Batch
    second: data.Batch
    outcomes: list[list[pipeline.StepOutcome]]
    after_first: dict[str, Any]


@pytest.fixture(scope="module")
def scenario(spark, tmp_path_factory) -> Scenario:
    root = tmp_path_factory.mktemp("scenario") / "lake"
    root.mkdir()
    mp = pytest.MonkeyPatch()
    mp.setenv("LAKEHOUSE_LAKE_ROOT", str(root))
    mp.setenv("LAKEHOUSE_PII_SECRET", PII_SECRET)
    mp.delenv("LAKEHOUSE_OPENLINEAGE_FILE", raising=False)
    get_settings.cache_clear()
    ensure_bronze_tables()
    try:
        first, second = data.scenario_batches()
        ingest(spark, first)
        outcomes = [pipeline.run_pipeline(spark, TENANT, as_of=AS_OF, run_id="run-1")]
        after_first = {
            "expected": data.expected([first], AS_OF),
            "gold": {
                t: rows(spark, t)
                for t in ("gold.ace_pipeline", "gold.ace_win_rate", "gold.ace_pipeline_health")
            },
            "opportunity_ids": sorted(r["opportunity_id"] for r in rows(spark, "silver.opportunity")),
        }
        ingest(spark, second)
        outcomes.append(pipeline.run_pipeline(spark, TENANT, as_of=AS_OF, run_id="run-2"))
        yield Scenario(root, first, second, outcomes, after_first)
    finally:
        mp.undo()
        get_settings.cache_clear()


@pytest.fixture
def at_scenario(scenario, monkeypatch):
    """Point the settings at the scenario's lake for one test."""
    monkeypatch.setenv("LAKEHOUSE_LAKE_ROOT", str(scenario.root))
    monkeypatch.setenv("LAKEHOUSE_PII_SECRET", PII_SECRET)
    get_settings.cache_clear()
    yield scenario
    get_settings.cache_clear()


def test_first_run_gold_kpis_equal_the_independent_computation(spark, at_scenario):
    want = at_scenario.after_first["expected"]
    assert at_scenario.after_first["opportunity_ids"] == sorted(want.current)
    got = at_scenario.after_first["gold"]
    assert {
        (r["stage"], r["target_close_month"]): (r["opportunity_count"], r["expected_monthly_spend_usd"])
        for r in got["gold.ace_pipeline"]
    } == want.pipeline
    assert [
        (r["won_count"], r["lost_count"], r["open_count"], r["win_rate"]) for r in got["gold.ace_win_rate"]
    ] == [want.win_rate]


def test_incremental_run_gold_kpis_equal_the_independent_computation(spark, at_scenario):
    want = data.expected([at_scenario.first, at_scenario.second], AS_OF)
    silver_opps = {r["opportunity_id"]: r for r in rows(spark, "silver.opportunity")}
    assert sorted(silver_opps) == sorted(want.current)
    for oid, doc in want.current.items():  # each row is the version the rules pick
        assert silver_opps[oid]["stage"] == doc["LifeCycle"]["Stage"], oid
        assert silver_opps[oid]["last_modified_at"].isoformat() + "Z" == doc["LastModifiedDate"]
    assert_gold_matches(spark, want)
    silver_run = at_scenario.outcomes[1][0]
    assert silver_run.counts["opportunity.bronze_rows"] == len(at_scenario.second.opportunity)


def test_spend_and_contacts_follow_the_current_version_exactly(spark, at_scenario):
    want = data.expected([at_scenario.first, at_scenario.second], AS_OF)
    spend = sorted(
        (r["opportunity_id"], r["spend_index"], r["amount"], r["currency_code"])
        for r in rows(spark, "silver.opportunity_spend")
    )
    assert spend == sorted(
        (
            oid,
            i,
            Decimal(e["Amount"]).quantize(Decimal("0.01")) if e["Amount"] not in (None, "") else None,
            e["CurrencyCode"],
        )
        for oid, doc in want.current.items()
        for i, e in enumerate(doc["Project"]["ExpectedCustomerSpend"] or [])
    )
    contacts = sorted(
        (r["opportunity_id"], r["contact_role"], r["contact_index"])
        for r in rows(spark, "silver.opportunity_contact")
    )
    assert contacts == sorted(
        [
            (oid, "customer", i)
            for oid, d in want.current.items()
            for i, _ in enumerate(d["Customer"]["Contacts"])
        ]
        + [
            (oid, "opportunity_team", i)
            for oid, d in want.current.items()
            for i, _ in enumerate(d["OpportunityTeam"])
        ]
    )


def test_quarantine_holds_exactly_the_offending_records_with_reasons(spark, at_scenario):
    want = data.expected([at_scenario.first, at_scenario.second], AS_OF)
    got = sorted(
        (
            (r["entity_id"], r["reason"])
            for r in rows(spark, "silver.opportunity_quarantine")
            if r["entity"] == "opportunity"
        ),
        key=repr,
    )
    assert got == sorted(want.quarantined, key=repr)
    assert len(got) == 5  # 4 in the first run, 1 in the second


def test_solutions_and_invitations_keep_their_latest_version(spark, at_scenario):
    assert sorted((r["solution_id"], r["status"]) for r in rows(spark, "silver.solution")) == [
        ("S-1", "Active"),
        ("S-2", "Active"),
    ]
    invitations = rows(spark, "silver.engagement_invitation")
    assert [
        (r["invitation_id"], r["status"], r["sender_contact_count"], len(r["sender_contact_email_hashes"]))
        for r in invitations
    ] == [("engi-0000000000001", "ACCEPTED", 1, 1)]


def test_quality_issues_are_recorded_per_run(spark, at_scenario):
    issues = {
        (r["run_id"], r["table_name"], r["expectation"], r["action"]): r["unexpected_count"]
        for r in rows(spark, "ops.dq_issue")
    }
    assert issues[("run-1.silver_partner_central", "silver.opportunity", "stage_is_known", "quarantine")] == 1
    eur = sum(
        1
        for p in at_scenario.first.opportunity
        if isinstance(p, dict) and data.quarantine_reason(p) is None and data.gate_reason(p) is None
        for e in p["Project"]["ExpectedCustomerSpend"] or []
        if e["CurrencyCode"] != "USD"
    )
    assert eur > 0
    assert (
        issues[("run-1.silver_partner_central", "silver.opportunity_spend", "currency_is_usd", "warn")] <= eur
    )
    results = rows(spark, "ops.dq_result")
    assert {r["table_name"] for r in results} >= {
        "silver.opportunity",
        "silver.opportunity_spend",
        "silver.opportunity_contact",
        "gold.ace_pipeline",
    }
    assert all(json.loads(r["result_json"]) is not None for r in results)


def test_every_table_a_run_wrote_is_profiled_once_under_its_step_run(spark, at_scenario):
    profiles = rows(spark, "ops.dq_profile")
    profiled = {(r["run_id"], r["table_name"]) for r in profiles}
    written = {
        (o.run_id, table)
        for run in at_scenario.outcomes
        for o in run
        for table, w in o.writes.items()
        if w.committed and not table.startswith("ops.")
    }
    assert profiled == written
    for run_id, table in written:
        declared = io.resolve(table).schema.fieldNames()
        mine = [r for r in profiles if (r["run_id"], r["table_name"]) == (run_id, table)]
        assert sorted(r["column_name"] for r in mine) == sorted(declared)
        write = next(o.writes[table] for run in at_scenario.outcomes for o in run if o.run_id == run_id)
        assert {(r["table_version"], r["rows_written"]) for r in mine} == {(write.version, write.rows)}


def test_lineage_edges_and_openlineage_events_are_recorded(spark, at_scenario):
    edges = rows(spark, "ops.lineage_edge")
    silver_edges = {
        (e["input_table"], e["output_table"]) for e in edges if e["run_id"] == "run-1.silver_partner_central"
    }
    assert ("bronze.partner_central_opportunity", "silver.opportunity") in silver_edges
    assert ("bronze.partner_central_solution", "silver.solution") in silver_edges
    gold_edges = {
        (e["input_table"], e["input_version"], e["output_table"])
        for e in edges
        if e["run_id"] == "run-2.gold_ace"
    }
    silver_version = at_scenario.outcomes[1][0].writes["silver.opportunity"].version
    assert ("silver.opportunity", silver_version, "gold.ace_pipeline") in gold_edges
    events = [
        json.loads(line)
        for line in (at_scenario.root / "_lineage" / "openlineage.jsonl").read_text().splitlines()
    ]
    by_job = [(e["job"]["name"], e["eventType"]) for e in events]
    assert by_job[:4] == [
        ("silver_partner_central", "START"),
        ("silver_partner_central", "COMPLETE"),
        ("gold_ace", "START"),
        ("gold_ace", "COMPLETE"),
    ]
    complete = events[1]
    assert {o["name"] for o in complete["outputs"]} >= {"silver.opportunity", "silver.opportunity_quarantine"}
    assert {i["name"] for i in complete["inputs"]} == {
        "bronze.partner_central_opportunity",
        "bronze.partner_central_solution",
        "bronze.partner_central_engagement_invitation",
    }


def test_rerun_without_new_bronze_writes_no_delta_version_anywhere(spark, at_scenario):
    before = versions(at_scenario.root)
    assert {"silver.opportunity", "gold.ace_pipeline", "ops.pipeline_watermark", "ops.dq_result"} <= set(
        before
    )
    outcomes = pipeline.run_pipeline(spark, TENANT, as_of=AS_OF, run_id="run-3")
    assert [o.status for o in outcomes] == ["nothing_new", "nothing_new"]
    assert versions(at_scenario.root) == before


def test_no_raw_personal_data_appears_beyond_bronze(spark, at_scenario):
    raw = [v.lower() for v in data.PLANTED_EMAILS + data.PLANTED_NAMES + data.PLANTED_PHONES]
    raw += [p.lstrip("+") for p in data.PLANTED_PHONES]
    bronze_text = json.dumps(
        [
            r
            for t in ("opportunity", "engagement_invitation")
            for r in DeltaTable(str(at_scenario.root / "bronze" / f"partner_central_{t}"))
            .to_pyarrow_table()
            .to_pylist()
        ],
        default=str,
    ).lower()
    assert all(v in bronze_text for v in raw)  # the planted values really are in bronze
    scanned = []
    for name, path in delta_tables(at_scenario.root).items():
        if name.startswith("bronze."):
            continue
        # every Parquet file under the table, not only the current rows: files of older versions and rows that
        # deletion vectors hide are still on storage until vacuum
        files = [f for f in Path(path).rglob("*.parquet") if "_delta_log" not in f.parts]
        rows = [r for f in files for r in pyarrow.parquet.read_table(f).to_pylist()]
        text = json.dumps(rows, default=str).lower()
        leaks = [v for v in raw if v in text]
        assert leaks == [], f"{name} holds raw personal data: {leaks}"
        scanned.append((name, len(rows)))
    scanned_names = {n for n, count in scanned if count}
    assert {
        "silver.opportunity",
        "silver.opportunity_contact",
        "silver.opportunity_quarantine",
        "silver.engagement_invitation",
        "gold.ace_pipeline",
        "ops.dq_result",
    } <= scanned_names


# ------------------------------------------------------------------------------------- separate lakes


def test_same_file_ingested_twice_gives_identical_gold(spark, pipeline_lake):
    payloads = [
        opportunity(f"O{i}", stage=s, spend=[(str(10 * i), "USD", "Monthly")])
        for i, s in enumerate(["Prospect", "Launched", "Closed Lost", "Launched"])
    ]
    write_bronze(
        spark, "opportunity", bronze_rows(TENANT, payloads, run_id="file-1", ingested_at=utc(2025, 1, 1))
    )
    pipeline.run_pipeline(spark, TENANT, as_of=AS_OF)
    gold_before = {
        t: sorted(map(repr, rows(spark, t)))
        for t in ("gold.ace_pipeline", "gold.ace_win_rate", "gold.ace_pipeline_health")
    }
    write_bronze(
        spark, "opportunity", bronze_rows(TENANT, payloads, run_id="file-2", ingested_at=utc(2025, 1, 2))
    )
    pipeline.run_pipeline(spark, TENANT, as_of=AS_OF)
    assert {t: sorted(map(repr, rows(spark, t))) for t in gold_before} == gold_before
    assert gold_before["gold.ace_win_rate"] == [
        repr({"tenant_id": TENANT, "won_count": 2, "lost_count": 1, "open_count": 1, "win_rate": 2 / 3})
    ]


def test_violated_fail_expectation_promotes_nothing(spark, pipeline_lake, monkeypatch, tmp_path):
    suites = tmp_path / "quality"  # overrides the packaged suite of silver.opportunity_spend only
    suites.mkdir()
    spend_suite = suites / "silver.opportunity_spend.yaml"
    spend_suite.write_text(
        packaged_suites()["silver.opportunity_spend"]
        .read_text()
        .replace(
            "kwargs: {column: currency_code, value_set: [USD]}\n    action: warn",
            "kwargs: {column: currency_code, value_set: [USD]}\n    action: fail",
        )
    )
    monkeypatch.setenv("LAKEHOUSE_QUALITY_DIR", str(suites))
    write_bronze(
        spark,
        "opportunity",
        bronze_rows(TENANT, [opportunity("O1")], run_id="b1", ingested_at=utc(2025, 1, 1)),
    )
    pipeline.run_pipeline(spark, TENANT, as_of=AS_OF)
    before = versions(pipeline_lake)
    silver_before = rows(spark, "silver.opportunity")
    write_bronze(
        spark,
        "opportunity",
        bronze_rows(
            TENANT,
            [
                opportunity(
                    "O1", modified="2025-03-01T00:00:00Z", stage="Launched", spend=[("5", "EUR", "Monthly")]
                ),
                opportunity("O2"),
            ],
            run_id="b2",
            ingested_at=utc(2025, 1, 2),
        ),
    )
    with pytest.raises(
        QualityGateFailed, match=r"silver.opportunity_spend: currency_is_usd .* 1 row\(s\), e.g. O1\|0"
    ):
        pipeline.run_pipeline(spark, TENANT, as_of=AS_OF, run_id="bad")
    assert not (pipeline_lake / "_staging").exists() or list((pipeline_lake / "_staging").iterdir()) == []
    after = versions(pipeline_lake)
    promoted = {t for t in after if not t.startswith(("bronze.", "ops.dq_"))}
    assert {t: after[t] for t in promoted} == {t: before[t] for t in promoted}
    assert rows(spark, "silver.opportunity") == silver_before
    issue = [r for r in rows(spark, "ops.dq_issue") if r["run_id"] == "bad.silver_partner_central"]
    assert [(r["expectation"], r["action"], r["unexpected_count"], r["sample_keys"]) for r in issue] == [
        ("currency_is_usd", "fail", 1, ["O1|0"])
    ]
    events = [
        json.loads(line) for line in (pipeline_lake / "_lineage" / "events.jsonl").read_text().splitlines()
    ]
    assert (events[-1]["eventType"], events[-1]["job"]["name"]) == ("FAIL", "silver_partner_central")
    assert "currency_is_usd" in events[-1]["run"]["facets"]["errorMessage"]["message"]
    # with the shipped suites the same bronze rows are still pending (the watermark did not move)
    monkeypatch.delenv("LAKEHOUSE_QUALITY_DIR")
    retry = pipeline.run_pipeline(spark, TENANT, as_of=AS_OF, run_id="retry")
    assert retry[0].counts["opportunity.bronze_rows"] == 2
    assert sorted(r["opportunity_id"] for r in rows(spark, "silver.opportunity")) == ["O1", "O2"]


def test_tenants_are_processed_separately(spark, pipeline_lake):
    write_bronze(
        spark,
        "opportunity",
        bronze_rows("acme", [opportunity("O1", stage="Launched")], run_id="a", ingested_at=utc(2025, 1, 1)),
    )
    write_bronze(
        spark,
        "opportunity",
        bronze_rows(
            "globex",
            [opportunity("O1", stage="Closed Lost"), opportunity("O2")],
            run_id="g",
            ingested_at=utc(2025, 1, 1),
        ),
    )
    pipeline.run_pipeline(spark, "acme", as_of=AS_OF)
    assert [(r["won_count"], r["lost_count"]) for r in rows(spark, "gold.ace_win_rate", "acme")] == [(1, 0)]
    assert rows(spark, "silver.opportunity", "globex") == []  # globex's bronze is untouched until its own run
    pipeline.run_pipeline(spark, "globex", as_of=AS_OF)
    assert [
        (r["won_count"], r["lost_count"], r["open_count"]) for r in rows(spark, "gold.ace_win_rate", "globex")
    ] == [(0, 1, 1)]
    assert [(r["won_count"], r["lost_count"]) for r in rows(spark, "gold.ace_win_rate", "acme")] == [(1, 0)]


def test_a_payload_landed_twice_is_quarantined_once(spark, pipeline_lake):
    bad = [opportunity(None), opportunity("O9", stage="Negotiation")]
    for run, day in (("file-1", 1), ("file-2", 2)):
        write_bronze(
            spark, "opportunity", bronze_rows(TENANT, bad, run_id=run, ingested_at=utc(2025, 1, day))
        )
    outcome = pipeline.run_pipeline(spark, TENANT, as_of=AS_OF, until="silver")[0]
    assert outcome.counts["opportunity.bronze_rows"] == 4
    assert sorted(
        (
            (r["entity_id"], r["reason"], r["ingestion_run_id"])
            for r in rows(spark, "silver.opportunity_quarantine")
        ),
        key=repr,
    ) == [("O9", "quality: stage_is_known", "file-2"), (None, "missing Id", "file-2")]


def test_staging_is_removed_after_a_run(spark, pipeline_lake):
    write_bronze(
        spark,
        "opportunity",
        bronze_rows(TENANT, [opportunity("O1")], run_id="b1", ingested_at=utc(2025, 1, 1)),
    )
    pipeline.run_pipeline(spark, TENANT, as_of=AS_OF, until="silver")
    staging = pipeline_lake / "_staging"
    assert not staging.exists() or list(staging.iterdir()) == []


def test_ops_records_are_appended_under_a_fresh_run_id_and_replaced_under_a_given_one(spark, pipeline_lake):

    write_bronze(
        spark,
        "opportunity",
        bronze_rows(TENANT, [opportunity("O1")], run_id="b1", ingested_at=utc(2025, 1, 1)),
    )
    silver_outcome = pipeline.run_pipeline(spark, TENANT, as_of=AS_OF, until="silver")[0]
    fresh = silver_outcome.run_id
    assert fresh.startswith("pipeline-") and fresh.endswith(".silver_partner_central")
    recorded = [r for r in rows(spark, "ops.dq_result") if r["run_id"] == fresh]
    assert recorded and len({(r["table_name"], r["expectation"]) for r in recorded}) == len(recorded)
    operations = [h["operation"] for h in io.history(ops.DQ_RESULT)]
    assert "MERGE" not in operations  # every record so far came under a fresh run id: appended

    # a given run id may be a retry: recording its rows again replaces them (MERGE on the run-id key)
    rc = pipeline.RunContext.create(spark, TENANT, job_name=pipeline.SILVER_JOB, run_id="given-1")
    assert not rc.fresh_run_id
    again = [{**r, "run_id": "given-1"} for r in recorded]
    for _ in range(2):
        pipeline._record(rc, ops.DQ_RESULT, spark.createDataFrame(again, ops.DQ_RESULT.schema))
    assert len([r for r in rows(spark, "ops.dq_result") if r["run_id"] == "given-1"]) == len(recorded)
    assert io.history(ops.DQ_RESULT, 1)[0]["operation"] == "MERGE"
