"""Expectation suites (YAML) and the Great Expectations gate: warn, quarantine, fail."""

from __future__ import annotations

from pathlib import Path

import pytest
from chispa import assert_df_equality

from lakehouse import catalog
from lakehouse.errors import BadInput, MissingSuite, QualityGateFailed
from lakehouse.quality.gate import dq_frames, run_gate
from lakehouse.quality.suites import load_suite, packaged_suites, parse_suite

SCHEMA = "opportunity_id string, stage string, amount double"


def suite(*expectations):
    return parse_suite(
        {"table": "silver.test", "key_columns": ["opportunity_id"], "expectations": list(expectations)}
    )


def exp(name, etype, action, **kwargs):
    return {"name": name, "expectation": etype, "kwargs": kwargs, "action": action}


@pytest.fixture(params=["pandas", "spark"])
def gx_engine(request, monkeypatch):
    """Run a gate test once with GX's pandas engine (small batches) and once with its Spark engine; check that
    every validation really went to the engine named."""
    import pandas as pd

    from lakehouse.quality import gate

    if request.param == "spark":
        monkeypatch.setattr(gate, "LOCAL_GATE_ROWS", -1)
    seen: list[bool] = []
    real = gate.validate

    def spy(df, *args, **kwargs):
        seen.append(isinstance(df, pd.DataFrame))
        return real(df, *args, **kwargs)

    monkeypatch.setattr(gate, "validate", spy)
    yield request.param
    assert seen and set(seen) == {request.param == "pandas"}


def test_every_shipped_partner_central_suite_loads_and_names_real_columns_of_its_table():
    suites = {t: e for t, e in packaged_suites().items() if t.startswith(("silver.", "gold."))}
    assert len(suites) >= 8
    for table in suites:
        s = load_suite(table)
        columns = set(catalog.get(table).schema.fieldNames())
        assert set(s.key_columns) <= columns, table
        for e in s.expectations:
            named = {v for k, v in e.kwargs.items() if k in ("column", "column_A", "column_B")}
            assert named <= columns, (table, e.name)


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        (
            {
                "table": "silver.test",
                "expectations": [exp("a", "expect_column_values_to_not_be_null", "block", column="x")],
            },
            "action 'block' must be one of",
        ),
        (
            {"table": "silver.test", "expectations": [exp("a", "expect_nothing_real", "warn")]},
            "unknown Great Expectations expectation type 'expect_nothing_real'",
        ),
        (
            {
                "table": "silver.test",
                "expectations": [exp("a", "expect_column_values_to_be_unique", "quarantine", column="x")],
            },
            "cannot quarantine",
        ),
        (
            {
                "table": "silver.test",
                "expectations": [
                    exp("a", "expect_column_values_to_not_be_null", "quarantine", column="x", mostly=0.9)
                ],
            },
            "cannot use 'mostly'",
        ),
        (
            {
                "table": "silver.test",
                "expectations": [exp("a", "expect_column_values_to_not_be_null", "warn", column="x")] * 2,
            },
            "duplicate expectation name 'a'",
        ),
    ],
)
def test_bad_suites_are_refused_with_the_problem_named(doc, message):
    with pytest.raises(BadInput, match=message):
        parse_suite(doc)


def test_quarantine_moves_exactly_the_offending_rows(spark, gx_engine):
    df = spark.createDataFrame(
        [
            ("O1", "Prospect", 1.0),
            ("O2", "Bogus", 2.0),
            ("O3", None, 3.0),
            ("O4", "Launched", -1.0),
            ("O5", "Weird", -2.0),
        ],
        SCHEMA,
    )
    s = suite(
        exp(
            "stage_known",
            "expect_column_values_to_be_in_set",
            "quarantine",
            column="stage",
            value_set=["Prospect", "Launched"],
        ),
        exp(
            "amount_positive",
            "expect_column_values_to_be_between",
            "quarantine",
            column="amount",
            min_value=0,
        ),
        exp("stage_present", "expect_column_values_to_not_be_null", "warn", column="stage"),
    )
    result = run_gate(df, s, tenant_id="acme", run_id="r1")
    assert_df_equality(
        result.passed,
        spark.createDataFrame([("O1", "Prospect", 1.0), ("O3", None, 3.0)], SCHEMA),
        ignore_row_order=True,
    )
    expected_q = spark.createDataFrame(
        [
            ("O2", "Bogus", 2.0, "quality: stage_known"),
            ("O4", "Launched", -1.0, "quality: amount_positive"),
            ("O5", "Weird", -2.0, "quality: stage_known; quality: amount_positive"),
        ],
        SCHEMA + ", gate_reason string",
    )
    assert_df_equality(result.quarantined, expected_q, ignore_row_order=True, ignore_nullable=True)
    issues = {i.expectation: (i.action, i.unexpected_count, sorted(i.sample_keys)) for i in result.issues}
    assert issues == {
        "stage_known": ("quarantine", 2, ["O2", "O5"]),
        "amount_positive": ("quarantine", 2, ["O4", "O5"]),
        "stage_present": ("warn", 1, ["O3"]),  # evaluated on the rows that remained
    }
    result.raise_if_failed()  # quarantine and warn never fail the run


