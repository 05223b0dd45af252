"""Partner Central bronze -> silver -> gold benchmark: our pipeline (Sail + Delta) against classic Spark and DuckDB.

One run generates N opportunities into bronze (``bench/pipeline_bench_data.py``: ~10% older versions, ~1%
malformed, GetOpportunity-shaped JSON), then runs, each engine in its own process (a classic JVM session and a
Spark Connect session cannot share one), a full build and then a 1% incremental run:

- ``sail``: ``lakehouse.partner_central.pipeline``'s own extract/transform/check/load steps on embedded Sail, Delta tables, MERGE,
  quality gates (Great Expectations), PII redaction, ops records and lineage: what production runs.
- ``classic``: the same ``lakehouse.partner_central.transforms`` functions and the same GX gates (``lakehouse.quality.gate``) on
  classic Spark 3.5.6 ``local[2]``, reading and writing Parquet. Parquet has no MERGE, so its incremental run
  rewrites silver (previous snapshot minus the changed keys, plus the changed rows).
- ``duckdb``: the same logic in DuckDB SQL over Parquet (``bench/pipeline_bench_duckdb.py``); the gates are the
  same YAML suites evaluated as SQL.

It prints seconds per stage, rows/s, peak RSS of each engine's process tree (the JVM included), the cost of the
1% incremental run against the full build, the files the incremental MERGE rewrote, and whether the three engines
produced the same gold. Usage::

    .venv/bin/python bench/pipeline_bench.py --opportunities 50000          # quick
    .venv/bin/python bench/pipeline_bench.py                                # 1M, as reported in docs/pipeline_bench.md
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT))

import pipeline_bench_data as gen  # noqa: E402  (bench/ is put on sys.path above)

PII_SECRET = "bench-pii-secret-0123456789abcdef"
ENGINES = ("duckdb", "classic", "sail", "sail-cow")
BRONZE_DIR = "bronze/partner_central_opportunity"
BRONZE_SRC = "bronze_initial"  # the generated bronze Delta table; the sail worker copies it into its lake


# ------------------------------------------------------------------------------------------------ timing


class Stages:
    """Named stage timings (seconds, wall clock) in run order."""

    def __init__(self) -> None:
        self.items: list[tuple[str, float, float]] = []  # (stage, seconds, this process's peak RSS MB so far)

    def time(self, name: str):  # type: ignore[no-untyped-def]
        stages = self

        class _Timer:
            def __enter__(self) -> None:
                self.t = time.perf_counter()

            def __exit__(self, *exc: object) -> None:
                stages.items.append((name, time.perf_counter() - self.t, peak_rss_mb()))

        return _Timer()

    def total(self) -> float:
        return sum(s for _, s, _ in self.items)


def peak_rss_mb() -> float:
    """This process's peak resident set so far (embedded Sail runs in-process; a JVM does not)."""
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def emit(result: dict[str, Any]) -> None:
    """A worker's result: the last stdout line, JSON."""
    sys.stdout.flush()
    print("@@RESULT " + json.dumps(result, default=str), flush=True)


# ---------------------------------------------------------------------------------------------- sail worker


