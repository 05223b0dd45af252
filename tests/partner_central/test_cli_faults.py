"""`lakehouse table show` prints every json/csv row; `lakehouse ingest file` exits 2 when nothing landed."""

from __future__ import annotations

import csv
import io as _io
import json
from decimal import Decimal
from pathlib import Path

import pytest

from lakehouse import io
from lakehouse.cli import main
from lakehouse.partner_central.entities import bronze
from lakehouse.tenancy import TenantScope
from tests.integration.shared_tables import EVENTS

from .conftest import fixture_opportunity


@pytest.fixture
def sixty_events(spark, lake):
    df = spark.createDataFrame([("acme", i, Decimal(i), None) for i in range(60)], EVENTS.schema)
    io.append(spark, EVENTS, df, TenantScope.for_tenant("acme"))
    return spark


def test_table_show_json_prints_all_rows_beyond_fifty(sixty_events, capsys):
    assert main(["table", "show", "silver.it_event", "--tenant", "acme", "--format", "json"]) == 0
    captured = capsys.readouterr()
    assert sorted(r["event_id"] for r in json.loads(captured.out)) == list(range(60))
    assert captured.err == ""


def test_table_show_csv_prints_all_rows_beyond_fifty(sixty_events, capsys):
    assert main(["table", "show", "silver.it_event", "--tenant", "acme", "--format", "csv"]) == 0
    lines = list(csv.reader(_io.StringIO(capsys.readouterr().out)))
    assert len(lines) == 61 and lines[0] == ["tenant_id", "event_id", "amount", "note"]


def test_table_show_with_a_limit_says_on_stderr_how_many_rows_there_are(sixty_events, capsys):
    assert main(["table", "show", "silver.it_event", "-t", "acme", "-f", "json", "--limit", "7"]) == 0
    captured = capsys.readouterr()
    assert len(json.loads(captured.out)) == 7
    assert "showing 7 of 60 rows of silver.it_event for tenant acme" in captured.err


def test_the_table_view_states_its_default_cap(sixty_events, capsys):
    assert main(["table", "show", "silver.it_event", "-t", "acme"]) == 0
    assert "showing 50 of 60 rows" in capsys.readouterr().err


def rejected(spark) -> list[dict]:
    scope = TenantScope.for_tenant("acme")
    return [r.asDict() for r in io.read(spark, bronze.OPPORTUNITY_REJECTED, scope).collect()]


def test_a_utf16_file_exits_2_and_its_lines_are_kept_as_rejected(spark, lake, tmp_path: Path, capsys):
    path = tmp_path / "export.jsonl"
    path.write_text(json.dumps(fixture_opportunity()) + "\n", encoding="utf-16")
    assert main(["ingest", "file", "--tenant", "acme", str(path)]) == 2
    err = " ".join(capsys.readouterr().err.split())
    # UTF-16's newline is b"\n\x00": the file splits into the text line and a stray NUL line, both rejected
    assert "nothing landed - all 2 line(s) were rejected" in err
    kept = sorted(rejected(spark), key=lambda r: r["line_number"])
    assert [r["line_number"] for r in kept] == [1, 2] and kept[0]["reason"].startswith("not UTF-8 text")


def test_a_binary_file_exits_2(spark, lake, tmp_path: Path, capsys):
    path = tmp_path / "export.bin"
    path.write_bytes(bytes(range(256)) * 4)
    assert main(["ingest", "file", "--tenant", "acme", str(path)]) == 2
    assert rejected(spark) != []


def test_a_file_with_one_good_line_exits_0(spark, lake, tmp_path: Path):
    path = tmp_path / "export.jsonl"
    path.write_text(json.dumps(fixture_opportunity()) + "\nnot json\n")
    assert main(["ingest", "file", "--tenant", "acme", str(path)]) == 0


def test_a_directory_is_named_as_a_directory(spark, lake, tmp_path: Path, capsys):
    assert main(["ingest", "file", "--tenant", "acme", str(tmp_path)]) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert f"{tmp_path} is a directory" in err and "no such file" not in err
