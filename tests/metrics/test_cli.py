"""``lakehouse metrics``: list, SQL per dialect, and bad requests exit 2 naming the problem."""

from __future__ import annotations

import json

from lakehouse import metrics
from lakehouse.cli import main


def test_list_as_json_names_every_metric_with_its_table(capsys):
    assert main(["metrics", "list", "--format", "json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert {m["name"]: m["table"] for m in listed} == {
        m.name: metrics.model_of(m.name).table for m in metrics.list_metrics()
    }


def test_sql_prints_the_compiled_query_in_the_dialect(capsys):
    assert main(["metrics", "sql", "won_count", "--dialect", "redshift", "--tenant", "acme"]) == 0
    assert capsys.readouterr().out.strip() == (
        "SELECT COALESCE(SUM(CASE WHEN (stage = 'Launched') THEN opportunity_count END), 0) AS won_count "
        "FROM gold_ace_facts WHERE tenant_id = 'acme'"
    )


def test_a_dimension_the_metric_lacks_exits_2_naming_it(capsys):
    assert main(["metrics", "sql", "win_rate", "--dimension", "stage"]) == 2
    assert "metric win_rate has no dimension 'stage'" in capsys.readouterr().err


def test_an_unknown_dialect_or_bad_filter_exits_2(capsys):
    assert main(["metrics", "sql", "win_rate", "--dialect", "oracle"]) == 2
    assert "unknown dialect 'oracle'" in capsys.readouterr().err
    assert main(["metrics", "sql", "opportunity_count", "--filter", "stage"]) == 2
    assert "filter 'stage' is not column:op[:value]" in capsys.readouterr().err


def test_compute_on_a_lake_without_gold_answers_zero(lake, capsys):
    assert main(["metrics", "compute", "opportunity_count", "--tenant", "acme", "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out) == [{"opportunity_count": 0}]
