"""Quality suites are package data beside their tables; a silver/gold table without one is an error."""

from __future__ import annotations

from importlib import resources

import pytest
from pyspark.sql.types import StringType, StructField, StructType

from lakehouse import catalog
from lakehouse.catalog import TableDef
from lakehouse.errors import MissingSuite
from lakehouse.quality.suites import check_suites, load_suite, packaged_suites


def probe(layer: str, name: str) -> TableDef:
    """A table built without ``declare`` so it is not registered until a test puts it in the registry."""
    return TableDef(
        layer=layer,  # type: ignore[arg-type]
        name=name,
        schema=StructType([StructField("tenant_id", StringType())]),
        keys=("tenant_id",),
        grain="one row per tenant",
        classification={"tenant_id": "internal"},
    )


def test_domain_tables_are_the_shipped_declarations_only(monkeypatch):
    monkeypatch.setitem(catalog._REGISTRY, "silver.runtime_probe", probe("silver", "runtime_probe"))
    names = {t.qualified_name for t in catalog.domain_tables()}
    assert {
        "ops.write_batch",
        "ops.dq_issue",
        "bronze.partner_central_opportunity",
        "silver.meter_usage",
    } <= names
    assert "silver.runtime_probe" not in names
    assert names <= {t.qualified_name for t in catalog.all_tables()}


def test_every_declared_silver_and_gold_table_has_a_packaged_suite_that_names_its_columns():
    assert check_suites() == []
    declared = {t.qualified_name for t in catalog.domain_tables() if t.layer in ("silver", "gold")}
    assert declared <= set(packaged_suites())
    assert {
        "silver.opportunity",
        "gold.ace_pipeline",
        "silver.meter_usage",
        "gold.marketplace_usage",
    } <= declared


def test_suites_are_read_from_the_domain_package_that_declares_the_table():
    pc = resources.files("lakehouse.partner_central") / "suites" / "silver.opportunity.yaml"
    mp = resources.files("lakehouse.marketplace") / "suites" / "gold.marketplace_usage.yaml"
    assert load_suite("silver.opportunity").source == str(pc)
    assert load_suite("gold.marketplace_usage").source == str(mp)
    assert load_suite("silver.opportunity").key_columns == ("catalog", "opportunity_id")


def test_a_declared_gold_table_without_a_suite_is_reported_and_its_gate_fails_closed():
    shipped = catalog.domain_tables()
    assert check_suites([*shipped, probe("gold", "no_suite_probe"), probe("ops", "no_suite_probe")]) == [
        "gold.no_suite_probe has no quality suite (suites/gold.no_suite_probe.yaml beside its declaration)"
    ]
    with pytest.raises(MissingSuite, match=r"gold\.no_suite_probe has no quality suite") as raised:
        load_suite("gold.no_suite_probe")
    assert raised.value.exit_code == 3
    assert load_suite("ops.no_suite_probe").expectations == ()


def test_a_suite_naming_a_column_its_table_lacks_is_reported(monkeypatch, tmp_path):
    shipped = packaged_suites()["silver.solution"].read_text()
    (tmp_path / "silver.solution.yaml").write_text(
        shipped.replace("column: solution_id", "column: solution_key")
    )
    monkeypatch.setenv("LAKEHOUSE_QUALITY_DIR", str(tmp_path))  # this suite now overrides the packaged one
    problems = check_suites()
    assert len(problems) == 1 and "columns not in silver.solution: ['solution_key']" in problems[0]
