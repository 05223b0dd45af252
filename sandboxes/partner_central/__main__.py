"""``python -m sandboxes.partner_central``: run a seeded Partner Central sandbox in the foreground."""

from __future__ import annotations

import sys
from collections.abc import Sequence

from sandboxes._http import command_line, faults_of, serve_foreground
from sandboxes.partner_central import DEMO_TENANTS, demo_state, parse_tenants
from sandboxes.partner_central.server import AWS_QUOTAS, Quotas, SandboxServer

QUOTA_MODES = {"daily": Quotas(), "aws": AWS_QUOTAS, "off": Quotas(None, None, None, None)}


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the options, seed the tenants and serve until interrupted."""
    parser = command_line("python -m sandboxes.partner_central", __doc__, port=4580)
    parser.add_argument("--tenant", action="append", default=[], help="NAME[=OPPORTUNITIES] (repeatable)")
    parser.add_argument(
        "--quotas",
        choices=sorted(QUOTA_MODES),
        default="daily",
        help="daily: 100,000 reads / 10,000 writes per rolling 24 h per account (default); aws: also 10 reads/s and "
        "1 write/s; off: none (benchmarks that sync the same account several times)",
    )
    args = parser.parse_args(argv)
    tenants = parse_tenants(list(args.tenant)) if args.tenant else DEMO_TENANTS
    server = SandboxServer(
        demo_state(tenants), port=args.port, faults=faults_of(args), quotas=QUOTA_MODES[args.quotas]
    )
    ready = {"url": server.url, "tenants": [a.credentials() for a in server.state.tenants.values()]}
    banner = f"Partner Central sandbox listening on {server.url}"
    return serve_foreground(server, ready if args.ready_json else None, banner)


if __name__ == "__main__":
    sys.exit(main())
