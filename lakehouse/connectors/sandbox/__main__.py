"""``python -m lakehouse.connectors.sandbox``: run a seeded sandbox in the foreground (see ``lakehouse sandbox``)."""

from __future__ import annotations

import argparse
import json
import signal
import sys
from collections.abc import Sequence

from lakehouse.connectors.sandbox import DEMO_TENANTS, Faults, demo_state, parse_tenants
from lakehouse.connectors.sandbox.server import SandboxServer


def _interrupt(*_: object) -> None:
    raise KeyboardInterrupt


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lakehouse.connectors.sandbox", description=__doc__)
    parser.add_argument("--port", type=int, default=4580)
    parser.add_argument("--tenant", action="append", default=[], help="NAME[=OPPORTUNITIES] (repeatable)")
    parser.add_argument("--throttle-rate", type=float, default=0.0)
    parser.add_argument("--error-rate", type=float, default=0.0)
    parser.add_argument("--latency-ms", type=float, default=0.0)
    parser.add_argument("--ready-json", action="store_true", help="print one JSON line with url and tenants")
    args = parser.parse_args(argv)
    tenants = parse_tenants(list(args.tenant)) if args.tenant else DEMO_TENANTS
    server = SandboxServer(
        demo_state(tenants),
        port=args.port,
        faults=Faults(args.throttle_rate, args.error_rate, args.latency_ms),
    )
    signal.signal(signal.SIGTERM, _interrupt)
    if args.ready_json:
        print(
            json.dumps(
                {"url": server.url, "tenants": [a.credentials() for a in server.state.tenants.values()]}
            ),
            flush=True,
        )
    else:
        print(f"Partner Central sandbox listening on {server.url}", flush=True)
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
