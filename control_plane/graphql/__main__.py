"""``python -m control_plane.graphql [PATH]``: write the gateway's SDL (default docs/graphql.schema.graphql).

Strawberry prints the schema (``str(schema)``); its own ``strawberry export-schema`` command does the same but
needs the ``cli`` extra (libcst, uvicorn, websockets), which the API does not otherwise need.
"""

from __future__ import annotations

import sys
from pathlib import Path

from control_plane.graphql.router import schema

DEFAULT = Path("docs/graphql.schema.graphql")


def main(argv: list[str] | None = None) -> int:
    """Write the SDL; exit 2 when given more than one path or a path whose folder does not exist."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) > 1:
        print("usage: python -m control_plane.graphql [PATH]", file=sys.stderr)
        return 2
    path = Path(args[0]) if args else DEFAULT
    if not path.parent.is_dir():
        print(f"error: folder {path.parent} does not exist", file=sys.stderr)
        return 2
    path.write_text(str(schema) + "\n")
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
