"""The core imports no heavy ML library: they come with the [ml] extra and load only when used."""

from __future__ import annotations

import subprocess
import sys

HEAVY = ("torch", "sentence_transformers", "sklearn", "lancedb", "transformers")


def test_importing_the_platinum_layer_and_the_cli_loads_no_ml_library() -> None:
    code = (
        "import sys, lakehouse.cli, lakehouse.catalog as c, lakehouse.platinum.steps, lakehouse.platinum.retrieval; "
        "c.all_tables(); "
        f"print(','.join(m for m in {HEAVY!r} if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert out.stdout.strip() == ""
