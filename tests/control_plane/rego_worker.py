"""Evaluates ``policy.rego`` with regopy for inputs read as JSON lines on stdin; one JSON decision per line out.

Runs in its own process: regopy's bundled native libraries abort the interpreter ("free(): invalid pointer")
when pyarrow is imported after them, which the rest of the test session does.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from control_plane.authz.policy import export_data

REGO = Path(__file__).resolve().parents[2] / "control_plane" / "authz" / "policy.rego"


def main() -> int:
    """Serve decisions until stdin closes; a Rego error is answered as ``{"error": ...}``."""
    from regopy import Interpreter

    interpreter = Interpreter()
    interpreter.add_module("policy.rego", REGO.read_text())
    interpreter.add_data(export_data())
    for line in sys.stdin:
        interpreter.set_input(json.loads(line))
        text = str(interpreter.query("data.lakehouse.authz.decision"))
        try:
            expressions = json.loads(text).get("expressions") or []
            answer = {"result": expressions[0]} if len(expressions) == 1 else {"error": text[:2000]}
        except ValueError:
            answer = {"error": text[:2000]}
        sys.stdout.write(json.dumps(answer) + "\n")
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