def sail_worker(work: Path, copy_on_write: bool = False) -> None:
    """Full build, then the 1% change, with lakehouse.partner_central.pipeline's own steps on embedded Sail + Delta.

    ``copy_on_write``: create the file-clustered silver tables without ``delta.enableDeletionVectors`` (as
    shipped they are merge-on-read: MERGE marks replaced rows in a deletion vector instead of rewriting files),
    for comparison.
    """
    os.environ.update(
        {
            "LAKEHOUSE_LAKE_ROOT": str(work / "lake"),
            "LAKEHOUSE_PII_SECRET": PII_SECRET,
            "LAKEHOUSE_OPENLINEAGE_FILE": str(work / "openlineage.jsonl"),
            "RUST_LOG": "error",
        }
    )
    from lakehouse.engine import get_spark
    from lakehouse.partner_central import pipeline as pl

    lake = work / "lake"
    shutil.rmtree(lake, ignore_errors=True)  # a fresh lake whose bronze is the generated one (not timed)
    shutil.copytree(work / BRONZE_SRC, lake / BRONZE_DIR)
    from lakehouse.partner_central.entities import silver
    from lakehouse.quality.gate import _context

    if copy_on_write:  # bench-only switch: the declared tables are merge-on-read
        for td in (silver.OPPORTUNITY, silver.OPPORTUNITY_SPEND, silver.OPPORTUNITY_CONTACT):
            td.properties.pop("delta.enableDeletionVectors", None)
    spark = get_spark()
    _context()  # the GX context, created at process start as in the other workers
    result: dict[str, Any] = {"engine": "sail-cow" if copy_on_write else "sail"}
    writes = _time_writes()

    def run(label: str) -> dict[str, Any]:
        stages = Stages()
        counts: dict[str, int] = {}
        rc = pl.RunContext.create(
            spark,
            gen.TENANT,
            job_name=pl.SILVER_JOB,
            run_id=f"bench-{label}.silver",
            fresh_run_id=True,
            as_of=gen.AS_OF,
        )
        with pl.step_run(rc):
            with stages.time("silver: extract (bronze past the watermark)"):
                ex = pl.extract_silver(rc)
            with stages.time("silver: parse + redact + latest version (staged)"):
                batch = pl.transform_silver(rc, ex)
            with stages.time("silver: quality gates"):
                checked = pl.check_silver(rc, batch)
            with stages.time("silver: MERGE + ops records"):
                out = pl.load_silver(rc, checked)
        counts.update(out.counts)
        rc = pl.RunContext.create(
            spark,
            gen.TENANT,
            job_name=pl.GOLD_JOB,
            run_id=f"bench-{label}.gold",
            fresh_run_id=True,
            as_of=gen.AS_OF,
        )
        with pl.step_run(rc):
            with stages.time("gold: extract + marts + gates"):
                gex = pl.extract_gold(rc)
                marts = pl.transform_gold(rc, gex)
                gchecked = pl.check_gold(rc, gex, marts)
            with stages.time("gold: write"):
                pl.load_gold(rc, gchecked)
        detail = list(writes)
        writes.clear()
        return {"stages": stages.items, "seconds": stages.total(), "counts": counts, "writes": detail}

    before = _delta_files(work / "lake")
    result["full"] = run("full")
    after_full = _delta_files(work / "lake")
    result["full"]["files"] = _file_delta(before, after_full)
    _append_change(work)
    result["incremental"] = run("incremental")
    result["incremental"]["files"] = _file_delta(after_full, _delta_files(work / "lake"))
    result["gold"] = _gold_summary_sail(spark)
    emit(result)


def _time_writes() -> list[tuple[str, float, float]]:
    """Record the seconds of every lakehouse.io write by table (wraps the functions; behaviour unchanged)."""
    from lakehouse import io

    log: list[tuple[str, float, float]] = []
    for module, name in ((io, "merge"), (io, "overwrite_partition"), (io, "append")):
        original = getattr(module, name, None)
        if original is None:  # an older lakehouse without it
            continue

        def timed(*args: Any, _original: Any = original, _name: str = name, **kwargs: Any) -> Any:
            t = time.perf_counter()
            try:
                return _original(*args, **kwargs)
            finally:
                table = args[1] if isinstance(args[1], str) else args[1].qualified_name
                log.append((f"{_name} {table}", time.perf_counter() - t, peak_rss_mb()))

        setattr(module, name, timed)
    return log


def _append_change(work: Path) -> None:
    """Land the change batch in bronze (as ingestion would; not timed)."""
    import pyarrow.parquet as pq
    from deltalake import write_deltalake

    write_deltalake(
        str(work / "lake" / BRONZE_DIR),
        pq.read_table(work / "change.parquet"),
        mode="append",
        partition_by=["tenant_id"],
    )


def _delta_files(lake: Path) -> dict[str, dict[str, int]]:
    """Live data files (path -> bytes) and rows of each silver/gold table, from the Delta log."""
    import pyarrow as pa
    from deltalake import DeltaTable

    out: dict[str, dict[str, int]] = {}
    for layer in ("silver", "gold"):
        base = lake / layer
        if not base.exists():
            continue
        for table in sorted(p for p in base.iterdir() if (p / "_delta_log").exists()):
            actions = pa.table(DeltaTable(str(table)).get_add_actions(flatten=True)).to_pydict()
            out[f"{layer}.{table.name}"] = dict(zip(actions["path"], actions["size_bytes"], strict=False))
            out[f"{layer}.{table.name}"]["__rows__"] = int(sum(actions.get("num_records") or [0]))
    return out


