"""Load on the control-plane API from a second process on 127.0.0.1: requests/s and p50/p99 latency.

The server is ``lakehouse api`` (uvicorn, one process); this process is the load generator. It sends an
open-loop stream at ``--rate`` requests/s for ``--duration`` seconds per scenario (bounded: at most
rate × duration requests, and a hard deadline), over keep-alive connections with TCP_NODELAY, and measures
each latency from the request's *scheduled* start (a slow server cannot hide its queueing delay).

Scenarios: ``read`` — ``GET /tenants/{workspace}`` with a workspace viewer's API key (authentication, row-level
scope, policy decision, one read); ``provision`` — ``PUT /tenants/{new workspace}`` by the org's tenant_admin
(all provisioning steps and audit entries of a new tenant).

Provisioning at ``--rate`` runs for half the duration (it saturates one server process, and an open-loop
latency then mostly measures the queue); it is run again at ``--provision-rate`` (default 25/s).

Usage: ``python bench/api_bench.py [--backend sqlite|postgres] [--rate 200] [--duration 10]``.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PG_ADMIN_URL = os.environ.get("LAKEHOUSE_TEST_PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Client:
    """One keep-alive HTTP/1.1 connection with TCP_NODELAY."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.conn: http.client.HTTPConnection | None = None

    def request(
        self, method: str, path: str, headers: dict[str, str], body: dict | None = None
    ) -> tuple[int, bytes]:
        for attempt in (1, 2):
            if self.conn is None:
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
                self.conn.connect()
                self.conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            data = json.dumps(body).encode() if body is not None else None
            hdrs = {**headers, "Content-Type": "application/json"} if data is not None else headers
            try:
                self.conn.request(method, path, body=data, headers=hdrs)
                resp = self.conn.getresponse()
                return resp.status, resp.read()
            except (http.client.HTTPException, OSError):
                self.conn.close()
                self.conn = None
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")


@dataclass
class Result:
    name: str
    target_rate: float
    latencies_ms: list[float] = field(default_factory=list)
    service_ms: list[float] = field(default_factory=list)
    errors: dict[int, int] = field(default_factory=dict)
    elapsed_s: float = 0.0

    @staticmethod
    def percentile(values: list[float], q: float) -> float:
        if not values:
            return float("nan")
        ordered = sorted(values)
        return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]

    def row(self) -> str:
        n = len(self.latencies_ms)
        return (
            f"{self.name:<10} {self.target_rate:>7.0f} {n / self.elapsed_s if self.elapsed_s else 0:>9.1f} {n:>6}"
            f" {sum(self.errors.values()):>6} {self.percentile(self.latencies_ms, 0.50):>8.2f}"
            f" {self.percentile(self.latencies_ms, 0.99):>8.2f} {max(self.latencies_ms or [0]):>8.2f}"
            f" {self.percentile(self.service_ms, 0.99):>10.2f}"
        )


