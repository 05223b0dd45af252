"""The metric registry and compiler: definitions load and validate, compile to every dialect, and bad
definitions or requests fail with typed errors that name what was wrong."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import pandas as pd
import pytest
import sqlglot
from sqlglot import exp

from lakehouse import metrics
from lakehouse.metrics import MetricFilter
from lakehouse.metrics.registry import DIR_ENV, clear_cache, load

EXPECTED_METRICS = {
    "opportunity_count",
    "expected_monthly_spend_usd",
    "won_count",
    "lost_count",
    "open_count",
    "win_rate",
    "stale_count",
    "action_required_count",
    "estimated_revenue",
    "records_sent",
    "usage_days",
    "metered_dimensions",
    "active_subscriptions",
    "pending_cancellation_subscriptions",
    "expired_subscriptions",
}


@pytest.fixture
def definitions_copy(tmp_path: Path) -> Path:
    """A writable copy of the packaged definitions."""
    target = tmp_path / "definitions"
    shutil.copytree(Path(str(metrics.package_definitions())), target)
    return target


def test_every_kpi_is_defined_once_with_its_metadata():
    defined = metrics.list_metrics()
    assert {m.name for m in defined} == EXPECTED_METRICS
    for m in defined:
        assert m.owner and m.description and m.grain and m.version >= 1
        assert metrics.model_of(m.name).table.startswith("gold.")


@pytest.mark.parametrize("name", sorted(EXPECTED_METRICS))
@pytest.mark.parametrize("dialect", ["spark", "duckdb", "postgres", "redshift"])
def test_each_metric_compiles_to_sql_that_parses_back_in_its_dialect(name, dialect):
    metric = metrics.get(name)
    dims = list(metric.dimensions[:1])
    sql = metrics.compile_sql(name, dialect, relation="analytics.gold_table", tenant="acme", dimensions=dims)
    tree = sqlglot.parse_one(sql, read=dialect)
    assert isinstance(tree, exp.Select)
    assert [e.alias_or_name for e in tree.expressions][-1] == name
    assert tree.find(exp.Where).sql(dialect=dialect) == "WHERE tenant_id = 'acme'"


def test_filters_move_inside_the_aggregate_so_metrics_share_one_query():
    sql = metrics.compile_sql(["won_count", "lost_count"], "postgres", relation="t")
    assert sql == (
        "SELECT COALESCE(SUM(CASE WHEN (stage = 'Launched') THEN opportunity_count END), 0) AS won_count, "
        "COALESCE(SUM(CASE WHEN (stage = 'Closed Lost') THEN opportunity_count END), 0) AS lost_count FROM t"
    )


def test_win_rate_is_derived_from_won_and_lost_and_divides_as_double_in_postgres():
    sql = metrics.measure_sql("win_rate", "postgres")
    assert "CAST(" in sql and "AS DOUBLE PRECISION" in sql
    assert sql.count("stage = 'Launched'") == 2 and sql.count("stage = 'Closed Lost'") == 1


def test_revenue_is_always_grouped_by_currency():
    sql = metrics.compile_sql("estimated_revenue", "redshift", relation="s.t", dimensions=["usage_date"])
    assert sql.endswith("GROUP BY usage_date, currency_code ORDER BY usage_date, currency_code")


def test_filter_values_are_escaped_literals_not_sql():
    evil = "x' OR '1'='1"
    sql = metrics.compile_sql(
        "opportunity_count",
        "postgres",
        relation="t",
        filters=[MetricFilter(column="review_status", op="in", value=(evil, "Approved"))],
    )
    tree = sqlglot.parse_one(sql, read="postgres")
    literals = [lit.this for lit in tree.find(exp.Where).find_all(exp.Literal)]
    assert literals == [evil, "Approved"]


def test_a_dimension_the_metric_does_not_have_is_refused_by_name():
    with pytest.raises(metrics.MetricQueryError, match=r"win_rate has no dimension 'stage'"):
        metrics.compile_sql("win_rate", "spark", relation="t", dimensions=["stage"])
    with pytest.raises(metrics.MetricQueryError, match=r"cannot be filtered on 'customer_industry'"):
        metrics.compile_sql(
            "win_rate", "spark", relation="t", filters=[MetricFilter(column="customer_industry", value="x")]
        )


def test_unknown_metric_names_the_defined_ones():
    with pytest.raises(metrics.UnknownMetric, match=r"no metric 'nope'; defined: action_required_count"):
        metrics.get("nope")


def test_compute_frame_gives_the_hand_worked_figures():
    facts = pd.DataFrame(
        {
            "stage": ["Launched", "Closed Lost", "Prospect", None],
            "target_close_month": ["2026-01", "2026-01", "2026-02", None],
            "review_status": ["Approved", "Rejected", "Action Required", "Action Required"],
            "stale": [False, False, True, None],
            "opportunity_count": [3, 1, 2, 4],
            "usd_monthly_spend": [100.5, None, 20.0, 0.0],
        }
    )
    out = metrics.compute_frame(
        ["opportunity_count", "won_count", "lost_count", "open_count", "win_rate", "stale_count"], facts
    )
    assert out.to_dict("records") == [
        {
            "opportunity_count": 10,
            "won_count": 3,
            "lost_count": 1,
            "open_count": 6,
            "win_rate": 0.75,
            "stale_count": 2,
        }
    ]
    by_month = metrics.compute_frame(
        "expected_monthly_spend_usd", facts, dimensions=["target_close_month"]
    ).to_dict("records")
    assert by_month == [
        {"target_close_month": "2026-01", "expected_monthly_spend_usd": 100.5},
        {"target_close_month": "2026-02", "expected_monthly_spend_usd": 20.0},
        {"target_close_month": None, "expected_monthly_spend_usd": 0.0},
    ]


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))


def test_a_column_outside_the_model_is_refused_naming_the_file(definitions_copy):
    _edit(definitions_copy / "won_count.yaml", "stage = 'Launched'", "customer_industry = 'x'")
    with pytest.raises(metrics.MetricDefinitionError, match=r"won_count.yaml: column\(s\) customer_industry"):
        load(definitions_copy, source="copy")


def test_an_expression_without_aggregate_is_refused(definitions_copy):
    _edit(
        definitions_copy / "opportunity_count.yaml",
        "COALESCE(SUM(opportunity_count), 0)",
        "opportunity_count",
    )
    with pytest.raises(metrics.MetricDefinitionError, match="aggregates nothing"):
        load(definitions_copy, source="copy")


def test_a_missing_field_is_refused_naming_the_file_and_field(definitions_copy):
    _edit(definitions_copy / "records_sent.yaml", "owner: marketplace-analytics\n", "")
    with pytest.raises(metrics.MetricDefinitionError, match=r"records_sent.yaml: owner: Field required"):
        load(definitions_copy, source="copy")


def test_a_derivation_cycle_is_refused(definitions_copy):
    _edit(
        definitions_copy / "won_count.yaml",
        "expression: COALESCE(SUM(opportunity_count), 0)\nfilters: [\"stage = 'Launched'\"]",
        "derived_from: [win_rate]\nexpression: win_rate",
    )
    with pytest.raises(metrics.MetricDefinitionError, match="derived from itself"):
        load(definitions_copy, source="copy")


def test_metrics_dir_env_loads_a_changed_copy(definitions_copy, monkeypatch):
    _edit(definitions_copy / "won_count.yaml", "stage = 'Launched'", "stage IN ('Launched', 'Committed')")
    monkeypatch.setenv(DIR_ENV, str(definitions_copy))
    clear_cache()
    try:
        assert "'Committed'" in metrics.measure_sql("won_count", "spark")
    finally:
        monkeypatch.delenv(DIR_ENV)
        clear_cache()
    assert "'Committed'" not in metrics.measure_sql("won_count", "spark")


def test_a_filter_value_that_does_not_fit_its_column_is_a_query_error():
    usage = pd.DataFrame(
        {"usage_date": [date(2026, 1, 1)], "product_code": ["p"], "dimension": ["d"], "records_sent": [3]}
    )
    assert (
        metrics.scalar(
            metrics.compute_frame(
                "records_sent",
                usage,
                filters=[MetricFilter(column="usage_date", op=">=", value="2026-01-01")],
            ),
            "records_sent",
        )
        == 3
    )
    with pytest.raises(
        metrics.MetricQueryError, match=r'a filter value does not fit its column: .*"notadate"'
    ):
        metrics.compute_frame(
            "records_sent", usage, filters=[MetricFilter(column="usage_date", op=">=", value="notadate")]
        )


def test_compute_on_a_table_not_written_yet_is_computed_over_no_rows(lake):
    with pytest.raises(metrics.MetricQueryError, match="no dimension 'stage'"):
        metrics.compute("win_rate", "acme", ["stage"])
    figures = metrics.compute(["opportunity_count", "win_rate"], "acme")
    assert len(figures) == 1
    assert metrics.scalar(figures, "opportunity_count") == 0
    assert metrics.scalar(figures, "win_rate") is None
