"""``python -m sandboxes.bedrock``: run the Bedrock Runtime emulator in the foreground."""

from __future__ import annotations

import sys
from collections.abc import Sequence

from sandboxes._http import command_line, faults_of, serve_foreground
from sandboxes.bedrock.server import DEFAULT_ACCOUNT, BedrockSandbox


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the options and serve until interrupted."""
    parser = command_line("python -m sandboxes.bedrock", __doc__, port=4590)
    args = parser.parse_args(argv)
    server = BedrockSandbox(port=args.port, faults=faults_of(args))
    ready = {"url": server.url, **DEFAULT_ACCOUNT.credentials()}
    return serve_foreground(
        server, ready if args.ready_json else None, f"Bedrock Runtime sandbox on {server.url}"
    )


if __name__ == "__main__":
    sys.exit(main())
