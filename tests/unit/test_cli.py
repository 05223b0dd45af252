"""The `lakehouse` command: output formats and DESIGN.md's exit codes."""

from __future__ import annotations

import csv
import io as _io
import json
from decimal import Decimal

import pytest

from lakehouse import io
from lakehouse.cli import main
from lakehouse.tenancy import TenantScope
from tests.integration.shared_tables import EVENTS


@pytest.fixture
def events(spark, lake):
    df = spark.createDataFrame(
        [
            ("acme", 1, Decimal("10.5"), "first"),
            ("acme", 2, Decimal(3), None),
            ("globex", 3, Decimal(7), "g"),
        ],
        EVENTS.schema,
    )
    for tenant in ("acme", "globex"):
        io.append(spark, EVENTS, df.where(df.tenant_id == tenant), TenantScope.for_tenant(tenant))
    return spark


def test_table_show_as_json_prints_only_the_tenants_rows(events, capsys):
    assert main(["table", "show", "silver.it_event", "--tenant", "acme", "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert sorted(rows, key=lambda r: r["event_id"]) == [
        {"tenant_id": "acme", "event_id": 1, "amount": "10.50", "note": "first"},
        {"tenant_id": "acme", "event_id": 2, "amount": "3.00", "note": None},
    ]


def test_table_show_as_csv_has_a_header_and_one_line_per_row(events, capsys):
    assert main(["table", "show", "silver.it_event", "-t", "globex", "-f", "csv"]) == 0
    assert list(csv.reader(_io.StringIO(capsys.readouterr().out))) == [
        ["tenant_id", "event_id", "amount", "note"],
        ["globex", "3", "7.00", "g"],
    ]


def test_table_show_as_a_table_renders_values(events, capsys):
    assert main(["table", "show", "silver.it_event", "--tenant", "acme"]) == 0
    out = capsys.readouterr().out
    assert "10.50" in out and "first" in out and "globex" not in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["table", "show", "silver.nope", "--tenant", "acme"], "unknown table 'silver.nope'"),
        (["table", "show", "silver.it_event", "--tenant", "Bad Tenant!"], "invalid tenant id 'Bad Tenant!'"),
        (["table", "show", "silver.it_event", "--tenant", "acme", "--format", "xml"], "'xml' is not one of"),
        (["table", "show", "silver.it_event"], "Missing option '--tenant'"),
        (["no-such-command"], "No such command"),
    ],
)
def test_bad_usage_or_input_exits_2_and_names_the_problem(spark, lake, capsys, argv, message):
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert message in " ".join((captured.out + captured.err).split())


def test_a_table_not_written_yet_is_bad_input_with_its_path(spark, lake, capsys):
    assert main(["table", "show", "silver.it_event", "--tenant", "acme"]) == 2
    assert "has not been written yet" in capsys.readouterr().err


def test_help_is_available_everywhere(capsys):
    assert main(["--help"]) == 0
    assert "table" in capsys.readouterr().out
    assert main(["table", "show", "--help"]) == 0
    assert "--format" in capsys.readouterr().out


def test_history_compact_and_vacuum_commands(events, capsys):
    more = events.createDataFrame([("acme", 9, Decimal(1), "x")], EVENTS.schema)
    io.append(events, EVENTS, more, TenantScope.for_tenant("acme"))
    assert main(["table", "history", "silver.it_event", "-f", "json"]) == 0
    history = json.loads(capsys.readouterr().out)
    assert [h["operation"] for h in history] == ["WRITE", "WRITE", "CREATE TABLE"]

    assert main(["table", "compact", "silver.it_event", "--tenant", "acme"]) == 0
    assert "2 files compacted into 1" in capsys.readouterr().out
    assert main(["table", "vacuum", "silver.it_event", "--retention-hours", "0", "--dry-run"]) == 0
    assert "2 file(s) would be deleted" in capsys.readouterr().out
