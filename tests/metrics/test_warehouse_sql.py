"""The PostgreSQL-dialect SQL of the metrics runs on a real PostgreSQL and gives the figures of the Arrow path
on the same rows; the Redshift dialect is checked statically (it parses under sqlglot's Redshift dialect and
uses nothing Redshift lacks, e.g. TRY_CAST)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from decimal import Decimal

import pandas as pd
import pytest
import sqlglot
from sqlglot import exp

from lakehouse import metrics
from lakehouse.metrics import MetricFilter

ACE = [m.name for m in metrics.list_metrics() if m.model == "ace_facts"]
# tenant, stage, month, review status, stale, count, USD monthly spend
ROWS = [
    ("acme", "Launched", "2026-01", "Approved", False, 3, Decimal("100.50")),
    ("acme", "Closed Lost", "2026-01", "Rejected", False, 1, None),
    ("acme", "Prospect", "2026-02", "Action Required", True, 2, Decimal("20.00")),
    ("acme", None, None, "Action Required", None, 4, Decimal("0.25")),
    ("globex", "Launched", "2026-01", "Approved", False, 9, Decimal("999.99")),
]
COLUMNS = [
    "tenant_id",
    "stage",
    "target_close_month",
    "review_status",
    "stale",
    "opportunity_count",
    "usd_monthly_spend",
]


@pytest.fixture
def pg(pg_admin_url: str) -> Iterator[object]:
    """A throwaway database holding gold_ace_facts rows of two tenants."""
    import psycopg

    name = f"metrics_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(pg_admin_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    url = pg_admin_url.rsplit("/", 1)[0] + f"/{name}"
    try:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(
                "CREATE TABLE gold_ace_facts (tenant_id text, stage text, target_close_month text, "
                "review_status text, stale boolean, opportunity_count bigint, usd_monthly_spend numeric(28,2))"
            )
            with conn.cursor() as cur:
                cur.executemany("INSERT INTO gold_ace_facts VALUES (%s, %s, %s, %s, %s, %s, %s)", ROWS)
            yield conn
    finally:
        with psycopg.connect(pg_admin_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _arrow_path(dimensions: list[str], filters: list[MetricFilter], names: list[str]) -> list[tuple]:
    acme = pd.DataFrame([r for r in ROWS if r[0] == "acme"], columns=COLUMNS)
    acme["usd_monthly_spend"] = acme["usd_monthly_spend"].map(lambda v: None if v is None else float(v))
    out = metrics.compute_frame(names, acme, dimensions=dimensions, filters=filters)
    return [
        tuple(None if pd.isna(v) else round(float(v), 6) if not isinstance(v, str) else v for v in r)
        for r in out.itertuples(index=False, name=None)
    ]


@pytest.mark.postgres
@pytest.mark.parametrize(
    ("dimensions", "filters", "names"),
    [
        ([], [], ACE),
        (["target_close_month"], [], ["opportunity_count", "won_count", "lost_count", "win_rate"]),
        (
            ["review_status"],
            [MetricFilter(column="stage", op="not in", value=("Launched",))],
            ["opportunity_count"],
        ),
    ],
)
def test_postgres_sql_gives_the_arrow_figures_for_one_tenant(pg, dimensions, filters, names):
    sql = metrics.compile_sql(
        names, "postgres", relation="gold_ace_facts", tenant="acme", dimensions=dimensions, filters=filters
    )
    rows = pg.execute(sql).fetchall()
    got = [
        tuple(None if v is None else v if isinstance(v, str) else round(float(v), 6) for v in r) for r in rows
    ]
    assert got == _arrow_path(dimensions, filters, names)
    if not dimensions:
        figures = dict(zip(names, got[0], strict=True))
        assert (
            figures["opportunity_count"] == 10 and figures["win_rate"] == 0.75
        )  # globex's 9 are not counted


@pytest.mark.parametrize("name", sorted(m.name for m in metrics.list_metrics()))
def test_redshift_sql_parses_under_the_redshift_dialect_without_try_cast(name):
    model = metrics.model_of(name)
    sql = metrics.compile_sql(
        name, "redshift", relation=f"tenant_acme.{model.table.replace('.', '_')}", tenant="acme"
    )
    tree = sqlglot.parse_one(sql, read="redshift")
    assert tree.find(exp.TryCast) is None
    assert tree.find(exp.Table).sql(dialect="redshift") == f"tenant_acme.{model.table.replace('.', '_')}"
