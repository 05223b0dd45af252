"""Property-based fuzzing of the OpenAPI document (schemathesis): no 5xx, no undocumented status code, and
responses match their documented schemas and content types.

Bounded: a few positive and negative examples per operation (about 10 s per backend). Each operation's
strategy is driven with Hypothesis directly (``schemathesis.pytest.from_fixture`` does not run on pytest 9).
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

pytestmark = pytest.mark.slow  # over a second of work in all: left out of `make test-fast`

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


def _fuzz(app, headers: dict[str, str], examples: dict[GenerationMode, int]) -> tuple[int, list[str]]:
    """Fuzz every operation; return the number of calls and every failure found (not just the first)."""
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    failures: list[str] = []
    calls = 0
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) == len([m for ops in app.openapi()["paths"].values() for m in ops])
    for operation in operations:
        for mode, count in examples.items():

            @given(case=operation.as_strategy(generation_mode=mode))
            @settings(
                max_examples=count,
                deadline=None,
                derandomize=True,
                database=None,
                suppress_health_check=list(HealthCheck),
            )
            def run(case) -> None:
                nonlocal calls
                calls += 1
                case.call_and_validate(headers=headers, checks=CHECKS)

            try:
                run()
            except Unsatisfiable:
                pass  # nothing to make invalid (no parameters): the positive run covers the operation
            except Exception as exc:
                failures.append(f"{operation.method.upper()} {operation.path} [{mode.value}]: {exc}")
    return calls, failures


def test_api_conforms_to_its_openapi_as_platform_admin(app, admin):
    calls, failures = _fuzz(
        app, {**admin, "X-Audit-Reason": "fuzz"}, {GenerationMode.POSITIVE: 6, GenerationMode.NEGATIVE: 3}
    )
    assert failures == []
    assert calls >= 120


def test_api_conforms_to_its_openapi_as_a_tenant_admin(app, client, admin):
    from tests.control_plane.conftest import make_tree

    tree = make_tree(client, admin, levels=("org",))
    _, failures = _fuzz(app, {**tree.h("org"), "X-Audit-Reason": "fuzz"}, {GenerationMode.POSITIVE: 3})
    assert failures == []


def test_api_conforms_without_credentials(app):
    _, failures = _fuzz(app, {}, {GenerationMode.POSITIVE: 1})
    assert failures == []
