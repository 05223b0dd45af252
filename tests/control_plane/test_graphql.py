"""The GraphQL gateway: lake-backed fields read one tenant's rows, limits refuse before anything runs, errors
come in GraphQL's format, and the published SDL is the schema's."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from control_plane.graphql.limits import MAX_COST, MAX_DEPTH
from control_plane.graphql.router import schema
from lakehouse.ops import DQ_ISSUE, DQ_PROFILE, LINEAGE_EDGE
from lakehouse.partner_central.entities.bronze import INGESTION_RUN
from lakehouse.partner_central.entities.gold import ACE_FACTS
from tests.control_plane.conftest import make_tree
from tests.control_plane.graphql_helpers import codes, gql, ts, usd, write_rows

REPO = Path(__file__).resolve().parents[2]
SDL = REPO / "docs" / "graphql.schema.graphql"


@pytest.fixture
def lake_trees(client, admin, backend, monkeypatch):
    """Trees A and B (analyst and viewer keys at the workspace) with runs, issues, lineage and gold rows each;
    the semantic layer reads the lake root from the environment, so it points at the stack's lake."""
    from lakehouse.settings import get_settings

    monkeypatch.setenv("LAKEHOUSE_LAKE_ROOT", str(backend.lake_root))
    get_settings.cache_clear()
    a = make_tree(client, admin, roles=("tenant_admin", "analyst", "viewer"), levels=("workspace",))
    b = make_tree(client, admin, roles=("tenant_admin",), levels=("workspace",))
    for tree, tag in ((a, "a"), (b, "b")):
        t = tree.workspace
        write_rows(
            backend.lake_root,
            INGESTION_RUN,
            [
                {
                    "tenant_id": t,
                    "ingestion_run_id": f"{tag}-run-1",
                    "source": "partner-central",
                    "status": "succeeded",
                    "started_at": ts(1),
                    "finished_at": ts(1, 1),
                    "fetched": 10,
                    "landed": 9,
                    "rejected": 1,
                },
                {
                    "tenant_id": t,
                    "ingestion_run_id": f"{tag}-run-2",
                    "source": "file",
                    "status": "failed",
                    "started_at": ts(2),
                    "error": "bad file",
                },
            ],
        )
        write_rows(
            backend.lake_root,
            DQ_ISSUE,
            [
                {
                    "tenant_id": t,
                    "run_id": f"{tag}-run-1",
                    "table_name": "silver.opportunity",
                    "suite": "s",
                    "expectation": "id_not_null",
                    "action": "quarantine",
                    "unexpected_count": 2,
                    "element_count": 9,
                    "sample_keys": ["o-1", "o-2"],
                    "observed_at": ts(1, 2),
                    "severity": "warning",
                },
                {
                    "tenant_id": t,
                    "run_id": f"{tag}-run-2",
                    "table_name": "gold.ace_pipeline",
                    "suite": "g",
                    "expectation": "count_positive",
                    "action": "warn",
                    "unexpected_count": 1,
                    "element_count": 3,
                    "observed_at": ts(2, 2),
                },
            ],
        )
        write_rows(
            backend.lake_root,
            LINEAGE_EDGE,
            [
                {
                    "tenant_id": t,
                    "run_id": f"{tag}-p1",
                    "job_name": "silver",
                    "input_table": "bronze.x",
                    "input_version": 3,
                    "output_table": "silver.opportunity",
                    "output_version": 7,
                    "recorded_at": ts(3),
                },
                {
                    "tenant_id": t,
                    "run_id": f"{tag}-p1",
                    "job_name": "silver",
                    "input_table": "bronze.y",
                    "input_version": 1,
                    "output_table": "silver.opportunity",
                    "output_version": 7,
                    "recorded_at": ts(3),
                },
            ],
        )
        write_rows(
            backend.lake_root,
            DQ_PROFILE,
            [
                {
                    "tenant_id": t,
                    "run_id": f"{tag}-run-1",
                    "table_name": "silver.opportunity",
                    "table_version": 7,
                    "profiled_at": ts(1, 3),
                    "row_count": 9,
                    "rows_written": 9,
                    "column_name": column,
                    "data_type": kind,
                    "null_count": nulls,
                    "null_rate": nulls / 9,
                    "distinct_count": 3,
                    "distinct_rate": 3 / 9,
                    "min_value": low,
                    "max_value": high,
                    "quantiles": quantiles,
                    "top_values": top,
                }
                for column, kind, nulls, low, high, quantiles, top in (
                    ("amount", "decimal(18,2)", 1, "1.00", "90.00", [5.0, 20.0, 80.0], None),
                    ("stage", "string", 0, None, None, None, [{"value": f"{tag}-Prospect", "count": 6}]),
                )
            ],
        )
        spend = "100.50" if tag == "a" else "999.00"
        write_rows(
            backend.lake_root,
            ACE_FACTS,
            [
                {
                    "tenant_id": t,
                    "file_cluster": "c0",
                    "stage": stage,
                    "target_close_month": month,
                    "review_status": "Approved",
                    "stale": False,
                    "opportunity_count": count,
                    "usd_monthly_spend": None if amount is None else usd(amount),
                    "as_of_date": ts(6).date(),
                }
                for stage, month, count, amount in (
                    ("Prospect", "2026-12", 3, spend),
                    ("Qualified", "2026-12", 2, "10.25"),
                    ("Launched", "2026-11", 3, None),
                    ("Closed Lost", "2026-10", 1, None),
                )
            ],
        )
    yield a, b
    get_settings.cache_clear()


