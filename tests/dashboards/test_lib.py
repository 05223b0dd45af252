"""dashboards.lib: tenant-scoped readers (Delta and SQL with bound parameters) and the pure processing."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pyarrow as pa
import pytest

from dashboards.lib import datasets as D
from dashboards.lib import processing as P
from dashboards.lib.data import AnyOf, DeltaLakeReader, Filter, SqlLakeReader
from lakehouse.errors import BadInput
from tests.dashboards.lakedata import OPPORTUNITIES

ACME_IDS = sorted(o[0] for o in OPPORTUNITIES["acme"])
INJECTION = "Launched' OR '1'='1"


@pytest.fixture
def reader(dash_env) -> DeltaLakeReader:
    return DeltaLakeReader()


def test_delta_reader_returns_only_the_tenants_rows(reader):
    rows = reader.read("silver.opportunity", "acme", columns=["tenant_id", "opportunity_id"])
    assert sorted(rows["opportunity_id"]) == ACME_IDS
    assert set(rows["tenant_id"]) == {"acme"}
    assert reader.count("silver.opportunity", "globex") == 3
    assert reader.tenants("gold.ace_pipeline") == ["acme", "globex"]


def test_a_tenant_id_that_is_not_an_identifier_is_refused(reader):
    with pytest.raises(BadInput, match="invalid tenant id"):
        reader.read("silver.opportunity", "acme' OR '1'='1")
    with pytest.raises(BadInput, match="invalid tenant id"):
        reader.stats("silver.opportunity", "../globex")


def test_filters_on_unknown_columns_are_refused(reader):
    with pytest.raises(BadInput, match="unknown column 'nope'"):
        reader.read("silver.opportunity", "acme", where=[Filter("nope", "=", 1)])


def test_filter_values_are_data_not_code(reader):
    assert reader.count("silver.opportunity", "acme", where=[Filter("stage", "=", INJECTION)]) == 0
    assert reader.count("silver.opportunity", "acme", where=[Filter("stage", "=", "Launched")]) == 2


def test_a_table_never_written_reads_as_an_empty_frame_with_its_columns(tmp_path):
    empty = DeltaLakeReader(str(tmp_path))
    rows = empty.read("gold.ace_pipeline", "acme")
    assert rows.empty
    assert list(rows.columns) == [
        "tenant_id",
        "stage",
        "target_close_month",
        "opportunity_count",
        "expected_monthly_spend_usd",
    ]
    assert empty.stats("gold.ace_pipeline", "acme").exists is False
    assert empty.count("gold.ace_pipeline", "acme") == 0


def test_stats_come_from_the_delta_log(reader):
    stats = reader.stats("silver.opportunity_spend", "acme")
    assert (stats.exists, stats.rows) == (True, 8)
    assert reader.stats("silver.opportunity_spend", "nobody").rows == 0


def test_month_range_with_undated_opportunities(reader):
    filters = P.PipelineFilters(month_from="2026-07", month_to="2026-07", include_undated=True)
    rows = reader.read(
        "silver.opportunity", "acme", columns=["opportunity_id"], where=P.opportunity_clauses(filters)
    )
    assert sorted(rows["opportunity_id"]) == ["O-A2", "O-A3", "O-A6"]
    dated_only = P.PipelineFilters(month_from="2026-04", month_to=None, include_undated=False)
    rows = reader.read(
        "silver.opportunity", "acme", columns=["opportunity_id"], where=P.opportunity_clauses(dated_only)
    )
    assert sorted(rows["opportunity_id"]) == ["O-A1", "O-A2", "O-A3", "O-A4", "O-A7"]


def test_sql_reader_on_duckdb_gives_the_same_rows_with_bound_parameters(reader):
    import duckdb

    con = duckdb.connect()
    both = pd.concat([reader.read("gold.ace_pipeline", t) for t in ("acme", "globex")], ignore_index=True)
    con.register("both_df", both)
    con.execute('CREATE TABLE main."gold_ace_pipeline" AS SELECT * FROM both_df')
    sql = SqlLakeReader(con, schema="main", paramstyle="qmark", source_id="duckdb:test")

    def key(frame: pd.DataFrame) -> list[tuple]:
        return sorted((r.stage, r.target_close_month, int(r.opportunity_count)) for r in frame.itertuples())

    assert key(sql.read("gold.ace_pipeline", "acme")) == key(reader.read("gold.ace_pipeline", "acme"))
    where = [
        Filter("stage", "in", ("Launched", "Committed")),
        AnyOf((Filter("target_close_month", "is null"), Filter("target_close_month", ">=", "2026-07"))),
    ]
    assert (
        sql.count("gold.ace_pipeline", "acme", where=where)
        == reader.count("gold.ace_pipeline", "acme", where=where)
        == 2
    )
    assert sql.count("gold.ace_pipeline", "acme", where=[Filter("stage", "=", INJECTION)]) == 0
    assert sql.count("gold.ace_pipeline", "globex") == 3
    assert sql.tenants("gold.ace_pipeline") == ["acme", "globex"]
    with pytest.raises(BadInput):
        sql.read("gold.ace_pipeline", "acme' OR '1'='1")


def test_pipeline_view_reads_gold_unless_silver_dimensions_are_filtered(reader):
    view = D.pipeline_view(reader, "acme", P.PipelineFilters())
    assert (view.kpis.source, view.kpis.opportunities, view.stale, view.action_required) == ("gold", 7, 1, 2)
    view = D.pipeline_view(reader, "acme", P.PipelineFilters(countries=("US",)))
    # O-A1, O-A3, O-A5, O-A7; spend 1000 + 4000 + 2000; won A7, lost A5
    assert (view.kpis.source, view.kpis.opportunities, view.kpis.expected_monthly_spend_usd) == (
        "silver",
        4,
        7000.0,
    )
    assert (view.kpis.won, view.kpis.lost, view.kpis.win_rate) == (1, 1, 0.5)


def test_stage_conversion_from_current_stages():
    counts = {
        "Prospect": 1,
        "Qualified": 1,
        "Technical Validation": 1,
        "Committed": 1,
        "Launched": 2,
        "Closed Lost": 1,
    }
    conv = P.stage_conversion(counts)
    assert conv["reached_from"].tolist() == [6, 5, 4, 3, 3]
    assert conv["conversion"].round(4).tolist() == [round(5 / 6, 4), 0.8, 0.75, 1.0, round(2 / 3, 4)]


def test_spend_forecast_weights_each_stage():
    rows = pd.DataFrame(
        {
            "stage": [
                "Closed Lost",
                "Launched",
                "Prospect",
                "Qualified",
                "Committed",
                "Launched",
                "Technical Validation",
            ],
            "target_close_month": ["2026-03", "2026-04", "2026-05", "2026-07", "2026-07", "2026-08", None],
            "opportunity_count": [1] * 7,
            "expected_monthly_spend_usd": [0.0, 800.0, 1000.0, 2500.0, 4000.0, 2000.0, 150.5],
        }
    )
    out = P.spend_forecast(rows)
    assert out["target_close_month"].tolist() == ["2026-03", "2026-04", "2026-05", "2026-07", "2026-08"]
    assert out["unweighted_usd"].tolist() == [0.0, 800.0, 1000.0, 6500.0, 2000.0]
    assert out["weighted_usd"].tolist() == [0.0, 800.0, 100.0, 3700.0, 2000.0]
    assert out["cumulative_weighted_usd"].tolist() == [0.0, 800.0, 900.0, 4600.0, 6600.0]


def test_pipeline_by_segment(reader):
    facts = D.opportunity_facts(reader, "acme")
    seg = P.pipeline_by_segment(facts, "customer_industry").set_index("customer_industry")
    assert seg.loc["Software and Internet", ["opportunity_count", "expected_monthly_spend_usd"]].tolist() == [
        3,
        7000.0,
    ]
    assert seg.loc["Healthcare", "expected_monthly_spend_usd"] == 950.5
    assert seg.loc["Financial Services", "win_rate"] == 0.0
    assert list(seg.index) == ["Software and Internet", "Financial Services", "Healthcare"]


def test_month_bounds_cover_december():
    assert P.month_bounds("2026-12", "2026-12") == (date(2026, 12, 1), date(2027, 1, 1))


def test_the_csv_download_of_a_list_has_every_row_not_just_the_shown_ones(reader):
    from dashboards.lib.auth import Viewer
    from dashboards.lib.ui import PageContext, full_csv

    viewer = Viewer(
        subject="key:t", role="analyst", home_tenant="acme", tenants=("acme",), clearance="confidential"
    )
    ctx = PageContext(viewer=viewer, tenant="acme", reader=reader)
    shown, _ = D.opportunity_list(
        reader, "acme", P.PipelineFilters(), "all", columns=("opportunity_id",), limit=2
    )
    assert len(shown) == 2
    csv = full_csv(
        ctx, "opportunity_list", P.PipelineFilters(), "all", columns=("opportunity_id", "stage"), limit=None
    )().decode()
    lines = csv.strip().splitlines()
    assert lines[0] == "opportunity_id,stage"
    assert sorted(line.split(",")[0] for line in lines[1:]) == ACME_IDS


@pytest.mark.parametrize(
    "where",
    [
        [],
        [Filter("stage", "in", ("Launched", "Committed"))],
        [Filter("stage", "not in", ("Launched",)), Filter("customer_country_code", "=", "US")],
        P.stale_clauses(date(2026, 6, 15)),
        P.opportunity_clauses(
            P.PipelineFilters(month_from="2026-05", month_to="2026-07", include_undated=True)
        ),
        [Filter("review_status", "=", INJECTION)],
    ],
)
def test_in_memory_and_disk_reads_agree(dash_env, where):
    hot, cold = DeltaLakeReader(), DeltaLakeReader(hot_columns={})
    cols = ["tenant_id", "opportunity_id", "stage", "target_close_date"]
    a = hot.read("silver.opportunity", "acme", columns=cols, where=where).sort_values("opportunity_id")
    b = cold.read("silver.opportunity", "acme", columns=cols, where=where).sort_values("opportunity_id")
    pd.testing.assert_frame_equal(a.reset_index(drop=True), b.reset_index(drop=True))
    assert hot.count("silver.opportunity", "acme", where=where) == cold.count(
        "silver.opportunity", "acme", where=where
    )
    assert hot.distinct("silver.opportunity", "globex", "stage") == cold.distinct(
        "silver.opportunity", "globex", "stage"
    )


def test_a_new_table_version_is_seen_by_the_in_memory_copy(spark, lake):
    from lakehouse import io
    from lakehouse.tenancy import TenantScope
    from tests.dashboards.lakedata import frame

    scope = TenantScope.for_tenant("acme")
    row = {"tenant_id": "acme", "opportunity_id": "O-1", "stage": "Prospect"}
    io.append(spark, "silver.opportunity", frame(spark, "silver.opportunity", [row]), scope)
    reader = DeltaLakeReader(str(lake))
    assert reader.count("silver.opportunity", "acme") == 1
    io.append(
        spark,
        "silver.opportunity",
        frame(spark, "silver.opportunity", [{**row, "opportunity_id": "O-2"}]),
        scope,
    )
    assert reader.count("silver.opportunity", "acme") == 2
    assert reader.distinct("silver.opportunity", "acme", "opportunity_id") == ["O-1", "O-2"]


def test_silver_with_deletion_vectors_reads_each_current_row_once(spark, lake):
    """silver.opportunity is merge-on-read: a MERGE marks replaced rows in deletion vectors instead of
    rewriting files, so reading the files alone would return the old and the new version of a changed row."""
    from deltalake import DeltaTable

    from dashboards.lib.data import deleted_rows, has_deletion_vectors
    from lakehouse import io
    from lakehouse.tenancy import TenantScope
    from tests.dashboards.lakedata import frame

    scope = TenantScope.for_tenant("acme")
    rows = [
        {
            "tenant_id": "acme",
            "catalog": "AWS",
            "opportunity_id": f"O-{i}",
            "stage": "Prospect",
            "file_cluster": "open-2026-06",
        }
        for i in range(6)
    ]
    io.append(spark, "silver.opportunity", frame(spark, "silver.opportunity", rows), scope)
    changed = [{**rows[1], "stage": "Qualified"}, {**rows[4], "stage": "Launched"}]
    io.merge(spark, "silver.opportunity", frame(spark, "silver.opportunity", changed), scope)

    dt = DeltaTable(str(lake / "silver" / "opportunity"))
    assert has_deletion_vectors(dt)
    files = set(pa.table(dt.get_add_actions(flatten=True))["path"].to_pylist())
    assert deleted_rows(dt, files) == 2  # the two replaced rows stay in their file, marked deleted

    hot, cold = DeltaLakeReader(str(lake)), DeltaLakeReader(str(lake), hot_columns={})
    for reader in (hot, cold):
        got = reader.read("silver.opportunity", "acme", columns=["opportunity_id", "stage"])
        assert sorted(zip(got["opportunity_id"], got["stage"], strict=True)) == [
            ("O-0", "Prospect"),
            ("O-1", "Qualified"),
            ("O-2", "Prospect"),
            ("O-3", "Prospect"),
            ("O-4", "Launched"),
            ("O-5", "Prospect"),
        ]
        assert reader.count("silver.opportunity", "acme", where=[Filter("stage", "=", "Prospect")]) == 4
        assert reader.distinct("silver.opportunity", "acme", "stage") == ["Launched", "Prospect", "Qualified"]
        assert reader.stats("silver.opportunity", "acme").rows == 6