def run_open_loop(name: str, port: int, rate: float, duration: float, threads: int, make_request) -> Result:
    """Send ``rate`` × ``duration`` requests on schedule from ``threads`` workers."""
    total = int(rate * duration)
    result = Result(name, rate)
    lock = threading.Lock()
    next_index = [0]
    start = time.perf_counter() + 0.2
    deadline = start + duration * 3 + 30

    def worker() -> None:
        client = Client(port)
        while True:
            with lock:
                i = next_index[0]
                next_index[0] += 1
            if i >= total:
                return
            scheduled = start + i / rate
            delay = scheduled - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            if time.perf_counter() > deadline:
                return
            sent = time.perf_counter()
            method, path, headers, body, ok = make_request(i)
            status, _ = client.request(method, path, headers, body)
            done = time.perf_counter()
            with lock:
                result.latencies_ms.append((done - scheduled) * 1000)
                result.service_ms.append((done - sent) * 1000)
                if status not in ok:
                    result.errors[status] = result.errors.get(status, 0) + 1

    pool = [threading.Thread(target=worker, daemon=True) for _ in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    result.elapsed_s = time.perf_counter() - start
    return result


def _pg_database() -> tuple[str, str, callable]:
    import psycopg
    from sqlalchemy.engine import make_url

    name = f"cp_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
        conn.execute(
            "DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'lakehouse_api_bench') THEN "
            "CREATE ROLE lakehouse_api_bench LOGIN NOINHERIT; END IF; END $$"
        )
    admin_url = make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    app_url = make_url(admin_url).set(username="lakehouse_api_bench").render_as_string(hide_password=False)

    def drop() -> None:
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    return admin_url, app_url, drop


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--backend", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--rate", type=float, default=200.0, help="target requests/s per scenario")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per scenario")
    parser.add_argument(
        "--provision-rate",
        type=float,
        default=25.0,
        help="a second, sustainable provisioning rate (the first run offers --rate)",
    )
    parser.add_argument("--threads", type=int, default=16, help="client threads (concurrent connections)")
    parser.add_argument(
        "--rate-limits",
        choices=("on", "off", "compare"),
        default="on",
        help="compare: the read scenario with the rate limiters on, then off, in this invocation (their cost)",
    )
    parser.add_argument(
        "--json", action="store_true", help=argparse.SUPPRESS
    )  # one line of results, for compare
    args = parser.parse_args()
    if args.rate_limits == "compare":
        return _compare_rate_limits(args)

    lake = tempfile.mkdtemp(prefix="api-bench-")
    env = {
        **os.environ,
        "LAKEHOUSE_LAKE_ROOT": lake,
        "LAKEHOUSE_ENVIRONMENT": "test",
        "LAKEHOUSE_JWT_SECRET": "bench-" + uuid.uuid4().hex * 2,
        "LAKEHOUSE_RATE_LIMITS_ENABLED": "true" if args.rate_limits == "on" else "false",
    }
    drop = None
    if args.backend == "postgres":
        admin_url, app_url, drop = _pg_database()
        from control_plane.db import migrate

        migrate(admin_url)
        import psycopg

        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute("GRANT lakehouse_app, lakehouse_platform TO lakehouse_api_bench")
        env.update(LAKEHOUSE_DATABASE_URL=app_url, LAKEHOUSE_MIGRATION_DATABASE_URL=admin_url)
    else:
        env.pop("LAKEHOUSE_DATABASE_URL", None)
    os.environ.update({k: v for k, v in env.items() if k.startswith("LAKEHOUSE_")})
    from control_plane.bootstrap import create_admin_key
    from lakehouse.settings import get_settings

    get_settings.cache_clear()
    admin_key = create_admin_key("api bench", run_migrations=args.backend == "sqlite")
    port = _free_port()
    server = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys; from lakehouse.cli import main; sys.exit(main())",
            "api",
            "--port",
            str(port),
        ],
        env=env,
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        setup = Client(port)
        for _ in range(300):
            try:
                if setup.request("GET", "/health", {})[0] == 200:
                    break
            except OSError:
                setup.conn = None
                if server.poll() is not None:
                    print(server.stderr.read(), file=sys.stderr)
                    return 1
                time.sleep(0.1)
        admin = {"X-API-Key": admin_key}
        suffix = uuid.uuid4().hex[:6]
        ent, org, ws = f"bench-ent-{suffix}", f"bench-org-{suffix}", f"bench-ws-{suffix}"
        for tid, spec in (
            (ent, {"kind": "enterprise", "name": "Bench", "plan_id": "enterprise"}),
            (org, {"kind": "org", "name": "Bench org", "parent_id": ent}),
            (ws, {"kind": "workspace", "name": "Bench ws", "parent_id": org}),
        ):
            status, body = setup.request("PUT", f"/tenants/{tid}", admin, spec)
            assert status == 201, body

        def key(tenant: str, role: str) -> dict[str, str]:
            status, body = setup.request(
                "POST",
                f"/tenants/{tenant}/api-keys",
                {**admin, "X-Audit-Reason": "bench"},
                {"name": f"bench {role}", "role": role},
            )
            assert status == 201, body
            return {"X-API-Key": json.loads(body)["key"]}

        viewer, org_admin = key(ws, "viewer"), key(org, "tenant_admin")
        status, _ = setup.request("GET", f"/tenants/{ws}", viewer)
        assert status == 200

        def read(i: int):
            return "GET", f"/tenants/{ws}", viewer, None, (200,)

        def provision(i: int):
            spec = {"kind": "workspace", "name": f"W{i}", "parent_id": org}
            return "PUT", f"/tenants/bws-{suffix}-{i}", org_admin, spec, (201,)

        run_open_loop("warmup", port, min(args.rate, 100), 2, args.threads, read)
        counter = iter(range(10**9))

        def provision_next(i: int):
            return provision(next(counter))

        results = [
            run_open_loop("read", port, args.rate, args.duration, args.threads, read),
            run_open_loop("provision", port, args.rate, args.duration / 2, args.threads, provision_next),
            run_open_loop(
                "provision", port, args.provision_rate, args.duration, args.threads, provision_next
            ),
        ]
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
        if drop is not None:
            drop()

    if args.json:
        print(
            json.dumps(
                [{"scenario": r.name, "latencies_ms": r.latencies_ms, "errors": r.errors} for r in results]
            )
        )
        return 0 if all(not r.errors for r in results) else 1
    print(
        f"control-plane API bench — backend {args.backend}, {os.cpu_count()} CPUs, Python "
        f"{platform.python_version()}, uvicorn 1 process, load from a second process on 127.0.0.1, "
        f"{args.threads} keep-alive connections, open loop, latency from scheduled start"
    )
    print(
        f"{'scenario':<10} {'target/s':>7} {'achieved/s':>9} {'count':>6} {'errors':>6} {'p50 ms':>8} {'p99 ms':>8}"
        f" {'max ms':>8} {'p99 svc ms':>10}"
    )
    for result in results:
        print(result.row())
        if result.errors:
            print(f"  unexpected statuses: {result.errors}")
    return 0 if all(not r.errors for r in results) else 1


def _compare_rate_limits(args: argparse.Namespace) -> int:
    """The read scenario's p99 with the rate limiters on and off, alternating runs in one invocation."""
    p99: dict[str, list[float]] = {"on": [], "off": []}
    for _ in range(2):
        for mode in ("on", "off"):
            out = subprocess.run(
                [
                    sys.executable,
                    __file__,
                    "--backend",
                    args.backend,
                    "--rate",
                    str(args.rate),
                    "--duration",
                    str(args.duration),
                    "--threads",
                    str(args.threads),
                    "--rate-limits",
                    mode,
                    "--json",
                ],
                capture_output=True,
                text=True,
                check=False,
                timeout=600,
            )
            if out.returncode != 0:
                print(out.stdout[-2000:], out.stderr[-2000:], file=sys.stderr)
                return 1
            read = next(r for r in json.loads(out.stdout.strip().splitlines()[-1]) if r["scenario"] == "read")
            p99[mode].append(Result.percentile(read["latencies_ms"], 0.99))
    on, off = min(p99["on"]), min(p99["off"])
    print(
        f"rate-limiter cost, read at {args.rate:g} req/s, backend {args.backend}, {os.cpu_count()} CPUs, "
        f"load average {os.getloadavg()[0]:.1f}: p99 on {p99['on']} ms, off {p99['off']} ms; "
        f"best of each: on {on:.2f} ms, off {off:.2f} ms, cost {100 * (on - off) / off:+.1f}% of p99"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