RUNS = "query($t: String!) { tenant(id: $t) { ingestionRuns { ingestionRunId status fetched error } } }"


def test_ingestion_runs_are_the_tenants_own_newest_first(client, lake_trees):
    a, _ = lake_trees
    answer = gql(client, a.h("workspace", "analyst"), RUNS, {"t": a.workspace})
    assert answer == {
        "data": {
            "tenant": {
                "ingestionRuns": [
                    {"ingestionRunId": "a-run-2", "status": "failed", "fetched": None, "error": "bad file"},
                    {"ingestionRunId": "a-run-1", "status": "succeeded", "fetched": 10, "error": None},
                ]
            }
        }
    }
    failed = gql(
        client,
        a.h("workspace", "analyst"),
        'query($t: String!) { tenant(id: $t) { ingestionRuns(status: "succeeded", limit: 5) { ingestionRunId } } }',
        {"t": a.workspace},
    )
    assert failed["data"]["tenant"]["ingestionRuns"] == [{"ingestionRunId": "a-run-1"}]


def test_quality_issues_filter_by_run_and_pipeline_runs_group_lineage(client, lake_trees):
    a, _ = lake_trees
    query = """query($t: String!) { tenant(id: $t) {
        qualityIssues(runId: "a-run-1") { runId tableName action unexpectedCount sampleKeys severity }
        all: qualityIssues { runId }
        pipelineRuns { runId jobName inputs { table version } outputs { table version } }
    } }"""
    data = gql(client, a.h("workspace", "viewer"), query, {"t": a.workspace})["data"]["tenant"]
    assert data["qualityIssues"] == [
        {
            "runId": "a-run-1",
            "tableName": "silver.opportunity",
            "action": "quarantine",
            "unexpectedCount": 2,
            "sampleKeys": ["o-1", "o-2"],
            "severity": "warning",
        }
    ]
    assert data["all"] == [{"runId": "a-run-2"}, {"runId": "a-run-1"}]
    assert data["pipelineRuns"] == [
        {
            "runId": "a-p1",
            "jobName": "silver",
            "inputs": [{"table": "bronze.x", "version": 3}, {"table": "bronze.y", "version": 1}],
            "outputs": [{"table": "silver.opportunity", "version": 7}],
        }
    ]


PROFILES = """query($t: String!) { tenant(id: $t) {
    qualityProfiles(tableName: "silver.opportunity") { ...stats columnName ... on QualityProfile { rowCount } }
} }
fragment stats on QualityProfile { runId nullRate distinctCount }"""
VALUES = """query($t: String!) { tenant(id: $t) {
    qualityProfiles(columnName: "stage") { columnName minValue topValues { value count } } } }"""


def test_profiles_read_the_asked_columns_and_values_need_confidential_clearance(client, lake_trees):
    a, _ = lake_trees
    stats = gql(client, a.h("workspace", "viewer"), PROFILES, {"t": a.workspace})
    assert stats["data"]["tenant"]["qualityProfiles"] == [
        {"runId": "a-run-1", "nullRate": 1 / 9, "distinctCount": 3, "columnName": "amount", "rowCount": 9},
        {"runId": "a-run-1", "nullRate": 0.0, "distinctCount": 3, "columnName": "stage", "rowCount": 9},
    ]
    refused = gql(client, a.h("workspace", "viewer"), VALUES, {"t": a.workspace})
    assert codes(refused) == ["FORBIDDEN"]
    assert refused["errors"][0]["extensions"]["reasons"] == [
        "role viewer is cleared up to internal, not confidential"
    ]
    values = gql(client, a.h("workspace", "analyst"), VALUES, {"t": a.workspace})
    assert values["data"]["tenant"]["qualityProfiles"] == [
        {"columnName": "stage", "minValue": None, "topValues": [{"value": "a-Prospect", "count": 6}]}
    ]


