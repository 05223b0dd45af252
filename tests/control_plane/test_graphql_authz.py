"""The REST authorization matrix re-run through GraphQL: every (caller, operation, tenant) gets the same decision
(allowed, 403 ↔ FORBIDDEN, 404 ↔ NOT_FOUND) and, when allowed, the same rows; tenant isolation holds for every
field of the schema. Both backends (the ``client`` fixture runs on SQLite and on PostgreSQL with RLS)."""

from __future__ import annotations

from typing import Any

import pytest
from graphql import GraphQLObjectType, get_named_type

from control_plane.authz.policy import CLASSIFICATIONS
from control_plane.graphql.router import schema
from tests.control_plane.conftest import make_tree
from tests.control_plane.graphql_helpers import codes, gql, outcome_of_graphql, outcome_of_rest

pytestmark = pytest.mark.slow  # the whole REST matrix again through GraphQL: left out of `make test-fast`

TENANT_ROLES = ("tenant_admin", "approver", "analyst", "viewer", "service")

# REST GET path ↔ GraphQL selection; {t} is the target tenant, {a} an approval of it. The last two items say how
# to compare allowed answers: the REST body's key field and the GraphQL field holding the same values.
TENANT_OPERATIONS: list[tuple[str, str, str | None, str]] = [
    ("/tenants/{t}", 'tenant(id: "{t}") { id }', "id", "tenant"),
    ("/tenants/{t}/users", 'tenant(id: "{t}") { users { id } }', "id", "tenant.users"),
    ("/tenants/{t}/api-keys", 'tenant(id: "{t}") { apiKeys { id } }', "id", "tenant.apiKeys"),
    ("/tenants/{t}/quotas", 'tenant(id: "{t}") { quotas { resource } }', "resource", "tenant.quotas"),
    ("/tenants/{t}/audit", 'tenant(id: "{t}") { auditEntries { seq } }', "seq", "tenant.auditEntries"),
    ("/tenants/{t}/approvals", 'tenant(id: "{t}") { approvals { id } }', "id", "tenant.approvals"),
    (
        "/tenants/{t}/approval-policy",
        'tenant(id: "{t}") { approvalPolicy { mode } }',
        "mode",
        "tenant.approvalPolicy",
    ),
    ("/tenants/{t}/connectors", 'tenant(id: "{t}") { connectors { id } }', "id", "tenant.connectors"),
    ("/approvals/{a}", 'approval(id: "{a}") { id }', "id", "approval"),
    (
        "/tenants/{t}/metrics",
        'tenant(id: "{t}") { metricDefinitions { name } }',
        "name",
        "tenant.metricDefinitions",
    ),
    (
        "/tenants/{t}/metrics/win_rate",
        'tenant(id: "{t}") { metrics(names: ["win_rate"]) { value } }',
        "value",
        "tenant.metrics",
    ),
    (
        "/tenants/{t}/metrics/expected_monthly_spend_usd",
        'tenant(id: "{t}") { metrics(names: ["expected_monthly_spend_usd"]) { value } }',
        "value",
        "tenant.metrics",
    ),
]
GLOBAL_OPERATIONS: list[tuple[str, str, str | None, str]] = [
    ("/tenants?limit=500", "tenants(limit: 500) { id }", "id", "tenants"),
    ("/plans", "plans { id }", "id", "plans"),
    ("/registry/modules", "modules { name version }", "name", "modules"),
    ("/authz/policy", "policy", None, "policy"),
    ("/auth/whoami", "me { subject }", "subject", "me"),
]


def _request_approval(client, admin, tenant: str) -> str:
    body = {
        "tenant_id": tenant,
        "action": "partner_central.update_opportunity",
        "payload": {
            "catalog": "Sandbox",
            "opportunity_id": "O3000000001",
            "last_modified_date": "2026-01-02T03:04:05.678Z",
            "changes": {"LifeCycle": {"NextSteps": "Call the CFO"}},
        },
        "reason": "matrix",
    }
    resp = client.post("/approvals", json=body, headers=admin)
    assert resp.status_code == 201, resp.text
    return resp.json()["id"]


