"""Runs every conformance case on embedded Sail and prints the results as JSON (started by the classic test)."""

from __future__ import annotations

import json


def main() -> None:
    from lakehouse.engine import get_spark
    from tests.classic.cases import CASES, result

    spark = get_spark()
    print(json.dumps({name: result(case(spark)) for name, case in CASES.items()}))


if __name__ == "__main__":
    main()