METRICS = """query($t: String!, $names: [String!], $by: [String!], $filters: [String!]) {
    tenant(id: $t) {
        metrics(names: $names, by: $by, filters: $filters) { metric format value dimensions { name value } }
    }
}"""


def test_metrics_come_from_the_semantic_layer_like_the_rest_route(client, lake_trees):
    a, _ = lake_trees
    headers = a.h("workspace", "analyst")
    answer = gql(
        client, headers, METRICS, {"t": a.workspace, "names": ["expected_monthly_spend_usd", "win_rate"]}
    )
    assert answer["data"]["tenant"]["metrics"] == [
        {"metric": "expected_monthly_spend_usd", "format": "usd", "value": 110.75, "dimensions": []},
        {"metric": "win_rate", "format": "percent", "value": 0.75, "dimensions": []},
    ]
    by_stage = gql(
        client, headers, METRICS, {"t": a.workspace, "names": ["opportunity_count"], "by": ["stage"]}
    )
    rows = [(m["dimensions"][0]["value"], m["value"]) for m in by_stage["data"]["tenant"]["metrics"]]
    assert rows == [("Closed Lost", 1.0), ("Launched", 3.0), ("Prospect", 3.0), ("Qualified", 2.0)]
    filtered = gql(
        client,
        headers,
        METRICS,
        {"t": a.workspace, "names": ["opportunity_count"], "filters": ["stage:eq:Prospect"]},
    )
    assert [m["value"] for m in filtered["data"]["tenant"]["metrics"]] == [3.0]
    # The same figures as GET /tenants/{id}/metrics/{name}.
    for name in ("expected_monthly_spend_usd", "win_rate", "opportunity_count"):
        rest = client.get(f"/tenants/{a.workspace}/metrics/{name}", headers=headers).json()
        one = gql(client, headers, METRICS, {"t": a.workspace, "names": [name]})["data"]["tenant"]["metrics"]
        assert [m["value"] for m in one] == [rest["value"]], name


def test_a_viewer_gets_no_confidential_metric(client, lake_trees):
    a, _ = lake_trees
    headers = a.h("workspace", "viewer")
    refused = gql(client, headers, METRICS, {"t": a.workspace, "names": ["expected_monthly_spend_usd"]})
    assert refused["data"] == {"tenant": {"metrics": None}}
    assert codes(refused) == ["FORBIDDEN"]
    assert refused["errors"][0]["extensions"]["reasons"] == [
        "role viewer is cleared up to internal, not confidential"
    ]
    assert refused["errors"][0]["path"] == ["tenant", "metrics"]
    unnamed = gql(client, headers, METRICS, {"t": a.workspace})["data"]["tenant"]["metrics"]
    assert "expected_monthly_spend_usd" not in {m["metric"] for m in unnamed}
    assert {m["metric"] for m in unnamed} >= {"win_rate", "opportunity_count"}


def test_bad_metric_input_is_answered_as_rest_answers_it(client, lake_trees):
    a, _ = lake_trees
    headers = a.h("workspace", "analyst")
    unknown = gql(client, headers, METRICS, {"t": a.workspace, "names": ["nope"]})
    assert codes(unknown) == ["NOT_FOUND"] and "nope" in unknown["errors"][0]["message"]
    assert client.get(f"/tenants/{a.workspace}/metrics/nope", headers=headers).status_code == 404
    dim = gql(client, headers, METRICS, {"t": a.workspace, "names": ["win_rate"], "by": ["stage"]})
    assert codes(dim) == ["BAD_REQUEST"] and "stage" in dim["errors"][0]["message"]
    bad = gql(client, headers, METRICS, {"t": a.workspace, "names": ["win_rate"], "filters": ["nonsense"]})
    assert codes(bad) == ["BAD_REQUEST"]


