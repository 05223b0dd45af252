"""Tenant-scoped lake I/O on real Delta tables (embedded Sail)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from pyspark.sql.types import ArrayType, DecimalType, LongType, StringType, StructField, StructType

from lakehouse import io
from lakehouse.catalog import TableDef, register
from lakehouse.errors import SchemaMismatch
from lakehouse.tenancy import TenantScope, TenantViolation

SCHEMA = StructType(
    [
        StructField("tenant_id", StringType()),
        StructField("event_id", LongType()),
        StructField("amount", DecimalType(18, 2)),
        StructField("note", StringType()),
    ]
)
EVENTS = register(
    TableDef(
        layer="silver",
        name="io_test_event",
        schema=SCHEMA,
        keys=("tenant_id", "event_id"),
        grain="one row per tenant and event",
        classification={
            "tenant_id": "internal",
            "event_id": "internal",
            "amount": "confidential",
            "note": "internal",
        },
    )
)
A, B = TenantScope.for_tenant("acme"), TenantScope.for_tenant("globex")


def rows(spark, *values):
    return spark.createDataFrame([(t, i, Decimal(a), n) for t, i, a, n in values], SCHEMA)


def snapshot(spark, scope):
    return sorted(tuple(r) for r in io.read(spark, EVENTS, scope).collect())


def partition_files(lake, tenant):
    root = lake / "silver" / "io_test_event" / f"tenant_id={tenant}"
    return sorted((p.name, p.stat().st_mtime_ns) for p in root.iterdir()) if root.exists() else []


def test_append_then_read_returns_only_the_scope_tenant_in_declared_order(spark, lake):
    io.append(spark, EVENTS, rows(spark, ("acme", 1, "10.50", "a"), ("acme", 2, "3", "b")), A)
    io.append(spark, EVENTS, rows(spark, ("globex", 1, "7", "g")), B)

    df = io.read(spark, EVENTS, A)

    assert df.columns == ["tenant_id", "event_id", "amount", "note"]
    assert sorted(tuple(r) for r in df.collect()) == [
        ("acme", 1, Decimal("10.50"), "a"),
        ("acme", 2, Decimal("3.00"), "b"),
    ]


def test_a_write_carrying_one_foreign_tenant_row_is_refused_whole(spark, lake):
    io.append(spark, EVENTS, rows(spark, ("acme", 1, "1", "a")), A)
    before = io.table_version(EVENTS)

    batch = rows(spark, ("acme", 2, "2", "b"), ("globex", 3, "3", "sneaky"))
    with pytest.raises(TenantViolation, match="'globex': 1 row"):
        io.append(spark, EVENTS, batch, A)
    with pytest.raises(TenantViolation):
        io.merge(spark, EVENTS, batch, A)
    with pytest.raises(TenantViolation):
        io.overwrite_partition(spark, EVENTS, batch, A)

    assert io.table_version(EVENTS) == before
    assert snapshot(spark, A) == [("acme", 1, Decimal("1.00"), "a")]
    assert snapshot(spark, TenantScope.admin("test: check nothing leaked")) == [
        ("acme", 1, Decimal("1.00"), "a")
    ]


def test_rows_without_a_tenant_are_refused(spark, lake):
    with pytest.raises(TenantViolation, match="None: 1 row"):
        io.append(spark, EVENTS, rows(spark, (None, 1, "1", "x")), A)
    assert not io.exists(EVENTS)


def test_the_platform_admin_scope_reads_all_tenants_but_cannot_write(spark, lake):
    io.append(spark, EVENTS, rows(spark, ("acme", 1, "1", "a")), A)
    io.append(spark, EVENTS, rows(spark, ("globex", 2, "2", "b")), B)
    admin = TenantScope.admin("quarterly reconciliation")

    assert {r.tenant_id for r in io.read(spark, EVENTS, admin).collect()} == {"acme", "globex"}
    with pytest.raises(TenantViolation, match="single-tenant scope"):
        io.append(spark, EVENTS, rows(spark, ("acme", 3, "3", "c")), admin)


def test_an_admin_scope_without_a_reason_is_refused():
    with pytest.raises(ValueError, match="needs a reason"):
        TenantScope.admin("  ")


def test_overwrite_in_one_tenant_leaves_the_other_tenants_files_untouched(spark, lake):
    io.append(spark, EVENTS, rows(spark, ("acme", 1, "1", "a"), ("acme", 2, "2", "b")), A)
    io.append(spark, EVENTS, rows(spark, ("globex", 1, "9", "g")), B)
    globex_files = partition_files(lake, "globex")
    globex_rows = snapshot(spark, B)

    io.overwrite_partition(spark, EVENTS, rows(spark, ("acme", 5, "5", "new")), A)

    assert snapshot(spark, A) == [("acme", 5, Decimal("5.00"), "new")]
    assert snapshot(spark, B) == globex_rows
    assert partition_files(lake, "globex") == globex_files


@pytest.mark.parametrize(
    ("frame_ddl", "record", "message"),
    [
        (
            "tenant_id string, event_id long, amount decimal(18,2), note string, extra string",
            ("acme", 1, Decimal(1), "a", "x"),
            "column(s) not in the declared schema 'extra'",
        ),
        (
            "tenant_id string, event_id string, amount decimal(18,2), note string",
            ("acme", "1", Decimal(1), "a"),
            "column 'event_id' has type string, declared bigint",
        ),
        ("tenant_id string, event_id long, note string", ("acme", 1, "a"), "missing column(s) 'amount'"),
    ],
    ids=["extra-column", "wrong-type", "missing-column"],
)
def test_a_write_that_does_not_match_the_declared_schema_is_refused_naming_the_column(
    spark, lake, frame_ddl, record, message
):
    io.append(spark, EVENTS, rows(spark, ("acme", 1, "1", "a")), A)
    before = io.table_version(EVENTS)
    bad = spark.createDataFrame([record], frame_ddl)

    for write in (io.append, io.merge, io.overwrite_partition):
        with pytest.raises(SchemaMismatch) as err:
            write(spark, EVENTS, bad, A)
        assert message in str(err.value)
        assert "nothing written" in str(err.value)
    assert io.table_version(EVENTS) == before


def test_columns_arrive_in_any_order_and_are_written_in_declared_order(spark, lake):
    df = rows(spark, ("acme", 1, "1", "a")).select("note", "amount", "event_id", "tenant_id")
    io.append(spark, EVENTS, df, A)
    assert io.read(spark, EVENTS, A).first() == ("acme", 1, Decimal("1.00"), "a")


def test_a_retried_batch_adds_no_rows(spark, lake):
    batch = rows(spark, ("acme", 1, "1", "a"), ("acme", 2, "2", "b"))
    first = io.append(spark, EVENTS, batch, A, batch_id="run-42")
    second = io.append(spark, EVENTS, batch, A, batch_id="run-42")

    assert (first.rows, first.skipped) == (2, False)
    assert (second.rows, second.skipped, second.version) == (0, True, first.version)
    assert io.read(spark, EVENTS, A).count() == 2
    # the same batch id in another tenant is a different batch
    io.append(spark, EVENTS, rows(spark, ("globex", 1, "1", "g")), B, batch_id="run-42")
    assert io.read(spark, EVENTS, B).count() == 1


def test_a_batch_that_landed_before_a_crash_is_not_written_again(spark, lake):
    """The process died after the data commit but before recording it: the rerun must detect the landed rows."""
    io.append(spark, EVENTS, rows(spark, ("acme", 1, "1", "old")), A)
    batch = rows(spark, ("acme", 2, "2", "b"), ("acme", 3, "3", "c"))
    ledger = io._BatchLedger(spark, EVENTS, "acme", "run-crash")
    ledger.record_pending(io.table_version(EVENTS))
    io._append(EVENTS, batch)  # the write landed; the committed record never did

    result = io.append(spark, EVENTS, batch, A, batch_id="run-crash")

    assert result.skipped
    assert io.read(spark, EVENTS, A).count() == 3


def test_a_batch_that_died_before_its_commit_is_written_on_rerun(spark, lake):
    io.append(spark, EVENTS, rows(spark, ("acme", 1, "1", "old")), A)
    io._BatchLedger(spark, EVENTS, "acme", "run-died").record_pending(io.table_version(EVENTS))

    result = io.append(spark, EVENTS, rows(spark, ("acme", 2, "2", "b")), A, batch_id="run-died")

    assert (result.skipped, result.rows) == (False, 1)
    assert io.read(spark, EVENTS, A).count() == 2


def test_merge_upserts_on_keys_within_the_tenant_only(spark, lake):
    io.append(spark, EVENTS, rows(spark, ("acme", 1, "1", "a"), ("acme", 2, "2", "b")), A)
    io.append(spark, EVENTS, rows(spark, ("globex", 1, "9", "g")), B)

    io.merge(spark, EVENTS, rows(spark, ("acme", 1, "100", "a2"), ("acme", 3, "3", "c")), A)

    assert snapshot(spark, A) == [
        ("acme", 1, Decimal("100.00"), "a2"),
        ("acme", 2, Decimal("2.00"), "b"),
        ("acme", 3, Decimal("3.00"), "c"),
    ]
    assert snapshot(spark, B) == [("globex", 1, Decimal("9.00"), "g")]


def test_merge_update_condition_keeps_newer_target_rows(spark, lake):
    io.append(spark, EVENTS, rows(spark, ("acme", 1, "50", "a"), ("acme", 2, "2", "b")), A)

    io.merge(
        spark,
        EVENTS,
        rows(spark, ("acme", 1, "10", "smaller"), ("acme", 2, "20", "bigger")),
        A,
        update_condition="s.amount > t.amount",
        stage=True,
    )

    assert snapshot(spark, A) == [("acme", 1, Decimal("50.00"), "a"), ("acme", 2, Decimal("20.00"), "bigger")]
    assert not any((lake / "_staging").rglob("*.parquet"))


def test_merge_with_a_null_key_is_refused_and_writes_nothing(spark, lake):
    io.append(spark, EVENTS, rows(spark, ("acme", 1, "1", "a")), A)
    before = io.table_version(EVENTS)
    with pytest.raises(SchemaMismatch, match="null value in key column"):
        io.merge(spark, EVENTS, rows(spark, ("acme", None, "2", "b")), A)
    assert io.table_version(EVENTS) == before


def test_merge_with_an_unknown_key_is_refused(spark, lake):
    with pytest.raises(SchemaMismatch, match="nope"):
        io.merge(spark, EVENTS, rows(spark, ("acme", 1, "1", "a")), A, keys=["nope"])


def test_reading_a_table_that_does_not_exist_gives_an_empty_frame_with_the_declared_schema(spark, lake):
    df = io.read(spark, EVENTS, A)
    assert df.count() == 0
    assert df.schema.fieldNames() == SCHEMA.fieldNames()


def test_read_as_of_a_version_time_travels(spark, lake):
    v1 = io.append(spark, EVENTS, rows(spark, ("acme", 1, "1", "a")), A).version
    io.overwrite_partition(spark, EVENTS, rows(spark, ("acme", 2, "2", "b")), A)
    assert [r.event_id for r in io.read(spark, EVENTS, A, version=v1).collect()] == [1]


def test_history_compaction_and_vacuum_through_deltalake(spark, lake):
    for i in range(4):
        io.append(spark, EVENTS, rows(spark, ("acme", i, "1", "a")), A)
    io.append(spark, EVENTS, rows(spark, ("globex", 9, "1", "g")), B)
    globex_files = partition_files(lake, "globex")
    ops = [h["operation"] for h in io.history(EVENTS)]
    assert ops == ["WRITE"] * 4 + ["CREATE TABLE"]  # newest first; the first append created the table

    metrics = io.compact(EVENTS, A)

    assert metrics["numFilesRemoved"] >= 4 and metrics["numFilesAdded"] == 1
    assert snapshot(spark, A) == [("acme", i, Decimal("1.00"), "a") for i in range(4)]
    assert partition_files(lake, "globex") == globex_files
    removable = io.vacuum(EVENTS, retention_hours=0, dry_run=True)
    assert len(removable) >= 4 and all("tenant_id=acme" in f for f in removable)
    io.vacuum(EVENTS, retention_hours=0)
    assert snapshot(spark, A) == [("acme", i, Decimal("1.00"), "a") for i in range(4)]


def test_commit_conflicts_are_retried_and_other_errors_are_not():
    calls = []

    def flaky():
        calls.append(1)
        if len(calls) < 3:
            raise RuntimeError("Failed to commit transaction: version 7 already exists")
        return "ok"

    assert io.with_retries(flaky, what="test", base_delay=0) == "ok"
    assert len(calls) == 3
    with pytest.raises(io.CommitConflict, match="still conflicting after 2 retries"):
        io.with_retries(
            lambda: (_ for _ in ()).throw(RuntimeError("Failed to commit transaction")),
            what="test",
            retries=2,
            base_delay=0,
        )
    with pytest.raises(KeyError):
        io.with_retries(lambda: {}["x"], what="test", base_delay=0)


def test_merge_replace_within_deletes_children_that_dropped_out_in_the_same_commit(spark, lake):
    io.append(
        spark, EVENTS, rows(spark, ("acme", 1, "1", "p1"), ("acme", 2, "2", "p1"), ("acme", 3, "3", "p2")), A
    )
    before = io.table_version(EVENTS)
    parents = spark.createDataFrame([("acme", 1), ("acme", 2)], "tenant_id string, event_id long").select(
        "tenant_id"
    )
    # the new version of parent 'acme' holds only event 2 (updated) and 4 (new); 1 and 3 dropped out
    result = io.merge(
        spark,
        EVENTS,
        rows(spark, ("acme", 2, "20", "new"), ("acme", 4, "4", "new")),
        A,
        replace_within=parents,
    )

    assert result.version == before + 1
    assert snapshot(spark, A) == [("acme", 2, Decimal("20.00"), "new"), ("acme", 4, Decimal("4.00"), "new")]


def test_empty_appends_and_merges_make_no_commit(spark, lake):
    io.append(spark, EVENTS, rows(spark, ("acme", 1, "1", "a")), A)
    before = io.table_version(EVENTS)
    empty = spark.createDataFrame([], SCHEMA)

    appended = io.append(spark, EVENTS, empty, A)
    assert (appended.rows, appended.committed) == (0, False)
    assert not io.merge(spark, EVENTS, empty, A).committed

    assert io.table_version(EVENTS) == before
    assert io.merge(spark, EVENTS, rows(spark, ("acme", 2, "2", "b")), A).committed


NESTED = register(
    TableDef(
        layer="silver",
        name="io_test_nested",
        schema=StructType(
            [
                StructField("tenant_id", StringType()),
                StructField("item_id", LongType()),
                StructField(
                    "dims",
                    ArrayType(
                        StructType(
                            [StructField("key", StringType()), StructField("types", ArrayType(StringType()))]
                        )
                    ),
                ),
            ]
        ),
        keys=("tenant_id", "item_id"),
        grain="one row per tenant and item",
        classification={"tenant_id": "internal", "item_id": "internal", "dims": "internal"},
    )
)


def test_overwrite_of_a_table_with_array_columns_replaces_only_the_tenant(spark, lake):
    """Sail's replaceWhere fails on array and map columns; io replaces the partition with one MERGE instead."""

    def frame(*rows):
        return spark.createDataFrame(list(rows), NESTED.schema)

    io.append(spark, NESTED, frame(("acme", 1, [("a", ["x"])]), ("acme", 2, [("b", [])])), A)
    io.append(spark, NESTED, frame(("globex", 1, [("g", ["y"])])), B)
    globex_files = sorted(p.name for p in (lake / "silver" / "io_test_nested" / "tenant_id=globex").iterdir())
    before = io.table_version(NESTED)

    io.overwrite_partition(spark, NESTED, frame(("acme", 2, [("b2", ["z"])]), ("acme", 3, None)), A)
    io.overwrite_partition(spark, NESTED, frame(("acme", 2, [("b2", ["z"])]), ("acme", 3, None)), A)

    got = sorted(
        (r.item_id, [(d.key, list(d.types)) for d in r.dims or []])
        for r in io.read(spark, NESTED, A).collect()
    )
    assert got == [(2, [("b2", ["z"])]), (3, [])]
    assert [r.item_id for r in io.read(spark, NESTED, B).collect()] == [1]
    assert (
        sorted(p.name for p in (lake / "silver" / "io_test_nested" / "tenant_id=globex").iterdir())
        == globex_files
    )
    assert io.table_version(NESTED) == before + 2  # each replace is one commit


def test_columns_declared_after_creation_are_added_before_a_write(spark, lake):
    """A table stored before a column was declared takes writes carrying it; its older rows read it as null."""
    declared = register(
        TableDef(
            layer="bronze",
            name="io_evolve_probe",
            schema=StructType(
                [
                    StructField("tenant_id", StringType()),
                    StructField("k", StringType()),
                    StructField("note", StringType()),
                ]
            ),
            keys=("tenant_id", "k"),
            grain="one row per k",
            classification={"tenant_id": "internal", "k": "internal", "note": "internal"},
        )
    )
    old = spark.createDataFrame([("acme", "a")], "tenant_id string, k string")
    old.write.format("delta").partitionBy("tenant_id").save(declared.path())
    scope = TenantScope.for_tenant("acme")
    result = io.append(spark, declared, spark.createDataFrame([("acme", "b", "new")], declared.schema), scope)
    assert result.rows == 1 and result.committed
    rows = sorted((r["k"], r["note"]) for r in io.read(spark, declared, scope).collect())
    assert rows == [("a", None), ("b", "new")]
