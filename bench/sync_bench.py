"""Partner Central sync benchmark: full sync of 50k opportunities and a 1% incremental sync, against the sandbox
with the client-side limiter off, next to the ceiling (boto3 calling a bare loopback server that answers a canned
GetOpportunity).

    .venv/bin/python bench/sync_bench.py [--opportunities 50000] [--changes 0.01] [--workers 4]
    .venv/bin/python bench/sync_bench.py --plan [--opportunities 50000] [--changes 0.01] [--verify-size 2000]

The sandbox and the canned server each run in their own process (as Partner Central would be remote), so the
client process's GIL is not shared with the server's. Reported: opportunities/s, API calls (as counted by the
sandbox), calls/s, and peak RSS of the client process (which hosts the embedded Sail engine) and of the sandbox.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
FIXTURE = ROOT / "sandboxes" / "partner_central" / "fixtures" / "get_opportunity_response.json"


# ----------------------------------------------------------------------------------------------- the ceiling


class _Canned(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    body = FIXTURE.read_bytes()
    head = (
        f"HTTP/1.1 200 OK\r\nContent-Type: application/x-amz-json-1.0\r\nContent-Length: {len(body)}\r\n"
        "x-amzn-RequestId: canned\r\n\r\n"
    ).encode()

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.wfile.write(self.head + self.body)

    def log_message(self, *args: Any) -> None:
        return


def serve_canned() -> None:
    """Child process: a bare keep-alive server answering every POST with the canned GetOpportunity."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Canned)
    print(json.dumps({"url": f"http://127.0.0.1:{server.server_address[1]}"}), flush=True)
    server.serve_forever()


