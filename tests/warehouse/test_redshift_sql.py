"""The Redshift statements, checked statically: parsed under sqlglot's Redshift dialect; COPY staging on moto.

Nothing here reaches a Redshift cluster (none is reachable from this project). sqlglot 30 parses CREATE TABLE
with DISTKEY/SORTKEY, COPY, GRANT, DELETE and INSERT fully, but has no grammar for CREATE ROLE, CREATE RLS
POLICY, ATTACH RLS POLICY, ALTER TABLE ... ROW LEVEL SECURITY or LOCK: those are matched against the statement
skeletons of the Redshift SQL reference below, and their parts (predicate, column type, relation) are parsed
with sqlglot's Redshift dialect.
"""

from __future__ import annotations

import io
import re

import pytest
import sqlglot
from sqlglot import exp

from lakehouse.warehouse.model import SERVED_MARTS, Isolation, served_tables
from lakehouse.warehouse.sql import RedshiftDialect
from lakehouse.warehouse.sync import CopyLoader, plan, staging_prefix

IDENT = r'"[^"]+"'
RELATION = rf"{IDENT}\.{IDENT}"
# Skeletons from the Amazon Redshift Database Developer Guide (CREATE ROLE, CREATE RLS POLICY, ATTACH RLS
# POLICY, ALTER TABLE ... ROW LEVEL SECURITY, LOCK).
SKELETONS = {
    "create_role": re.compile(rf"^CREATE ROLE (?P<role>{IDENT})$"),
    "create_policy": re.compile(
        rf"^CREATE RLS POLICY (?P<policy>{IDENT}) WITH \((?P<column>{IDENT}) (?P<type>[A-Z]+\(\d+\))\) "
        r"USING \((?P<predicate>.+)\)$"
    ),
    "attach_policy": re.compile(
        rf"^ATTACH RLS POLICY (?P<policy>{IDENT}) ON (?P<relation>{RELATION}) TO ROLE (?P<role>{IDENT})$"
    ),
    "rls_on": re.compile(rf"^ALTER TABLE (?P<relation>{RELATION}) ROW LEVEL SECURITY ON$"),
    "lock": re.compile(r'^LOCK TABLE "lakehouse_meta"\."sync_state"$'),
}
STAGING = "s3://wh-staging/loads"
IAM_ROLE = "arn:aws:iam::123456789012:role/redshift-copy"


def _classify(statement: str) -> tuple[str, re.Match[str] | None]:
    for name, pattern in SKELETONS.items():
        match = pattern.match(statement)
        if match:
            return name, match
    return "sql", None


def _parse(statement: str) -> exp.Expression:
    """Parse fully under the Redshift dialect (a fallback to an opaque Command is a failure)."""
    tree = sqlglot.parse_one(statement, read="redshift", error_level=sqlglot.ErrorLevel.RAISE)
    assert not isinstance(tree, exp.Command), f"not parsed, only passed through: {statement}"
    # the rendering parses back to the same tree
    assert sqlglot.parse_one(tree.sql(dialect="redshift"), read="redshift") == tree
    return tree


@pytest.mark.parametrize("mode", ["pooled", "siloed"])
def test_every_redshift_statement_of_a_first_sync_parses_under_the_redshift_dialect(mode):
    iso = Isolation.of("acme-1", mode)
    statements = plan(iso, RedshiftDialect(), staging_uri=STAGING, iam_role=IAM_ROLE, version=7)
    kinds: dict[str, int] = {}
    for statement in statements:
        kind, match = _classify(statement)
        kinds[kind] = kinds.get(kind, 0) + 1
        if match is None:
            _parse(statement)
            continue
        if "predicate" in match.groupdict():
            predicate = sqlglot.parse_one(match["predicate"], read="redshift")
            assert isinstance(predicate, exp.EQ)
            assert predicate.left.name == "tenant_id" and predicate.right.this == "acme-1"
            assert exp.DataType.build(match["type"], dialect="redshift").sql("redshift") == "VARCHAR(63)"
        if "relation" in match.groupdict():
            table = sqlglot.parse_one(f"SELECT 1 FROM {match['relation']}", read="redshift").find(exp.Table)
            assert table is not None and table.db == "pooled" and f"gold.{table.name}" in SERVED_MARTS
    marts = len(SERVED_MARTS)
    if mode == "pooled":
        assert kinds == {
            "sql": kinds["sql"],
            "create_role": 1,
            "create_policy": 1,
            "attach_policy": marts,
            "rls_on": marts,
            "lock": 1,
        }
    else:
        assert kinds == {"sql": kinds["sql"], "create_role": 1, "lock": 1}


def _create(mode: str) -> dict[str, exp.Expression]:
    dialect = RedshiftDialect()
    iso = Isolation.of("acme-1", mode)
    return {td.name: _parse(dialect.create_table(iso.schema, td, iso).sql) for td in served_tables()}


def test_pooled_marts_are_distributed_and_sorted_by_tenant_then_their_declared_keys():
    pipeline = _create("pooled")["ace_pipeline"]
    assert pipeline.find(exp.DistKeyProperty).this.name == "tenant_id"
    sort = pipeline.find(exp.SortKeyProperty)
    assert [c.name for c in sort.this] == ["tenant_id", "stage", "target_close_month"]
    assert sort.args.get("compound") is True
    columns = {c.name: c.args["kind"].sql("redshift") for c in pipeline.find_all(exp.ColumnDef)}
    assert columns == {
        "tenant_id": "VARCHAR(63)",
        "stage": "VARCHAR(65535)",
        "target_close_month": "VARCHAR(65535)",
        "opportunity_count": "BIGINT",
        "expected_monthly_spend_usd": "DECIMAL(18, 2)",
    }


