"""Property-based fuzzing of the GraphQL gateway (schemathesis in GraphQL mode): generated queries of every root
field, as several callers, never get a 5xx, always get a GraphQL body, and never hit an unexpected exception.

The schema is loaded by introspection from the app itself (``schemathesis.graphql.from_asgi``); each field's
strategy is driven with Hypothesis directly, as tests/control_plane/test_fuzz.py does for the OpenAPI side.
schemathesis's ``not_a_server_error`` check counts *any* resolver error as a server error (its ST113), which
would fail every refused or not-found tenant the generator invents; the server-side failures here are HTTP 5xx
and masked resolver exceptions ("Unexpected error."), so the test checks exactly those.
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from tests.control_plane.conftest import make_tree

pytestmark = pytest.mark.slow
EXAMPLES = 15


def _fuzz(app, headers: dict[str, str]) -> tuple[int, list[str]]:
    """Fuzz every root field; the number of calls and every failure found (not just the first)."""
    schema = schemathesis.graphql.from_asgi("/graphql", app, headers=headers)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert {op.label for op in operations} >= {"Query.tenants", "Query.tenant", "Query.approval"}
    failures: list[str] = []
    calls = 0
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def run(case) -> None:
            nonlocal calls
            calls += 1
            response = case.call(headers=headers)
            assert response.status_code in (200, 400), (response.status_code, response.text)
            body = response.json()
            assert isinstance(body, dict) and set(body) <= {"data", "errors", "extensions"}, body
            unexpected = [e for e in body.get("errors") or [] if e["message"] == "Unexpected error."]
            assert unexpected == [], (case.body, unexpected)

        try:
            run()
        except Exception as exc:
            failures.append(f"{operation.label}: {exc}")
    return calls, failures


def test_no_generated_query_gets_a_server_error(app, client, admin):
    tree = make_tree(client, admin, roles=("tenant_admin", "viewer"), levels=("org",))
    callers = {
        "platform admin": admin,
        "tenant admin": tree.h("org"),
        "viewer": tree.h("org", "viewer"),
        "none": {},
    }
    for name, headers in callers.items():
        calls, failures = _fuzz(app, headers)
        assert failures == [], name
        assert calls >= 5 * EXAMPLES, (name, calls)
