"""Classic Spark 3.5.6 ``local[2]`` worker for bench/pipeline_bench.py: the pipeline's own transforms and gates
over Parquet.

The steps are ``lakehouse.partner_central.pipeline``'s with Parquet instead of Delta: ``parse_opportunities`` (staged), split
quarantine, ``latest_versions`` + ``newer_than_current`` on a narrow projection (staged), the GX gates of
``lakehouse.quality.gate.run_gate`` with the same YAML suites, ``to_opportunity`` / ``_spend`` / ``_contact`` /
``to_quarantine``, the three ACE marts and their gates. Parquet has no MERGE: the incremental run writes a new
silver snapshot (previous rows minus the changed keys, plus the changed rows).
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pipeline_bench as pb
import pipeline_bench_data as gen

KEYS = ["tenant_id", "opportunity_id"]
VERSION = ["last_modified_at", "source_ingested_at", "source_payload_sha256", "source_ingestion_run_id"]


def session():  # type: ignore[no-untyped-def]
    """A classic local[2] session (no Delta jars needed: Parquet only)."""
    from pyspark.sql import SparkSession

    return (
        SparkSession.builder.master("local[2]")
        .appName("pipeline-bench-classic")
        .config("spark.ui.enabled", "false")
        .config("spark.driver.memory", "3g")
        .config("spark.sql.shuffle.partitions", "8")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.driver.host", "127.0.0.1")
        .getOrCreate()
    )


class ClassicPipeline:
    """Silver and gold for the bench tenant with classic Spark over Parquet snapshots under ``out``."""

    def __init__(self, spark, work: Path) -> None:  # type: ignore[no-untyped-def]
        from lakehouse.privacy import LocalKeyProvider

        self.spark, self.out = spark, work / "classic"
        shutil.rmtree(self.out, ignore_errors=True)
        self.key = LocalKeyProvider(pb.PII_SECRET.encode()).key_for(gen.TENANT)
        self.snapshot = 0
        self.issues: list[tuple[str, str, str, int]] = []

    def path(self, name: str, snapshot: int | None = None) -> str:
        return str(self.out / f"{name}.v{self.snapshot if snapshot is None else snapshot}")

    def stage(self, df, name: str):  # type: ignore[no-untyped-def]
        df.write.mode("overwrite").parquet(self.path(name))
        return self.spark.read.parquet(self.path(name))

    def gate(self, df, table: str, allow_quarantine: bool = False):  # type: ignore[no-untyped-def]
        from lakehouse.quality.gate import run_gate
        from lakehouse.quality.suites import load_suite

        g = run_gate(df, load_suite(table), tenant_id=gen.TENANT, run_id=f"bench-classic-{self.snapshot}")
        self.issues += [(table, i.expectation, i.action, i.unexpected_count) for i in g.issues]
        if g.failures:
            raise SystemExit(f"classic: {table} gate failed: {[o.spec.name for o in g.failures]}")
        return g

    def silver(self, stages: pb.Stages, bronze) -> None:  # type: ignore[no-untyped-def]
        from pyspark.sql import functions as F

        from lakehouse.partner_central.transforms import silver as tx
        from lakehouse.privacy import redact_json_text

        spark, prev = self.spark, self.snapshot - 1
        with stages.time("silver: parse + redact + latest version (staged)"):
            parsed = self.stage(tx.parse_opportunities(bronze, email_key=self.key), "parsed")
            valid, bad = tx.split_quarantine(parsed)
            current = (
                spark.read.parquet(self.path("opportunity", prev)).select(
                    *KEYS, "last_modified_at", "source_ingested_at"
                )
                if prev >= 0
                else spark.createDataFrame(
                    [],
                    "tenant_id string, opportunity_id string, "
                    "last_modified_at timestamp, source_ingested_at timestamp",
                )
            )
            winners = tx.newer_than_current(
                tx.latest_versions(valid.select(*KEYS, *VERSION), KEYS), current, KEYS
            )
            changed = self.stage(
                valid.join(winners.select(*KEYS, *VERSION[1:]), on=[*KEYS, *VERSION[1:]], how="left_semi"),
                "changed",
            )
        with stages.time("silver: quality gates"):
            g = self.gate(changed, "silver.opportunity", allow_quarantine=True)
            passed = g.passed
            spend = self.stage(tx.to_opportunity_spend(passed), "spend_new")
            contact = self.stage(tx.to_opportunity_contact(passed), "contact_new")
            self.gate(spend, "silver.opportunity_spend")
            self.gate(contact, "silver.opportunity_contact")
        with stages.time("silver: write (new Parquet snapshot)"):
            opp = tx.to_opportunity(passed)
            parents = passed.select(*KEYS)
            if prev >= 0:

                def keep(name: str) -> Any:
                    return spark.read.parquet(self.path(name, prev)).join(parents, on=KEYS, how="left_anti")

                opp = keep("opportunity").unionByName(opp)
                spend = keep("spend").unionByName(spend)
                contact = keep("contact").unionByName(contact)
            opp.write.mode("overwrite").parquet(self.path("opportunity"))
            spend.write.mode("overwrite").parquet(self.path("spend"))
            contact.write.mode("overwrite").parquet(self.path("contact"))
            quarantine = tx.to_quarantine(
                bad, entity="opportunity", id_column="opportunity_id", run_id="bench"
            )
            if g.quarantined is not None:
                on = ["source_payload_sha256", "source_ingestion_run_id", "source_ingested_at"]
                payloads = (
                    bronze.select(
                        F.col("payload_sha256").alias(on[0]),
                        F.col("ingestion_run_id").alias(on[1]),
                        F.col("ingested_at").alias(on[2]),
                        "payload",
                    )
                    .join(g.quarantined.select(*on), on=on, how="left_semi")
                    .dropDuplicates(on)
                    .select(*on, redact_json_text(F.col("payload")).alias("_p"))
                )
                gq = g.quarantined.select("tenant_id", "opportunity_id", "gate_reason", *on).join(
                    payloads, on, "left"
                )
                quarantine = quarantine.unionByName(
                    gq.select(
                        "tenant_id",
                        "opportunity_id",
                        F.lit("opportunity").alias("entity"),
                        F.col("opportunity_id").alias("entity_id"),
                        F.col("gate_reason").alias("reason"),
                        F.col("_p").alias("payload"),
                        F.col(on[0]).alias("payload_sha256"),
                        F.col(on[1]).alias("ingestion_run_id"),
                        F.col(on[2]).alias("ingested_at"),
                        F.lit("bench").alias("quarantine_run_id"),
                    )
                )
            if prev >= 0:
                quarantine = spark.read.parquet(self.path("quarantine", prev)).unionByName(quarantine)
            tx.latest_versions(
                quarantine,
                ["tenant_id", "entity", "payload_sha256"],
                order=("ingested_at", "ingestion_run_id"),
            ).write.mode("overwrite").parquet(self.path("quarantine"))

    def gold(self, stages: pb.Stages) -> dict[str, Any]:
        from lakehouse.partner_central.transforms import gold as gold_ace

        spark = self.spark
        with stages.time("gold: extract + marts + gates"):
            opp = spark.read.parquet(self.path("opportunity"))
            spend = spark.read.parquet(self.path("spend"))
            marts = {
                "ace_pipeline": gold_ace.ace_pipeline(opp, spend),
                "ace_win_rate": gold_ace.ace_win_rate(opp),
                "ace_pipeline_health": gold_ace.ace_pipeline_health(opp, as_of=gen.AS_OF),
            }
            marts = {name: spark.createDataFrame(df.collect(), df.schema) for name, df in marts.items()}
            for name, df in marts.items():
                self.gate(df, f"gold.{name}")
        with stages.time("gold: write"):
            for name, df in marts.items():
                df.write.mode("overwrite").parquet(self.path(f"gold_{name}"))
        return {name: [r.asDict() for r in df.collect()] for name, df in marts.items()}


def classic_worker(work: Path) -> None:
    """Full build from the generated bronze Parquet files, then the 1% change."""
    spark = session()
    import lakehouse.partner_central.transforms.silver
    import lakehouse.quality.gate  # noqa: F401
    from lakehouse.quality.gate import _context

    _context()  # the GX context, as the Sail worker's first gate would have it warm from the process start
    p = ClassicPipeline(spark, work)
    result: dict[str, Any] = {"engine": "classic", "spark": spark.version}
    stages = pb.Stages()
    with stages.time("silver: extract (bronze rows)"):
        bronze = spark.read.parquet(str(work / pb.BRONZE_SRC)).where(f"tenant_id = '{gen.TENANT}'")
    p.silver(stages, bronze)
    p.gold(stages)
    result["full"] = {"stages": stages.items, "seconds": stages.total()}
    p.snapshot = 1
    stages = pb.Stages()
    with stages.time("silver: extract (bronze rows)"):
        change = spark.read.parquet(str(work / "change.parquet")).where(f"tenant_id = '{gen.TENANT}'")
    p.silver(stages, change)
    gold = p.gold(stages)
    result["incremental"] = {"stages": stages.items, "seconds": stages.total()}
    result["gold"] = pb.gold_summary(gold["ace_pipeline"], gold["ace_win_rate"], gold["ace_pipeline_health"])
    result["issues"] = p.issues
    spark.stop()
    pb.emit(result)
