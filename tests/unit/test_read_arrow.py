"""io.read_arrow: one tenant's rows at a pinned Delta version, declared columns in order, without Spark."""

from __future__ import annotations

import pyarrow as pa
import pytest
from deltalake import write_deltalake

from lakehouse import catalog, io
from lakehouse.tenancy import TenantScope, TenantViolation
from tests.warehouse.fixtures import pipeline_rows, write_mart


def test_only_the_scopes_rows_come_back_at_the_pinned_version(lake):
    v0 = write_mart("gold.ace_pipeline", pipeline_rows("acme", 2) + pipeline_rows("globex", 3))
    write_mart("gold.ace_pipeline", pipeline_rows("acme", 4, spend="5.00"))
    old = io.read_arrow("gold.ace_pipeline", TenantScope.for_tenant("acme"), version=v0)
    new = io.read_arrow("gold.ace_pipeline", TenantScope.for_tenant("acme"))
    key = lambda r: r["stage"]  # noqa: E731
    assert sorted(old.to_pylist(), key=key) == pipeline_rows("acme", 2)
    assert sorted(new.to_pylist(), key=key) == pipeline_rows("acme", 4, spend="5.00")
    assert old.schema.names == catalog.get("gold.ace_pipeline").schema.fieldNames()


def test_a_declared_column_the_files_lack_reads_as_null_and_a_missing_table_as_empty(lake):
    td = catalog.get("gold.ace_win_rate")
    assert io.read_arrow(td, TenantScope.for_tenant("acme")).num_rows == 0
    older = pa.table({"tenant_id": ["acme"], "won_count": [3], "lost_count": [1], "open_count": [2]})
    write_deltalake(td.path(), older, partition_by=["tenant_id"])
    (row,) = io.read_arrow(td, TenantScope.for_tenant("acme")).to_pylist()
    assert row == {"tenant_id": "acme", "won_count": 3, "lost_count": 1, "open_count": 2, "win_rate": None}


def test_the_platform_admin_scope_cannot_read_all_tenants_this_way(lake):
    with pytest.raises(TenantViolation, match="single-tenant scope"):
        io.read_arrow("gold.ace_pipeline", TenantScope.admin("audit"))


def test_a_table_with_deletion_vectors_reads_without_the_deleted_rows(lake, spark):
    from pyspark.sql.types import LongType, StringType

    from lakehouse.catalog import declare

    td = declare(
        "silver",
        "read_arrow_dv_probe",
        [("tenant_id", StringType(), "internal"), ("n", LongType(), "internal")],
        keys=("tenant_id", "n"),
        grain="one row per n",
        properties={"delta.enableDeletionVectors": "true"},
    )
    scope = TenantScope.for_tenant("acme")
    io.append(spark, td, spark.createDataFrame([("acme", i) for i in range(6)], td.schema), scope)
    spark.sql(f"DELETE FROM delta.`{td.path()}` WHERE n IN (1, 4)")
    from deltalake import DeltaTable

    assert "deletionVectors" in (DeltaTable(td.path()).protocol().reader_features or [])
    assert sorted(r["n"] for r in io.read_arrow(td, scope).to_pylist()) == [0, 2, 3, 5]