@pytest.fixture(scope="module")
def matrix(client, admin):
    """Tree X (a key per tenant role at the org, a user, an approval per level) and tree Y (another tenant)."""
    x = make_tree(client, admin, roles=TENANT_ROLES, levels=("org",))
    y = make_tree(client, admin, levels=("workspace",))
    for tenant in (x.org, x.workspace):
        resp = client.put(
            f"/tenants/{tenant}/users/u1",
            json={"email": "u@example.com", "display_name": "U", "role": "viewer"},
            headers=admin,
        )
        assert resp.status_code == 201, resp.text
    approvals = {
        t: _request_approval(client, admin, t) for t in (x.enterprise, x.org, x.workspace, y.workspace)
    }
    token = client.post("/auth/token", json={}, headers=x.h("org")).json()["access_token"]
    callers = {role: x.h("org", role) for role in TENANT_ROLES}
    callers["platform_admin"] = admin
    callers["tenant_admin (bearer token)"] = {"Authorization": f"Bearer {token}"}
    targets = {
        "ancestor": x.enterprise,
        "own": x.org,
        "descendant": x.workspace,
        "other tree": y.workspace,
    }
    return callers, targets, approvals


def _fill(template: str, **values: str) -> str:
    """``template`` with each ``{name}`` replaced (GraphQL's own braces left alone)."""
    for name, value in values.items():
        template = template.replace("{" + name + "}", value)
    return template


def _at(data: Any, path: str) -> Any:
    for part in path.split("."):
        data = None if data is None else data[part]
    return data


def _keys(value: Any, key: str | None) -> Any:
    """The compared projection of an allowed answer: key values of a list or object, or the value itself."""
    if key is None:
        return value
    if isinstance(value, list):
        return [_camel(item, key) for item in value]
    return _camel(value, key)


def _camel(item: dict[str, Any], key: str) -> Any:
    parts = key.split("_")
    return item.get(key, item.get(parts[0] + "".join(p.title() for p in parts[1:])))


def _compare(
    client, headers, rest_path: str, query: str, key: str | None, field: str
) -> tuple[str, list[str]]:
    """REST's decision, and the mismatches between the REST and the GraphQL answer (none when they agree)."""
    resp = client.get(rest_path, headers=headers)
    rest = outcome_of_rest(resp.status_code)
    answer = gql(client, headers, "{ " + query + " }")
    graph = outcome_of_graphql(answer)
    if rest != graph:
        return rest, [
            f"{rest_path}: REST {rest} ({resp.status_code}), GraphQL {graph} ({answer.get('errors')})"
        ]
    graph_value = _at(answer["data"], field)
    if isinstance(resp.json(), dict) and isinstance(graph_value, list) and len(graph_value) == 1:
        graph_value = graph_value[0]  # one metric row: REST answers it as an object
    if rest == "allow" and _keys(resp.json(), key) != _keys(graph_value, key):
        return rest, [
            f"{rest_path}: REST answered {_keys(resp.json(), key)}, GraphQL {_at(answer['data'], field)}"
        ]
    if rest == "forbidden":
        reasons = answer["errors"][0]["extensions"].get("reasons")
        if reasons != resp.json()["reasons"]:
            return rest, [f"{rest_path}: REST reasons {resp.json()['reasons']}, GraphQL {reasons}"]
    return rest, []