def _file_delta(before: dict[str, dict[str, int]], after: dict[str, dict[str, int]]) -> dict[str, Any]:
    """Per table: files and bytes removed and added between two snapshots, and the table's size before."""
    out: dict[str, Any] = {}
    for name, files in after.items():
        old = before.get(name, {})
        removed = [p for p in old if p != "__rows__" and p not in files]
        added = [p for p in files if p != "__rows__" and p not in old]
        out[name] = {
            "files_before": len([p for p in old if p != "__rows__"]),
            "bytes_before": sum(v for p, v in old.items() if p != "__rows__"),
            "files_removed": len(removed),
            "bytes_removed": sum(old[p] for p in removed),
            "files_added": len(added),
            "bytes_added": sum(files[p] for p in added),
            "rows": files.get("__rows__", 0),
        }
    return out


def _gold_summary_sail(spark) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    from lakehouse import io
    from lakehouse.tenancy import TenantScope

    scope = TenantScope.for_tenant(gen.TENANT)
    return gold_summary(
        [r.asDict() for r in io.read(spark, "gold.ace_pipeline", scope).collect()],
        [r.asDict() for r in io.read(spark, "gold.ace_win_rate", scope).collect()],
        [r.asDict() for r in io.read(spark, "gold.ace_pipeline_health", scope).collect()],
    )


def gold_summary(
    pipeline: list[dict[str, Any]], win: list[dict[str, Any]], health: list[dict[str, Any]]
) -> dict:
    """An engine-independent digest of the three marts (to compare engines)."""
    return {
        "ace_pipeline": sorted(
            [
                str(r["stage"]),
                str(r["target_close_month"]),
                int(r["opportunity_count"]),
                f"{float(r['expected_monthly_spend_usd']):.2f}",
            ]
            for r in pipeline
        ),
        "ace_win_rate": [
            [
                int(r["won_count"]),
                int(r["lost_count"]),
                int(r["open_count"]),
                None if r["win_rate"] is None else round(float(r["win_rate"]), 12),
            ]
            for r in win
        ],
        "ace_pipeline_health": sorted(
            [
                str(r["review_status"]),
                int(r["opportunity_count"]),
                int(r["stale_count"]),
                int(r["action_required_count"]),
            ]
            for r in health
        ),
    }


# ------------------------------------------------------------------------------------------- orchestrator


class RssSampler(threading.Thread):
    """Peak resident memory of a process and all its descendants (sum), sampled every 100 ms."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid, self.peak, self._halt = pid, 0, threading.Event()

    def run(self) -> None:
        import psutil

        try:
            proc = psutil.Process(self.pid)
        except psutil.NoSuchProcess:
            return
        while not self._halt.is_set():
            try:
                total = proc.memory_info().rss
                for child in proc.children(recursive=True):
                    try:
                        total += child.memory_info().rss
                    except psutil.NoSuchProcess:
                        pass
            except psutil.NoSuchProcess:
                return
            self.peak = max(self.peak, total)
            self._halt.wait(0.1)

    def stop(self) -> None:
        self._halt.set()


def run_worker(engine: str, work: Path) -> dict[str, Any]:
    """Run one engine's worker in its own process; its result plus peak RSS and load averages."""
    env = {
        **os.environ,
        "PYTHONPATH": f"{ROOT}{os.pathsep}{os.environ.get('PYTHONPATH', '')}",
        "RUST_LOG": "error",
    }
    load_before = os.getloadavg()
    t = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, str(Path(__file__).resolve()), "--worker", engine, "--work-dir", str(work)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    sampler = RssSampler(proc.pid)
    sampler.start()
    stdout, stderr = proc.communicate()
    sampler.stop()
    sampler.join()
    wall = time.perf_counter() - t
    lines = [line for line in stdout.splitlines() if line.startswith("@@RESULT ")]
    if proc.returncode != 0 or not lines:
        raise SystemExit(
            f"{engine} worker failed (exit {proc.returncode}):\n{stderr[-4000:]}\n{stdout[-2000:]}"
        )
    result = json.loads(lines[-1][len("@@RESULT ") :])
    result.update(peak_rss=sampler.peak, wall=wall, load=(load_before, os.getloadavg()))
    return result


