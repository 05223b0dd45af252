"""Exports of marts to the tenant's prefix: S3 on moto, local lake paths, and refusals of other prefixes."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import boto3
import pyarrow.parquet as pq
import pytest
from moto import mock_aws

from lakehouse import exports
from lakehouse.tenancy import TenantScope, TenantViolation
from tests.warehouse.fixtures import pipeline_rows, write_mart

ROOT = "s3://partner-exports/lake/exports"


@pytest.fixture
def s3():
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket="partner-exports")
        yield client


def _keys(s3) -> list[str]:
    return sorted(o["Key"] for o in s3.list_objects_v2(Bucket="partner-exports").get("Contents", []))


def _without_tenant(rows) -> list[dict]:
    """Exported files leave tenant_id out: the prefix's tenant_id= segment carries it."""
    return [{k: v for k, v in r.items() if k != "tenant_id"} for r in rows]


def _expected_csv(rows) -> list[dict[str, str]]:
    return [{k: str(v) for k, v in r.items()} for r in _without_tenant(rows)]


def test_a_mart_lands_as_parquet_csv_and_a_manifest_under_the_tenants_s3_prefix(lake, s3):
    version = write_mart("gold.ace_pipeline", pipeline_rows("acme", 3) + pipeline_rows("globex", 2))
    result = exports.export(
        exports.source("gold.ace_pipeline"), TenantScope.for_tenant("acme"), root=ROOT, s3_client=s3
    )
    folder = f"lake/exports/tenant_id=acme/gold.ace_pipeline/v{version}"
    assert _keys(s3) == [
        f"{folder}/_manifest.json",
        f"{folder}/ace_pipeline.csv",
        f"{folder}/ace_pipeline.parquet",
    ]
    assert result.rows == 3 and result.version == f"v{version}"

    parquet = pq.read_table(
        io.BytesIO(
            s3.get_object(Bucket="partner-exports", Key=f"{folder}/ace_pipeline.parquet")["Body"].read()
        )
    )
    assert sorted(parquet.to_pylist(), key=lambda r: r["stage"]) == _without_tenant(pipeline_rows("acme", 3))
    text = s3.get_object(Bucket="partner-exports", Key=f"{folder}/ace_pipeline.csv")["Body"].read().decode()
    rows = sorted(csv.DictReader(io.StringIO(text)), key=lambda r: r["stage"])
    assert [{k: v.strip('"') for k, v in r.items()} for r in rows] == _expected_csv(pipeline_rows("acme", 3))
    manifest = json.loads(
        s3.get_object(Bucket="partner-exports", Key=f"{folder}/_manifest.json")["Body"].read()
    )
    assert manifest["rows"] == 3 and manifest["tenant_id"] == "acme"
    assert [(f["format"], f["bytes"]) for f in manifest["files"]] == [
        ("parquet", result.files[0].bytes),
        ("csv", result.files[1].bytes),
    ]


def test_an_export_into_another_tenants_prefix_is_refused_and_writes_nothing(lake, s3):
    write_mart("gold.ace_pipeline", pipeline_rows("acme", 1))
    for dest in (
        f"{ROOT}/tenant_id=globex/",
        f"{ROOT}/tenant_id=acme/../tenant_id=globex",
        "s3://partner-exports/elsewhere",
        f"{ROOT}/tenant_id=acmex/",
    ):
        with pytest.raises(TenantViolation):
            exports.export(
                exports.source("gold.ace_pipeline"),
                TenantScope.for_tenant("acme"),
                dest=dest,
                root=ROOT,
                s3_client=s3,
            )
    assert _keys(s3) == []


def test_a_destination_inside_the_tenants_prefix_is_accepted(lake, s3):
    write_mart("gold.ace_pipeline", pipeline_rows("acme", 1))
    exports.export(
        exports.source("gold.ace_pipeline"),
        TenantScope.for_tenant("acme"),
        formats=["csv"],
        dest=f"{ROOT}/tenant_id=acme/monthly",
        root=ROOT,
        s3_client=s3,
    )
    assert [k.rsplit("/", 1)[1] for k in _keys(s3)] == ["_manifest.json", "ace_pipeline.csv"]
    assert all(k.startswith("lake/exports/tenant_id=acme/monthly/gold.ace_pipeline/") for k in _keys(s3))