@pytest.mark.parametrize(
    "rest_path,query,key,field", TENANT_OPERATIONS, ids=[o[0] for o in TENANT_OPERATIONS]
)
def test_every_caller_gets_the_same_decision_on_every_tenant(client, matrix, rest_path, query, key, field):
    callers, targets, approvals = matrix
    mismatches: list[str] = []
    decisions: set[str] = set()
    for caller, headers in callers.items():
        for where, tenant in targets.items():
            path = _fill(rest_path, t=tenant, a=approvals[tenant])
            decision, found = _compare(
                client, headers, path, _fill(query, t=tenant, a=approvals[tenant]), key, field
            )
            mismatches += [f"{caller} on {where} tenant: {m}" for m in found]
            decisions.add(decision)
    assert mismatches == []
    assert "allow" in decisions and decisions & {"forbidden", "not_found"}, decisions  # the case can fail


@pytest.mark.parametrize(
    "rest_path,query,key,field", GLOBAL_OPERATIONS, ids=[o[0] for o in GLOBAL_OPERATIONS]
)
def test_every_caller_gets_the_same_decision_on_platform_wide_reads(
    client, matrix, rest_path, query, key, field
):
    callers, _, _ = matrix
    mismatches: list[str] = []
    for caller, headers in callers.items():
        mismatches += [f"{caller}: {m}" for m in _compare(client, headers, rest_path, query, key, field)[1]]
    assert mismatches == []


# The REST matrix of tests/control_plane/test_authz.py::test_routes_refuse_roles_the_policy_does_not_grant, case by
# case, with its GraphQL question. POST /registry/modules has none: the gateway is read-only (no Mutation type).
REST_MATRIX = [
    ("viewer", "/tenants/{ws}/users", 'tenant(id: "{ws}") { users { id } }', "forbidden"),
    ("viewer", "/tenants/{ws}/quotas", 'tenant(id: "{ws}") { quotas { resource } }', "forbidden"),
    ("analyst", "/tenants/{ws}/quotas", 'tenant(id: "{ws}") { quotas { resource } }', "allow"),
    ("analyst", "/tenants/{ws}/audit", 'tenant(id: "{ws}") { auditEntries { seq } }', "forbidden"),
    ("approver", "/tenants/{ws}/audit", 'tenant(id: "{ws}") { auditEntries { seq } }', "allow"),
    ("approver", "/tenants/{ws}/api-keys", 'tenant(id: "{ws}") { apiKeys { id } }', "allow"),
    ("service", "/tenants/{ws}/api-keys", 'tenant(id: "{ws}") { apiKeys { id } }', "forbidden"),
    ("viewer", "/registry/modules", "modules { name }", "allow"),
    ("viewer", "/authz/policy", "policy", "forbidden"),
]


@pytest.mark.parametrize(
    "role,rest_path,query,expected", REST_MATRIX, ids=[f"{c[0]} {c[1]}" for c in REST_MATRIX]
)
def test_the_rest_authz_matrix_decides_the_same_through_graphql(
    client, matrix, role, rest_path, query, expected
):
    callers, targets, _ = matrix
    ws = targets["descendant"]
    headers = {**callers[role], "X-Audit-Reason": "r"}
    assert outcome_of_rest(client.get(_fill(rest_path, ws=ws), headers=headers).status_code) == expected
    assert outcome_of_graphql(gql(client, headers, "{ " + _fill(query, ws=ws) + " }")) == expected


def test_the_gateway_has_no_mutations_so_rest_writes_stay_the_only_writes():
    assert schema._schema.mutation_type is None and schema._schema.subscription_type is None


RUNS = "query($t: String!) { tenant(id: $t) { ingestionRuns { ingestionRunId } } }"
SPEND = 'query($t: String!) { tenant(id: $t) { metrics(names: ["expected_monthly_spend_usd"]) { value } } }'
APPROVAL = "query($a: String!) { approval(id: $a) { id } }"
PROFILE_STATS = "query($t: String!) { tenant(id: $t) { qualityProfiles { nullRate } } }"
PROFILE_VALUES = "query($t: String!) { tenant(id: $t) { qualityProfiles { topValues { value } } } }"