def generate(work: Path, n: int, closed_share: float, fraction: float = 0.01) -> dict[str, Any]:
    """Bronze for the full build (a Delta table) and the 1% change (a Parquet file), with their statistics."""
    import pickle

    import pyarrow.parquet as pq
    from deltalake import write_deltalake

    stats, saved = work / "data.json", work / "history.pickle"
    known = json.loads(stats.read_text()) if stats.exists() else {}
    t = time.perf_counter()
    if known.get("opportunities") == n and saved.exists():  # --work-dir reused: same generated bronze
        if (known.get("closed_share"), known.get("change_fraction")) == (closed_share, fraction) and (
            work / "change.parquet"
        ).exists():
            return known
        hist = pickle.loads(saved.read_bytes())
    else:
        shutil.rmtree(work / BRONZE_SRC, ignore_errors=True)
        hist, chunks = gen.history_chunks(n)
        path = str(work / BRONZE_SRC)
        for rows in chunks:
            write_deltalake(path, gen.arrow_table(rows), mode="append", partition_by=["tenant_id"])
        saved.write_bytes(pickle.dumps(hist))
    mix, change = gen.change_batch(hist, fraction, closed_share=closed_share)
    pq.write_table(gen.arrow_table(change), work / "change.parquet")
    bronze_bytes = sum(f.stat().st_size for f in (work / BRONZE_SRC).rglob("*.parquet"))
    data = {
        "opportunities": n,
        "records": hist.records,
        "older_versions": hist.older_versions,
        "malformed": hist.malformed,
        "open": sum(1 for o in hist.opps if o.stage in gen.OPEN_STAGES),
        "current": len(hist.opps),
        "bronze_bytes": bronze_bytes,
        "change": mix.describe(),
        "change_records": mix.records,
        "closed_share": closed_share,
        "change_fraction": fraction,
        "seconds": time.perf_counter() - t,
    }
    stats.write_text(json.dumps(data))
    return data


def _mb(b: float) -> str:
    return f"{b / 2**20:,.0f} MB"


def report(data: dict[str, Any], results: dict[str, dict[str, Any]]) -> None:
    """Print the tables."""
    records = data["records"]
    print()
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, {_mem_gib()} GiB RAM, Python "
        f"{platform.python_version()}, {platform.platform()}"
    )
    print(
        f"bronze: {data['opportunities']:,} opportunities -> {records:,} records "
        f"({data['older_versions']:,} older versions, {data['malformed']:,} malformed), "
        f"{data['open']:,} of {data['current']:,} valid opportunities open, {_mb(data['bronze_bytes'])} of Parquet "
        f"(generated in {data['seconds']:.0f} s)"
    )
    print(f"{100 * data.get('change_fraction', 0.01):g}% change: {data['change']}")
    for engine, r in results.items():
        print()
        print(
            f"== {engine}  (peak RSS {_mb(r['peak_rss'])} for the process tree, process wall {r['wall']:.0f} s incl. "
            f"start-up, load average {r['load'][0][0]:.1f} before / {r['load'][1][0]:.1f} after)"
        )
        if engine == "classic":
            print(
                f"  Spark {r.get('spark')}, local[2], driver memory 3g; per-stage RSS below is the Python driver "
                "only (the JVM is in the process-tree peak)"
            )
        if engine == "duckdb":
            print(f"  DuckDB {r.get('version')}, {r.get('threads')} threads")
        for label, n in (("full", records), ("incremental", data["change_records"])):
            run = r[label]
            print(f"  {label}: {run['seconds']:.1f} s, {n / run['seconds']:,.0f} bronze records/s")
            for name, secs, rss in run["stages"]:
                print(f"    {name:<58} {secs:8.2f} s   (worker peak RSS so far {rss:,.0f} MB)")
            if run.get("writes"):
                print(
                    "      writes (s, peak RSS MB so far): "
                    + ", ".join(f"{name} {secs:.2f} ({rss:,.0f})" for name, secs, rss in run["writes"])
                )
        ratio = r["incremental"]["seconds"] / r["full"]["seconds"]
        print(f"  incremental / full build: {100 * ratio:.1f}%")
        files = r["incremental"].get("files") or {}
        for name in ("silver.opportunity", "silver.opportunity_spend", "silver.opportunity_contact"):
            f = files.get(name)
            if f:
                print(
                    f"    {name:<28} incremental rewrote {f['files_removed']:>4} of {f['files_before']:>4} files, "
                    f"{_mb(f['bytes_removed'])} of {_mb(f['bytes_before'])} "
                    f"({100 * f['bytes_removed'] / max(1, f['bytes_before']):.1f}%), added {f['files_added']} files"
                )
    print()
    if "sail" in results:
        sail = results["sail"]
        checks = []
        if "classic" in results:
            speed = results["classic"]["full"]["seconds"] / sail["full"]["seconds"]
            checks.append(
                f"throughput vs classic Spark: {speed:.2f}x (target >= 3x: {'met' if speed >= 3 else 'NOT met'})"
            )
        if "duckdb" in results:
            slow = sail["full"]["seconds"] / results["duckdb"]["full"]["seconds"]
            checks.append(f"time vs DuckDB: {slow:.2f}x (target <= 2x: {'met' if slow <= 2 else 'NOT met'})")
        rss = sail["peak_rss"] / 2**30
        checks.append(f"peak RSS {rss:.2f} GB (target <= 2 GB: {'met' if rss <= 2 else 'NOT met'})")
        ratio = sail["incremental"]["seconds"] / sail["full"]["seconds"]
        checks.append(
            f"1% incremental {100 * ratio:.1f}% of a full build (target <= 10%: "
            f"{'met' if ratio <= 0.10 else 'NOT met'})"
        )
        if "sail-cow" in results:
            cow = results["sail-cow"]
            ratio = cow["incremental"]["seconds"] / cow["full"]["seconds"]
            checks.append(
                f"copy-on-write silver (sail-cow): 1% incremental {100 * ratio:.1f}% of a full build, "
                f"peak RSS {cow['peak_rss'] / 2**30:.2f} GB"
            )
        print("targets (sail = our pipeline as shipped):")
        for c in checks:
            print(f"  {c}")
    golds = {e: json.dumps(r.get("gold"), sort_keys=True) for e, r in results.items() if r.get("gold")}
    if len(golds) > 1:
        same = len(set(golds.values())) == 1
        print(
            f"gold after the incremental run identical across {', '.join(golds)}: {'yes' if same else 'NO'}"
        )
        if not same:
            for e, g in golds.items():
                print(f"  {e}: {g[:400]}")