def test_fail_expectation_raises_naming_expectation_count_and_keys(spark, gx_engine):
    df = spark.createDataFrame(
        [("O1", "Prospect", 1.0), (None, "Prospect", 2.0), (None, "Launched", 3.0)], SCHEMA
    )
    s = suite(
        exp("id_present", "expect_column_values_to_not_be_null", "fail", column="opportunity_id"),
        exp("few_rows", "expect_table_row_count_to_be_between", "fail", max_value=10),
    )
    result = run_gate(df, s, tenant_id="acme", run_id="r1")
    assert [(o.spec.name, o.success, o.unexpected_count) for o in result.outcomes] == [
        ("id_present", False, 2),
        ("few_rows", True, 0),
    ]
    with pytest.raises(
        QualityGateFailed,
        match=r"silver.test: id_present \(expect_column_values_to_not_be_null\) "
        r"failed on 2 row\(s\)",
    ) as err:
        result.raise_if_failed()
    assert err.value.exit_code == 3


def test_gate_results_become_dq_issue_and_dq_result_rows(spark, gx_engine):
    df = spark.createDataFrame([("O1", "Prospect", 1.0), ("O2", "Bogus", 2.0)], SCHEMA)
    s = suite(
        exp(
            "stage_known", "expect_column_values_to_be_in_set", "warn", column="stage", value_set=["Prospect"]
        ),
        exp("id_present", "expect_column_values_to_not_be_null", "fail", column="opportunity_id"),
    )
    issues, results = dq_frames(spark, [run_gate(df, s, tenant_id="acme", run_id="run-7")])
    assert [
        (
            r.tenant_id,
            r.run_id,
            r.table_name,
            r.expectation,
            r.action,
            r.unexpected_count,
            r.element_count,
            r.sample_keys,
            r.column_name,
        )
        for r in issues.collect()
    ] == [("acme", "run-7", "silver.test", "stage_known", "warn", 1, 2, ["O2"], "stage")]
    assert sorted((r.expectation, r.success, r.unexpected_count) for r in results.collect()) == [
        ("id_present", True, 0),
        ("stage_known", False, 1),
    ]


def test_quality_dir_overrides_a_packaged_suite_and_a_missing_suite_fails_closed(tmp_path: Path, monkeypatch):
    (tmp_path / "silver.thing.yaml").write_text(
        "table: silver.thing\nkey_columns: [id]\nexpectations:\n"
        "  - {name: id_present, expectation: expect_column_values_to_not_be_null, kwargs: {column: id}, action: fail}\n"
    )
    monkeypatch.setenv("LAKEHOUSE_QUALITY_DIR", str(tmp_path))
    s = load_suite("silver.thing")
    assert (s.key_columns, [e.name for e in s.expectations]) == (("id",), ["id_present"])
    assert load_suite("silver.opportunity").source.endswith("suites/silver.opportunity.yaml")  # packaged
    with pytest.raises(
        MissingSuite, match=r"silver.absent has no quality suite: add suites/silver.absent.yaml"
    ):
        load_suite("silver.absent")
    with pytest.raises(MissingSuite):
        load_suite("gold.absent")
    assert load_suite("bronze.absent").expectations == ()  # bronze keeps payloads verbatim; no suite needed