def _spawn(args: list[str]) -> tuple[subprocess.Popen, dict[str, Any]]:
    proc = subprocess.Popen(
        [sys.executable, *args],
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    line = proc.stdout.readline()
    if not line:
        raise RuntimeError(f"{args} did not start")
    return proc, json.loads(line)


class Ceiling:
    """boto3 GetOpportunity calls/s against the canned server (one client thread, as the issue measured it).

    The machine may be shared, so the ceiling is measured right before and right after each sync and the sync is
    compared with the mean of the two.
    """

    def __init__(self, calls: int) -> None:
        import boto3

        self.calls = calls
        self.proc, info = _spawn([__file__, "--serve-canned"])
        self.client = boto3.client(
            "partnercentral-selling",
            endpoint_url=info["url"],
            region_name="us-east-1",
            aws_access_key_id="AKIABENCH",
            aws_secret_access_key="bench",
        )
        self.measure(200)

    def measure(self, calls: int | None = None) -> float:
        n = calls or self.calls
        start = time.perf_counter()
        for _ in range(n):
            self.client.get_opportunity(Catalog="AWS", Identifier="O1111111")
        return n / (time.perf_counter() - start)

    def close(self) -> None:
        self.proc.terminate()
        self.proc.wait()


# ----------------------------------------------------------------------------------------------- the sync


def _control(url: str, path: str, payload: dict | None = None) -> Any:
    data = json.dumps(payload).encode() if payload is not None else None
    with urllib.request.urlopen(
        urllib.request.Request(url + path, data=data, method="POST" if data else "GET")
    ) as r:
        return json.loads(r.read())


def _calls(url: str) -> dict[str, int]:
    counters = _control(url, "/_sandbox/counters")["calls"]
    return {k.split("/", 1)[1]: v for k, v in counters.items()}


def _rss_mb(pid: int) -> float:
    import psutil

    return psutil.Process(pid).memory_info().rss / 1e6


# ----------------------------------------------------------------------------------------------- the call plan


def plan_report(opportunities: int, change_rate: float, verify_size: int) -> dict[str, Any]:
    """Calls per changed record and wall time at AWS's 10 reads/s for a first load and a daily change, computed
    from the sync's call plan, and the same plan checked against the calls a real sync makes at ``verify_size``
    (in-process sandbox, limiter off: nothing waits 10/s here)."""
    from lakehouse.partner_central.connector import (
        ConnectorConfig,
        MemorySink,
        PartnerCentralReader,
        PartnerCentralSync,
        SyncPlan,
    )
    from sandboxes.partner_central import SandboxState, serve_in_thread

    def row(plan: SyncPlan) -> dict[str, Any]:
        return {
            "listed": plan.listed,
            "list_calls": plan.list_calls,
            "get_opportunity": plan.to_fetch,
            "get_aws_summary": plan.engaged,
            "total_calls": plan.total_calls,
            "calls_per_changed_record": round(plan.calls_per_changed_record, 4),
            "within_daily_quota": plan.fits_today,
            "wall_hours_at_10_per_s": round(plan.total_calls / plan.rate_per_second / 3600, 2),
        }

    changed = max(1, int(opportunities * change_rate))
    report: dict[str, Any] = {
        "first_load": row(SyncPlan(listed=opportunities, to_fetch=opportunities, engaged=0)),
        "daily_change": row(SyncPlan(listed=changed, to_fetch=changed, engaged=0)),
    }
    state = SandboxState(seed=1)
    state.seed_tenant("bench", opportunities=verify_size, solutions=0, invitations=0)
    server = serve_in_thread(state)
    try:
        account = state.tenants["bench"]

        def measured() -> tuple[Any, dict[str, int]]:
            server.reset_counters()
            reader = PartnerCentralReader.from_config(
                ConnectorConfig(
                    endpoint_url=server.url,
                    aws_access_key_id=account.access_key_id,
                    aws_secret_access_key=account.secret_access_key,
                    rate_per_second=None,
                )
            )
            result = PartnerCentralSync(reader, sink, entities=("opportunity",), aws_summaries=True).run()
            ops = ("ListOpportunities", "GetOpportunity", "GetAwsOpportunitySummary")
            return result.plan, {op: server.calls(op) for op in ops}

        sink = MemorySink()
        full_plan, full_calls = measured()
        small_changed = max(1, int(verify_size * change_rate))
        state.touch_opportunities("bench", "Sandbox", count=small_changed)
        inc_plan, inc_calls = measured()
    finally:
        server.stop()
    report["verified_at"] = {
        "opportunities": verify_size,
        "first_load": {"planned": row(full_plan), "made": full_calls},
        "daily_change": {"changed": small_changed, "planned": row(inc_plan), "made": inc_calls},
        "plan_matches": all(
            (made["ListOpportunities"], made["GetOpportunity"]) == (plan.list_calls, plan.to_fetch)
            for plan, made in ((full_plan, full_calls), (inc_plan, inc_calls))
        ),
    }
    # AWS summaries: one per fetched opportunity AWS engaged on, at the share the seeded data shows
    share = full_calls["GetAwsOpportunitySummary"] / max(1, full_calls["GetOpportunity"])
    report["engaged_share"] = round(share, 3)
    report["first_load_with_aws_summaries"] = row(
        SyncPlan(listed=opportunities, to_fetch=opportunities, engaged=round(opportunities * share))
    )
    report["daily_change_with_aws_summaries"] = row(
        SyncPlan(listed=changed, to_fetch=changed, engaged=round(changed * share))
    )
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--opportunities", type=int, default=50_000)
    parser.add_argument("--changes", type=float, default=0.01)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--ceiling-calls", type=int, default=3000)
    parser.add_argument("--land-batch", type=int, default=5000)
    parser.add_argument("--serve-canned", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument(
        "--plan",
        action="store_true",
        help="report the call plan under AWS's quotas (no waiting at 10/s) and verify its counts at --verify-size",
    )
    parser.add_argument("--verify-size", type=int, default=2000)
    args = parser.parse_args(argv)
    if args.serve_canned:
        serve_canned()
        return 0
    if args.plan:
        print(json.dumps(plan_report(args.opportunities, args.changes, args.verify_size), indent=2))
        return 0

    from lakehouse.partner_central.connector import (
        ConnectorConfig,
        MemorySink,
        PartnerCentralReader,
        PartnerCentralSync,
    )

    ceiling = Ceiling(args.ceiling_calls)
    print(
        f"ceiling: boto3 -> bare loopback server, canned GetOpportunity: {ceiling.measure():,.0f} calls/s "
        f"(load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs)",
        flush=True,
    )

    started = time.perf_counter()
    sandbox, info = _spawn(
        [
            "-m",
            "sandboxes.partner_central",
            "--port",
            "0",
            "--tenant",
            f"bench={args.opportunities}",
            "--quotas",
            "off",  # the bench syncs the same account twice in full: more than one day's read quota
            "--ready-json",
        ]
    )
    print(
        f"sandbox seeded with {args.opportunities:,} opportunities in {time.perf_counter() - started:.1f}s",
        flush=True,
    )
    results: dict[str, Any] = {"opportunities": args.opportunities, "workers": args.workers}
    try:
        creds = next(t for t in info["tenants"] if t["tenant_id"] == "bench")
        config = ConnectorConfig(
            endpoint_url=info["url"],
            aws_access_key_id=creds["aws_access_key_id"],
            aws_secret_access_key=creds["aws_secret_access_key"],
            rate_per_second=None,
            workers=args.workers,
        )
        only = ("opportunity",)

        def timed(label: str, run: Any) -> dict[str, Any]:
            _control(info["url"], "/_sandbox/counters/reset", {})
            before = ceiling.measure()
            start = time.perf_counter()
            outcome = run()
            elapsed = time.perf_counter() - start
            after = ceiling.measure()
            reference = (before + after) / 2
            calls = _calls(info["url"])
            total = sum(calls.values())
            fetched = calls.get("GetOpportunity", 0)
            row = {
                "seconds": round(elapsed, 2),
                "opportunities": fetched,
                "opportunities_per_s": round(fetched / elapsed),
                "api_calls": total,
                "calls": calls,
                "calls_per_s": round(total / elapsed),
                "ceiling_calls_per_s": [round(before), round(after)],
                "of_ceiling": round(total / elapsed / reference, 2),
                "load_average": round(os.getloadavg()[0], 1),
            }
            print(
                f"{label}: {fetched:,} opportunities in {elapsed:.1f}s = {row['opportunities_per_s']:,}/s; "
                f"{total:,} API calls ({calls}) = {row['calls_per_s']:,} calls/s = {row['of_ceiling']:.0%} of "
                f"the ceiling ({before:,.0f} before, {after:,.0f} after)",
                flush=True,
            )
            results[label] = row
            return outcome

        # fetch only: the connector into memory (no Spark), to separate API cost from landing cost
        memory = MemorySink()
        timed(
            "full_fetch_only",
            lambda: PartnerCentralSync(
                PartnerCentralReader.from_config(config), memory, entities=only, land_batch=args.land_batch
            ).run(),
        )

        # end to end: into bronze on the embedded Sail engine
        os.environ["LAKEHOUSE_LAKE_ROOT"] = tempfile.mkdtemp(prefix="sync-bench-lake-")
        from lakehouse.engine import get_spark
        from lakehouse.partner_central.ingest import sync_partner_central
        from lakehouse.settings import get_settings
        from lakehouse.tenancy import TenantScope

        get_settings.cache_clear()
        spark = get_spark()
        spark.range(1).collect()
        scope = TenantScope.for_tenant("bench")

        def sync() -> Any:
            return sync_partner_central(
                spark,
                scope,
                PartnerCentralReader.from_config(config),
                catalog="Sandbox",
                daily_call_budget=None,
                land_batch=args.land_batch,
                entities=only,
            )

        full = timed("full_sync_to_bronze", sync)
        assert full.status == "succeeded" and full.landed == args.opportunities, full
        changes = max(1, int(args.opportunities * args.changes))
        _control(info["url"], "/_sandbox/touch", {"tenant": "bench", "catalog": "Sandbox", "count": changes})
        incremental = timed("incremental_sync_to_bronze", sync)
        assert incremental.landed == changes, incremental
        results["incremental_sync_to_bronze"]["changed"] = changes
        results["peak_rss_mb_client"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
        results["rss_mb_sandbox"] = round(_rss_mb(sandbox.pid))
        print(
            f"peak RSS: client (with embedded Sail) {results['peak_rss_mb_client']:,} MB; sandbox "
            f"{results['rss_mb_sandbox']:,} MB",
            flush=True,
        )
    finally:
        sandbox.terminate()
        sandbox.wait()
        ceiling.close()
    print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