def test_metric_definitions_are_the_semantic_layers(client, lake_trees):
    from lakehouse import metrics

    a, _ = lake_trees
    query = "query($t: String!) { tenant(id: $t) { metricDefinitions { name table classification } } }"
    listed = gql(client, a.h("workspace", "viewer"), query, {"t": a.workspace})["data"]["tenant"]
    assert [d["name"] for d in listed["metricDefinitions"]] == [m.name for m in metrics.list_metrics()]
    spend = next(d for d in listed["metricDefinitions"] if d["name"] == "expected_monthly_spend_usd")
    assert spend == {
        "name": "expected_monthly_spend_usd",
        "table": "gold.ace_facts",
        "classification": "confidential",
    }


def test_a_tenant_without_lake_rows_has_empty_lists(client, admin):
    tree = make_tree(client, admin, levels=("workspace",))
    query = (
        "query($t: String!) { tenant(id: $t) { ingestionRuns { ingestionRunId } qualityIssues { runId } } }"
    )
    assert gql(client, tree.h("workspace"), query, {"t": tree.workspace}) == {
        "data": {"tenant": {"ingestionRuns": [], "qualityIssues": []}}
    }


# --- errors and limits -------------------------------------------------------------------------------------


def test_no_or_bad_credentials_are_a_graphql_unauthenticated_error(client):
    for headers in (None, {"X-API-Key": "lh.nobody.k.s"}, {"Authorization": "Bearer nope"}):
        answer = gql(client, headers, "{ me { subject } }")
        assert answer["data"] is None
        assert codes(answer) == ["UNAUTHENTICATED"]
        assert answer["errors"][0]["extensions"]["status"] == 401


def test_introspection_needs_no_credential(client):
    answer = gql(client, None, "{ __schema { queryType { name } } }")
    assert answer == {"data": {"__schema": {"queryType": {"name": "Query"}}}}


def test_pages_are_bounded_like_rest(client, admin):
    answer = gql(client, admin, "{ tenants(limit: 0) { id } }")
    assert codes(answer) == ["BAD_USER_INPUT"]
    assert answer["errors"][0]["extensions"]["problems"] == [
        {"loc": ["limit"], "msg": "limit must be between 1 and 500, not 0"}
    ]


def test_a_query_over_the_cost_limit_is_refused_before_it_runs(client, admin):
    costly = "{ tenants(limit: 500) { connectors(limit: 1000) { id } } }"
    answer = gql(client, admin, costly)
    assert answer["data"] is None
    assert codes(answer) == ["QUERY_TOO_COSTLY"]
    assert answer["errors"][0]["extensions"] == {
        "code": "QUERY_TOO_COSTLY",
        "cost": 1 + 500 * (1 + 1 + 1000),
        "maxCost": MAX_COST,
    }
    # The same shape with small pages passes, and variables count like literals.
    assert codes(gql(client, admin, "{ tenants(limit: 5) { connectors(limit: 5) { id } } }")) == []
    by_variable = gql(
        client, admin, "query($n: Int!) { tenants(limit: $n) { connectors(limit: $n) { id } } }", {"n": 1000}
    )
    assert codes(by_variable) == ["QUERY_TOO_COSTLY"]


def test_fragments_and_lake_fields_count_toward_the_cost(client, admin):
    query = """{ tenants(limit: 300) { ...lake } }
        fragment lake on Tenant { ingestionRuns { ingestionRunId } }"""
    answer = gql(client, admin, query)
    assert codes(answer) == ["QUERY_TOO_COSTLY"]
    assert answer["errors"][0]["extensions"]["cost"] == 1 + 300 * (1 + 10 + 20)


def test_a_query_deeper_than_the_limit_is_refused(client, admin):
    tree = make_tree(client, admin, levels=())
    shallow = "{ tenants(limit: 1) { " + "children(limit: 1) { " * (MAX_DEPTH - 2) + "id" + " }" * MAX_DEPTH
    assert codes(gql(client, admin, shallow)) == []
    deep = "{ tenants(limit: 1) { " + "children(limit: 1) { " * MAX_DEPTH + "id" + " }" * (MAX_DEPTH + 2)
    answer = gql(client, admin, deep)
    assert answer["data"] is None
    assert [e["message"] for e in answer["errors"]] == [
        f"'anonymous' exceeds maximum operation depth of {MAX_DEPTH}"
    ]
    # Within the depth, children really are the tree's
    down = gql(
        client,
        admin,
        "query($t: String!) { tenant(id: $t) { children(limit: 5) { id children(limit: 5) { id parent { id } } } } }",
        {"t": tree.enterprise},
    )
    assert down["data"]["tenant"]["children"] == [
        {"id": tree.org, "children": [{"id": tree.workspace, "parent": {"id": tree.org}}]}
    ]


