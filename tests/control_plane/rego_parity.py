"""Evaluate ``control_plane/authz/policy.rego`` with regopy (an embedded Rego interpreter) next to policy.py."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

from control_plane.authz.policy import decide as python_decide
from control_plane.authz.policy import export_data

REGO = Path(__file__).resolve().parents[2] / "control_plane" / "authz" / "policy.rego"


@lru_cache(maxsize=1)
def _interpreter() -> Any:
    from regopy import Interpreter

    interpreter = Interpreter()
    interpreter.add_module("policy.rego", REGO.read_text())
    interpreter.add_data(export_data())
    return interpreter


def rego_decide(inp: dict[str, Any]) -> dict[str, Any]:
    """``data.lakehouse.authz.decision`` for ``inp``, as OPA's ``{"result": {...}}``; raises on a Rego error."""
    interpreter = _interpreter()
    interpreter.set_input(inp)
    output = interpreter.query("data.lakehouse.authz.decision")
    text = str(output)
    try:
        parsed = json.loads(text)
    except ValueError:
        raise AssertionError(f"policy.rego failed on {inp}: {text[:2000]}") from None
    expressions = parsed.get("expressions") or []
    if len(expressions) != 1 or not isinstance(expressions[0], dict):
        raise AssertionError(f"policy.rego gave no decision for {inp}: {text[:2000]}")
    return {"result": expressions[0]}


def _normalized(reasons: list[str]) -> list[str]:
    # Python quotes values with repr(); Rego's sprintf("%v") does not, and spells None as null.
    return sorted(r.replace("'", "").replace("None", "null") for r in reasons)


def assert_same_decision(inp: dict[str, Any], python: dict[str, Any] | None = None) -> dict[str, Any]:
    """Decide ``inp`` with both engines; fail unless they agree on allow and (when denied) on the reasons."""
    python = python or python_decide(inp)
    rego = rego_decide(inp)
    assert rego["result"]["allow"] is python["result"]["allow"], (inp, python, rego)
    if not python["result"]["allow"]:
        assert _normalized(rego["result"]["reasons"]) == _normalized(python["result"]["reasons"]), (
            inp,
            python,
            rego,
        )
    return python
