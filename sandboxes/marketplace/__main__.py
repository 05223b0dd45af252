"""``python -m sandboxes.marketplace``: run the seeded Marketplace sandbox in the foreground."""

from __future__ import annotations

import sys
from collections.abc import Sequence

from sandboxes._http import command_line, faults_of, serve_foreground
from sandboxes.marketplace import demo_state
from sandboxes.marketplace.server import MarketplaceSandbox


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the options, seed the demo world and serve until interrupted."""
    args = command_line("python -m sandboxes.marketplace", __doc__, port=4700).parse_args(argv)
    state, world = demo_state()
    server = MarketplaceSandbox(state, port=args.port, faults=faults_of(args))
    ready = {
        "url": server.url,
        "sellers": [s.credentials() for s in state.sellers.values()],
        "platform_product_code": world.platform_product_code,
        "buyers": world.buyers,
    }
    banner = f"Marketplace sandbox listening on {server.url}"
    return serve_foreground(server, ready if args.ready_json else None, banner)


if __name__ == "__main__":
    sys.exit(main())