def test_siloed_marts_leave_distribution_to_redshift_and_sort_by_their_keys_without_the_constant_tenant():
    tables = _create("siloed")
    pipeline = tables["ace_pipeline"]
    assert pipeline.find(exp.DistKeyProperty) is None
    assert pipeline.find(exp.DistStyleProperty).this.name.upper() == "AUTO"
    assert [c.name for c in pipeline.find(exp.SortKeyProperty).this] == ["stage", "target_close_month"]
    # keyed by tenant alone: one row, copied to every node
    win_rate = tables["ace_win_rate"]
    assert win_rate.find(exp.SortKeyProperty) is None
    assert win_rate.find(exp.DistStyleProperty).this.name.upper() == "ALL"


def test_the_copy_reads_the_staged_parquet_prefix_with_the_iam_role():
    td = served_tables(("gold.ace_pipeline",))[0]
    prefix = staging_prefix(STAGING, "acme-1", td.name, 7)
    copy = _parse(RedshiftDialect().copy("pooled", td, prefix, IAM_ROLE).sql)
    assert isinstance(copy, exp.Copy)
    assert copy.this.sql("redshift") == '"pooled"."ace_pipeline"'
    assert [f.name for f in copy.args["files"]] == ["s3://wh-staging/loads/tenant_id=acme-1/ace_pipeline/v7/"]
    params = {p.this.name.upper(): p for p in copy.args["params"]}
    assert copy.args["credentials"].args["iam_role"].name == IAM_ROLE
    assert params["FORMAT"].expression.name.upper() == "PARQUET"


def test_copy_loader_stages_the_tenants_slice_as_parquet_where_the_copy_reads_it():
    """The staging half of a Redshift load runs for real on moto; the COPY it issues is recorded."""
    import boto3
    import pyarrow as pa
    import pyarrow.parquet as pq
    from moto import mock_aws
    from pyspark.sql.pandas.types import to_arrow_schema

    td = served_tables(("gold.ace_pipeline",))[0]
    data = pa.Table.from_pylist(
        [
            {
                "tenant_id": "acme-1",
                "stage": "Prospect",
                "target_close_month": "2026-12",
                "opportunity_count": 2,
                "expected_monthly_spend_usd": None,
            },
        ],
        schema=to_arrow_schema(td.schema),
    )

    class RecordingCursor:
        def __init__(self) -> None:
            self.statements: list[str] = []

        def execute(self, sql: str, params: object = None) -> None:
            self.statements.append(sql)

    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket="wh-staging")
        cursor = RecordingCursor()
        loaded = CopyLoader(STAGING, IAM_ROLE, s3_client=s3).load(
            cursor, "pooled", td, data, tenant_id="acme-1", version=7
        )
        keys = [o["Key"] for o in s3.list_objects_v2(Bucket="wh-staging")["Contents"]]
        assert keys == ["loads/tenant_id=acme-1/ace_pipeline/v7/part-00000.parquet"]
        body = s3.get_object(Bucket="wh-staging", Key=keys[0])["Body"].read()
    assert loaded == 1
    assert pq.read_table(io.BytesIO(body)).equals(data)
    (copy,) = cursor.statements
    assert "'s3://wh-staging/loads/tenant_id=acme-1/ace_pipeline/v7/'" in copy
    _parse(copy)


def test_a_copy_loader_refuses_a_non_s3_staging_uri_or_a_non_arn_role():
    from lakehouse.errors import BadInput

    with pytest.raises(BadInput, match="s3:// prefix"):
        CopyLoader("/tmp/stage", IAM_ROLE)
    with pytest.raises(BadInput, match="IAM role ARN"):
        CopyLoader(STAGING, "redshift-copy")


def test_every_gold_table_is_served_or_listed_as_not_served_with_a_reason():
    from lakehouse import catalog
    from lakehouse.warehouse.model import NOT_SERVED

    gold = {t.qualified_name for t in catalog.all_tables() if t.layer == "gold"}
    assert gold == set(SERVED_MARTS) | set(NOT_SERVED)
    assert not set(SERVED_MARTS) & set(NOT_SERVED)


def test_names_are_injective_and_fit_the_identifier_limit():
    assert Isolation.of("a-b", "siloed").schema != Isolation.of("a_b", "siloed").schema
    long_a, long_b = "a" * 62 + "x", "a" * 62 + "y"
    names = {Isolation.of(t, "siloed").schema for t in (long_a, long_b)}
    assert len(names) == 2 and all(len(n) <= 63 for n in names)
    assert Isolation.of("acme", "pooled").schema == "pooled"
    assert Isolation.of("acme", "rls") == Isolation.of("acme", "pooled")


def test_an_unknown_isolation_mode_is_refused_naming_it():
    from lakehouse.warehouse.model import UnknownIsolation

    with pytest.raises(UnknownIsolation, match="'shared'"):
        Isolation.of("acme", "shared")