def test_a_new_mart_version_lands_beside_the_earlier_export_and_the_same_version_rewrites_the_same_bytes(
    lake, s3
):
    src, scope = exports.source("gold.ace_pipeline"), TenantScope.for_tenant("acme")
    v1 = write_mart("gold.ace_pipeline", pipeline_rows("acme", 2))
    first = exports.export(src, scope, formats=["parquet"], root=ROOT, s3_client=s3)
    again = exports.export(src, scope, formats=["parquet"], root=ROOT, s3_client=s3)
    assert [f.sha256 for f in again.files] == [f.sha256 for f in first.files]
    v2 = write_mart("gold.ace_pipeline", pipeline_rows("acme", 4))
    exports.export(src, scope, formats=["parquet"], root=ROOT, s3_client=s3)
    parquet_keys = [k for k in _keys(s3) if k.endswith(".parquet")]
    assert parquet_keys == [
        f"lake/exports/tenant_id=acme/gold.ace_pipeline/v{v1}/ace_pipeline.parquet",
        f"lake/exports/tenant_id=acme/gold.ace_pipeline/v{v2}/ace_pipeline.parquet",
    ]


def test_the_cli_exports_every_built_mart_to_the_local_prefix_under_the_lake(lake, capsys):
    from lakehouse.cli import main

    write_mart("gold.ace_pipeline", pipeline_rows("acme", 2) + pipeline_rows("globex", 1))
    assert main(["export", "--tenant", "acme"]) == 0
    folder = Path(lake) / "exports" / "tenant_id=acme" / "gold.ace_pipeline" / "v0"
    assert sorted(p.name for p in folder.iterdir()) == [
        "_manifest.json",
        "ace_pipeline.csv",
        "ace_pipeline.parquet",
    ]
    assert sorted(
        pq.read_table(folder / "ace_pipeline.parquet").to_pylist(), key=lambda r: r["stage"]
    ) == pipeline_rows("acme", 2)
    assert not (Path(lake) / "exports" / "tenant_id=globex").exists()


def test_the_cli_refuses_another_tenants_prefix_with_exit_4_and_an_unknown_source_with_exit_2(lake, capsys):
    from lakehouse.cli import main

    write_mart("gold.ace_pipeline", pipeline_rows("acme", 1))
    assert main(["export", "--tenant", "acme", "--to", str(Path(lake) / "exports" / "tenant_id=globex")]) == 4
    assert "tenant 'globex''s prefix" in capsys.readouterr().err
    assert main(["export", "--tenant", "acme", "--table", "gold.ace_facts"]) == 2
    assert "not an exportable mart" in capsys.readouterr().err
    assert main(["export", "--tenant", "acme", "--table", "metric.win_rate"]) == 2
    assert "metrics layer registers them" in capsys.readouterr().err
    assert not (Path(lake) / "exports").exists()


def test_a_registered_metric_source_exports_through_the_same_path(lake, s3, monkeypatch):
    import pyarrow as pa

    class WinRate:
        name = "metric.win_rate"

        def read(self, scope):
            return pa.table({"tenant_id": [scope.tenant_id], "win_rate": [0.5]}), "def-3"

    monkeypatch.setattr(exports, "_FACTORIES", {})
    exports.register_source("metric", lambda name: WinRate())
    result = exports.export(
        exports.source("metric.win_rate"), TenantScope.for_tenant("acme"), root=ROOT, s3_client=s3
    )
    assert result.files[0].location == f"{ROOT}/tenant_id=acme/metric.win_rate/def-3/win_rate.parquet"


def test_a_source_returning_another_tenants_rows_is_refused(lake, s3, monkeypatch):
    import pyarrow as pa

    class Leaky:
        name = "metric.leaky"

        def read(self, scope):
            return pa.table({"tenant_id": ["acme", "globex"], "x": [1, 2]}), "v1"

    with pytest.raises(TenantViolation, match="globex"):
        exports.export(Leaky(), TenantScope.for_tenant("acme"), root=ROOT, s3_client=s3)
    assert _keys(s3) == []
