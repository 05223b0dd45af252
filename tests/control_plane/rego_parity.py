"""Evaluate ``control_plane/authz/policy.rego`` with regopy (an embedded Rego interpreter) next to policy.py.

regopy runs in a worker process (``rego_worker.py``): loaded into the test process it makes a later pyarrow
import abort the whole session.
"""

from __future__ import annotations

import atexit
import json
import subprocess
import sys
from functools import lru_cache
from pathlib import Path
from typing import Any

from control_plane.authz.policy import decide as python_decide

REPO = Path(__file__).resolve().parents[2]


@lru_cache(maxsize=1)
def _worker() -> subprocess.Popen[str]:
    """One regopy worker process per test session (see rego_worker.py for why not in this process)."""
    worker = subprocess.Popen(
        [sys.executable, "-m", "tests.control_plane.rego_worker"],
        cwd=REPO,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    atexit.register(worker.kill)
    return worker


def rego_decide(inp: dict[str, Any]) -> dict[str, Any]:
    """``data.lakehouse.authz.decision`` for ``inp``, as OPA's ``{"result": {...}}``; fails on a Rego error."""
    worker = _worker()
    assert worker.stdin is not None and worker.stdout is not None
    worker.stdin.write(json.dumps(inp) + "\n")
    worker.stdin.flush()
    line = worker.stdout.readline()
    if not line:
        raise AssertionError(f"the regopy worker exited ({worker.poll()}) on {inp}")
    answer: dict[str, Any] = json.loads(line)
    if "error" in answer:
        raise AssertionError(f"policy.rego gave no decision for {inp}: {answer['error']}")
    return answer


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
