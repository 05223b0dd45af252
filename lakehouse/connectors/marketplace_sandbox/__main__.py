"""``python -m lakehouse.connectors.marketplace_sandbox``: run the seeded Marketplace sandbox in the foreground."""

from __future__ import annotations

import argparse
import json
import signal
import sys
from collections.abc import Sequence

from lakehouse.connectors.marketplace_sandbox import Faults, demo_state
from lakehouse.connectors.marketplace_sandbox.server import MarketplaceSandbox


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m lakehouse.connectors.marketplace_sandbox", description=__doc__
    )
    parser.add_argument("--port", type=int, default=4700)
    parser.add_argument("--throttle-rate", type=float, default=0.0)
    parser.add_argument("--error-rate", type=float, default=0.0)
    parser.add_argument("--latency-ms", type=float, default=0.0)
    parser.add_argument("--ready-json", action="store_true", help="print one JSON line: url, sellers, buyers")
    args = parser.parse_args(argv)
    state, world = demo_state()
    server = MarketplaceSandbox(
        state, port=args.port, faults=Faults(args.throttle_rate, args.error_rate, args.latency_ms)
    )
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    if args.ready_json:
        print(
            json.dumps(
                {
                    "url": server.url,
                    "sellers": [s.credentials() for s in state.sellers.values()],
                    "platform_product_code": world.platform_product_code,
                    "buyers": world.buyers,
                }
            ),
            flush=True,
        )
    else:
        print(f"Marketplace sandbox listening on {server.url}", flush=True)
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