def _mem_gib() -> str:
    try:
        import psutil

        return f"{psutil.virtual_memory().total / 2**30:.0f}"
    except ImportError:
        return "?"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--opportunities", type=int, default=1_000_000)
    parser.add_argument(
        "--change-fraction",
        type=float,
        default=0.01,
        help="size of the incremental change as a share of the opportunities (default 0.01)",
    )
    parser.add_argument(
        "--closed-changes",
        type=float,
        default=0.01,
        help="share of the 1%% change that hits recently closed opportunities (default 0.01)",
    )
    parser.add_argument(
        "--engines",
        default=",".join(ENGINES),
        help="comma-separated subset of duckdb,classic,sail,sail-cow (sail, silver copy-on-write)",
    )
    parser.add_argument(
        "--work-dir", type=Path, help="where bronze and the engines' outputs go (default: a temp dir)"
    )
    parser.add_argument(
        "--keep",
        action="store_true",
        help="keep the work dir (a later run with the same --work-dir and N reuses its bronze)",
    )
    parser.add_argument("--json", type=Path, help="also write the raw results here")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.worker:
        WORKERS[args.worker](args.work_dir)
        return
    engines = [e for e in ENGINES if e in args.engines.split(",")]
    work = args.work_dir or Path(tempfile.mkdtemp(prefix="pipeline-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        print(f"generating {args.opportunities:,} opportunities into {work} ...", flush=True)
        data = generate(work, args.opportunities, args.closed_changes, args.change_fraction)
        results: dict[str, dict[str, Any]] = {}
        for engine in engines:
            print(f"running {engine} ...", flush=True)
            results[engine] = run_worker(engine, work)
            r = results[engine]
            print(
                f"  full {r['full']['seconds']:.1f} s, incremental {r['incremental']['seconds']:.1f} s, "
                f"peak RSS {_mb(r['peak_rss'])}",
                flush=True,
            )
        report(data, results)
        if args.json:
            args.json.write_text(json.dumps({"data": data, "results": results}, indent=1, default=str))
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


def _classic(work: Path) -> None:
    from pipeline_bench_classic import classic_worker

    classic_worker(work)


def _duckdb(work: Path) -> None:
    from pipeline_bench_duckdb import duckdb_worker

    duckdb_worker(work)


WORKERS = {
    "sail": sail_worker,
    "sail-cow": lambda work: sail_worker(work, copy_on_write=True),
    "classic": _classic,
    "duckdb": _duckdb,
}

if __name__ == "__main__":
    main()