def test_lake_reads_follow_the_data_access_the_rest_api_reports(client, matrix):
    """ops tables (internal) are readable where /authz/data-access lists the tenant; confidential metrics and
    profile values only where its clearance reaches confidential."""
    callers, targets, _ = matrix
    mismatches = []
    for caller, headers in callers.items():
        access = client.get("/authz/data-access", headers=headers)
        assert access.status_code == 200, access.text
        clearance = {t["id"]: t["clearance"] for t in access.json()["tenants"]}
        for where, tenant in targets.items():
            runs = gql(client, headers, RUNS, {"t": tenant})
            readable = tenant in clearance
            if (outcome_of_graphql(runs) == "allow") != readable:
                mismatches.append(f"{caller} runs of {where}: data-access {readable}, GraphQL {runs}")
            stats = gql(client, headers, PROFILE_STATS, {"t": tenant})
            if (outcome_of_graphql(stats) == "allow") != readable:
                mismatches.append(
                    f"{caller} profile stats of {where}: data-access {readable}, GraphQL {stats}"
                )
            spend = gql(client, headers, SPEND, {"t": tenant})
            cleared = readable and CLASSIFICATIONS.index(clearance[tenant]) >= CLASSIFICATIONS.index(
                "confidential"
            )
            if (outcome_of_graphql(spend) == "allow") != cleared:
                mismatches.append(
                    f"{caller} spend of {where}: clearance {clearance.get(tenant)}, GraphQL {spend}"
                )
    assert mismatches == []


# --- isolation ----------------------------------------------------------------------------------------------


def _every_tenant_field() -> list[str]:
    """A selection of each field of ``Tenant`` (objects by ``__typename``): a new field is covered automatically."""
    tenant = schema._schema.type_map["Tenant"]
    assert isinstance(tenant, GraphQLObjectType)
    fields = []
    for name, field in tenant.fields.items():
        named = get_named_type(field.type)
        fields.append(f"{name} {{ __typename }}" if isinstance(named, GraphQLObjectType) else name)
    return fields


def test_tenant_a_reaches_nothing_of_tenant_b_through_any_field(client, admin):
    a = make_tree(client, admin, levels=("enterprise", "workspace"))
    b = make_tree(client, admin, levels=("workspace",))
    b_approval = _request_approval(client, admin, b.workspace)
    token = client.post("/auth/token", json={}, headers=a.h("enterprise")).json()["access_token"]
    every_field = "query($t: String!) { tenant(id: $t) { " + " ".join(_every_tenant_field()) + " } }"
    assert len(_every_tenant_field()) >= 23
    a_tenants = {a.enterprise, a.org, a.workspace}
    for caller in (a.h("enterprise"), a.h("workspace"), {"Authorization": f"Bearer {token}"}):
        for tenant in (b.enterprise, b.org, b.workspace):
            answer = gql(client, caller, every_field, {"t": tenant})
            assert answer["data"] == {"tenant": None} and codes(answer) == ["NOT_FOUND"], answer
        # The same selection on A's own workspace resolves every field (each one is reachable and allowed).
        own = gql(client, caller, every_field, {"t": a.workspace})
        assert "errors" not in own and own["data"]["tenant"]["id"] == a.workspace, own
        refused = gql(client, caller, APPROVAL, {"a": b_approval})
        assert refused["data"] == {"approval": None} and codes(refused) == ["NOT_FOUND"]
        # Everything A can list, with every nested list, belongs to A's tree.
        listed = gql(client, caller, "{ tenants(limit: 20) { id children(limit: 20) { id } parent { id } } }")
        seen = {t["id"] for t in listed["data"]["tenants"]}
        seen |= {c["id"] for t in listed["data"]["tenants"] for c in t["children"] or []}
        seen |= {t["parent"]["id"] for t in listed["data"]["tenants"] if t["parent"]}
        assert seen and seen <= a_tenants, seen
    # B's own admin reads what A was refused (the resources exist).
    answer = gql(client, b.h("workspace"), APPROVAL, {"a": b_approval})
    assert answer == {"data": {"approval": {"id": b_approval}}}