def test_unexpected_failures_are_masked_and_only_they_are_logged(client, admin, monkeypatch, caplog):
    from control_plane.graphql import schema as gateway

    def broken(*args, **kwargs):
        raise RuntimeError("secret internals at /srv/db")

    caplog.set_level(logging.ERROR, logger="strawberry.execution")
    assert codes(gql(client, admin, '{ tenant(id: "no-such-tenant") { id } }')) == ["NOT_FOUND"]
    assert [r for r in caplog.records if r.name == "strawberry.execution"] == []
    monkeypatch.setattr(gateway.tenants, "list_tenants", broken)
    answer = gql(client, admin, "{ tenants { id } }")
    assert answer["errors"][0]["message"] == "Unexpected error."
    assert "secret" not in str(answer)
    logged = [r for r in caplog.records if r.name == "strawberry.execution"]
    assert len(logged) == 1 and "secret internals" in logged[0].getMessage()


def test_the_published_sdl_is_the_schemas():
    """Regenerate with: python -m control_plane.graphql"""
    assert SDL.read_text() == str(schema) + "\n", (
        "docs/graphql.schema.graphql is stale: run python -m control_plane.graphql"
    )


def test_the_typed_client_answers_data_and_raises_coded_errors(client, admin):
    from control_plane.client import ControlPlaneClient, GraphQLFailed

    tree = make_tree(client, admin, roles=("tenant_admin", "viewer"), levels=("workspace",))
    viewer = ControlPlaneClient(
        str(client.base_url), credential=tree.h("workspace", "viewer")["X-API-Key"], http=client
    )
    query = "query($t: String!) { tenant(id: $t) { id users { id } } }"
    with pytest.raises(GraphQLFailed) as refused:
        viewer.graphql(query, {"t": tree.workspace})
    assert refused.value.code == "FORBIDDEN" and refused.value.status == 403
    assert refused.value.reasons == ["role viewer may not users:read"]
    assert refused.value.data == {"tenant": {"id": tree.workspace, "users": None}}
    owner = viewer.as_caller(tree.h("workspace")["X-API-Key"])
    assert owner.graphql(query, {"t": tree.workspace}) == {"tenant": {"id": tree.workspace, "users": []}}
    with pytest.raises(GraphQLFailed) as missing:
        owner.graphql(query, {"t": "no-such-tenant"})
    assert missing.value.code == "NOT_FOUND" and missing.value.status == 404


def test_refused_fields_are_audited_in_the_callers_chain_like_rest_refusals(client, admin):
    tree = make_tree(client, admin, roles=("viewer",), levels=("org",))
    query = "query($t: String!) { tenant(id: $t) { id users { id } } }"
    answer = gql(client, {**tree.h("org", "viewer"), "X-Audit-Reason": "looking"}, query, {"t": tree.org})
    assert codes(answer) == ["FORBIDDEN"]
    chain = client.get(f"/tenants/{tree.org}/audit?limit=1000", headers=admin).json()
    denied = [e for e in chain if e["action"] == "request.denied.403"]
    assert [e["resource"] for e in denied] == ["POST /graphql tenant.users"]
    assert denied[0]["reason"] == "403: users:read refused (from testclient)"
    assert denied[0]["actor_role"] == "viewer"


def test_the_documented_example_queries_are_valid_and_within_the_limits():
    import re

    from graphql import parse, validate

    from control_plane.graphql.limits import query_cost

    text = (REPO / "docs" / "graphql.md").read_text()
    blocks = re.findall(r"```graphql\n(.*?)```", text, flags=re.DOTALL)
    assert len(blocks) == 1
    document = parse(blocks[0])
    assert validate(schema._schema, document) == []
    operations = [d for d in document.definitions if d.kind == "operation_definition"]
    assert len(operations) == 4
    for operation in operations:
        assert query_cost(schema._schema, operation, {}) <= MAX_COST


def test_a_metric_read_across_tenants_is_audited_as_the_rest_route_audits_it(client, admin):
    tree = make_tree(client, admin, levels=("enterprise",))
    query = 'query($t: String!) { tenant(id: $t) { metrics(names: ["opportunity_count"]) { value } } }'
    answer = gql(client, tree.h("enterprise"), query, {"t": tree.workspace})
    assert codes(answer) == []
    chain = client.get(f"/tenants/{tree.workspace}/audit?limit=1000", headers=admin).json()
    reads = [e["resource"] for e in chain if e["action"] == "metrics.read"]
    assert reads == [f"tenant/{tree.workspace}/metrics/opportunity_count"]
