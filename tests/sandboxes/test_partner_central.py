"""The Partner Central sandbox behaves like the service: protocol, validation, identity, state and faults."""

from __future__ import annotations

import json
from pathlib import Path

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from sandboxes.partner_central import PLATFORM_ACCESS_KEY, PLATFORM_SECRET, Faults
from sandboxes.partner_central.server import validate_output

from .conftest import boto_client

FIXTURES = Path(__file__).resolve().parents[2] / "sandboxes" / "partner_central" / "fixtures"
SAMPLES = Path(__file__).resolve().parents[1] / "fixtures" / "partner_central"


def raw_body(client) -> dict:
    """Capture each response's raw bytes (after-call hook) so tests can compare wire bodies."""
    seen: dict = {}
    client.meta.events.register(
        "after-call.partnercentral-selling",
        lambda http_response, model, **_: seen.__setitem__(model.name, http_response.content),
    )
    return seen


def test_packaged_fixtures_are_byte_copies_of_the_aws_samples():
    for name in (
        "get_opportunity_response.json",
        "list_opportunities_response.json",
        "create_opportunity_request.json",
    ):
        assert (FIXTURES / name).read_bytes() == (SAMPLES / name).read_bytes(), name


def test_fixture_get_opportunity_is_served_byte_for_byte(sandbox):
    client = boto_client(sandbox, "acme")
    bodies = raw_body(client)
    parsed = client.get_opportunity(Catalog="AWS", Identifier="O1111111")
    assert bodies["GetOpportunity"] == (FIXTURES / "get_opportunity_response.json").read_bytes()
    assert parsed["Customer"]["Account"]["CompanyName"] == "TestCompanyName"
    # the listing keeps the real quirks: another company name and "531.0" instead of "531"
    listing = client.list_opportunities(Catalog="AWS", Identifier=["O1111111"])["OpportunitySummaries"]
    assert listing[0]["Customer"]["Account"]["CompanyName"] == "TestAcessibleStatusApprovedStageLaunched"
    assert listing[0]["Project"]["ExpectedCustomerSpend"][0]["Amount"] == "531.0"


def test_seeded_payloads_conform_to_the_service_output_shapes(sandbox):
    client = boto_client(sandbox, "acme")
    bodies = raw_body(client)
    problems = []
    for page in client.get_paginator("list_opportunities").paginate(Catalog="Sandbox"):
        problems += validate_output("ListOpportunities", json.loads(bodies["ListOpportunities"]))
        for summary in page["OpportunitySummaries"]:
            client.get_opportunity(Catalog="Sandbox", Identifier=summary["Id"])
            problems += validate_output("GetOpportunity", json.loads(bodies["GetOpportunity"]))
    client.list_solutions(Catalog="Sandbox")
    problems += validate_output("ListSolutions", json.loads(bodies["ListSolutions"]))
    invitations = client.list_engagement_invitations(Catalog="Sandbox", ParticipantType="RECEIVER")
    problems += validate_output("ListEngagementInvitations", json.loads(bodies["ListEngagementInvitations"]))
    client.get_engagement_invitation(
        Catalog="Sandbox", Identifier=invitations["EngagementInvitationSummaries"][0]["Id"]
    )
    problems += validate_output("GetEngagementInvitation", json.loads(bodies["GetEngagementInvitation"]))
    client.list_engagements(Catalog="Sandbox")
    problems += validate_output("ListEngagements", json.loads(bodies["ListEngagements"]))
    assert problems == []


def test_a_malformed_request_is_rejected_with_the_aws_validation_exception(sandbox):
    client = boto_client(sandbox, "acme", parameter_validation=False)  # send what botocore would refuse
    with pytest.raises(ClientError) as caught:
        client.list_opportunities(
            Catalog="Sandbox",
            MaxResults=500,
            LifeCycleStage=["Won"],
            Identifier=["opp-1"],
            Sort={"SortBy": "LastModifiedDate"},
        )
    response = caught.value.response
    assert response["Error"]["Code"] == "ValidationException"
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert response["Reason"] == "REQUEST_VALIDATION_FAILED"
    assert sorted((e["FieldName"], e["Code"]) for e in response["ErrorList"]) == [
        ("Identifier[0]", "INVALID_STRING_FORMAT"),
        ("LifeCycleStage[0]", "INVALID_ENUM_VALUE"),
        ("MaxResults", "VALUE_OUT_OF_RANGE"),
        ("Sort.SortOrder", "REQUIRED_FIELD_MISSING"),
    ]
    assert client.exceptions.ValidationException is type(caught.value)
    assert sandbox.calls(kind="invalid") == 1
    assert sandbox.calls("ListOpportunities", kind="succeeded") == 0


def test_an_unknown_catalog_and_a_wrong_type_are_rejected(sandbox):
    client = boto_client(sandbox, "acme", parameter_validation=False)
    with pytest.raises(ClientError) as caught:
        client.get_opportunity(Catalog="Production", Identifier=12345)
    assert sorted((e["FieldName"], e["Code"]) for e in caught.value.response["ErrorList"]) == [
        ("Catalog", "INVALID_VALUE"),
        ("Identifier", "INVALID_VALUE"),
    ]


def test_each_tenant_sees_only_its_own_data(sandbox):
    acme, globex = boto_client(sandbox, "acme"), boto_client(sandbox, "globex")
    acme_ids = {
        s["Id"]
        for p in acme.get_paginator("list_opportunities").paginate(Catalog="Sandbox")
        for s in p["OpportunitySummaries"]
    }
    globex_ids = {
        s["Id"]
        for p in globex.get_paginator("list_opportunities").paginate(Catalog="Sandbox")
        for s in p["OpportunitySummaries"]
    }
    assert (len(acme_ids), len(globex_ids)) == (60, 25)
    assert acme_ids.isdisjoint(globex_ids)
    with pytest.raises(ClientError) as caught:
        globex.get_opportunity(Catalog="Sandbox", Identifier=min(acme_ids))
    assert caught.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_a_request_signed_with_the_wrong_secret_is_refused(sandbox):
    account = sandbox.state.tenants["acme"]
    forged = boto3.client(
        "partnercentral-selling",
        endpoint_url=sandbox.url,
        region_name="us-east-1",
        aws_access_key_id=account.access_key_id,
        aws_secret_access_key="not-the-secret",
        config=Config(retries={"total_max_attempts": 1}),
    )
    with pytest.raises(ClientError) as caught:
        forged.list_solutions(Catalog="Sandbox")
    assert caught.value.response["Error"]["Code"] == "InvalidSignatureException"
    unknown = boto3.client(
        "partnercentral-selling",
        endpoint_url=sandbox.url,
        region_name="us-east-1",
        aws_access_key_id="AKIANOBODY0000000000",
        aws_secret_access_key="x",
        config=Config(retries={"total_max_attempts": 1}),
    )
    with pytest.raises(ClientError) as caught:
        unknown.list_solutions(Catalog="Sandbox")
    assert caught.value.response["Error"]["Code"] == "UnrecognizedClientException"


def test_assume_role_needs_the_tenants_external_id(sandbox):
    account = sandbox.state.tenants["globex"]
    sts = boto3.client(
        "sts",
        endpoint_url=sandbox.url,
        region_name="us-east-1",
        aws_access_key_id=PLATFORM_ACCESS_KEY,
        aws_secret_access_key=PLATFORM_SECRET,
    )
    with pytest.raises(ClientError) as caught:
        sts.assume_role(RoleArn=account.role_arn, RoleSessionName="lakehouse", ExternalId="guess")
    assert caught.value.response["Error"]["Code"] == "AccessDenied"
    creds = sts.assume_role(
        RoleArn=account.role_arn, RoleSessionName="lakehouse", ExternalId=account.external_id
    )["Credentials"]
    assert creds["AccessKeyId"].startswith("ASIA")
    session_client = boto3.client(
        "partnercentral-selling",
        endpoint_url=sandbox.url,
        region_name="us-east-1",
        aws_access_key_id=creds["AccessKeyId"],
        aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds["SessionToken"],
    )
    listed = session_client.list_opportunities(Catalog="Sandbox", MaxResults=100)["OpportunitySummaries"]
    assert len(listed) == 25  # globex's data, and only globex's


def test_create_get_list_update_round_trip(sandbox):
    client = boto_client(sandbox, "acme")
    request = json.loads((FIXTURES / "create_opportunity_request.json").read_text())
    created = client.create_opportunity(**request)
    again = client.create_opportunity(**request)  # same ClientToken: the same opportunity
    assert again["Id"] == created["Id"]
    got = client.get_opportunity(Catalog="AWS", Identifier=created["Id"])
    assert got["Project"]["Title"] == "Some New Project Name"
    assert got["LifeCycle"]["ReviewStatus"] == "Pending Submission"
    newest = client.list_opportunities(
        Catalog="AWS", MaxResults=1, Sort={"SortBy": "LastModifiedDate", "SortOrder": "DESCENDING"}
    )
    assert newest["OpportunitySummaries"][0]["Id"] == created["Id"]
    updated = client.update_opportunity(
        Catalog="AWS",
        Identifier=created["Id"],
        LastModifiedDate=got["LastModifiedDate"],
        LifeCycle={"Stage": "Qualified", "TargetCloseDate": "2029-10-05"},
    )
    assert updated["LastModifiedDate"] > got["LastModifiedDate"]
    with pytest.raises(ClientError) as caught:  # a stale LastModifiedDate is a conflict
        client.update_opportunity(
            Catalog="AWS",
            Identifier=created["Id"],
            LastModifiedDate=got["LastModifiedDate"],
            LifeCycle={"Stage": "Committed"},
        )
    assert caught.value.response["Error"]["Code"] == "ConflictException"
    after = client.list_opportunities(
        Catalog="AWS",
        Sort={"SortBy": "LastModifiedDate", "SortOrder": "ASCENDING"},
        LastModifiedDate={"AfterLastModifiedDate": got["LastModifiedDate"]},
    )
    assert [s["Id"] for s in after["OpportunitySummaries"]] == [created["Id"]]
    assert after["OpportunitySummaries"][0]["LifeCycle"]["Stage"] == "Qualified"


def test_business_rules_answer_with_business_validation_failed(sandbox):
    client = boto_client(sandbox, "acme")
    with pytest.raises(ClientError) as caught:
        client.create_opportunity(
            Catalog="Sandbox", ClientToken="t-1", Customer={"Account": {"CompanyName": "X"}}
        )
    response = caught.value.response
    assert response["Reason"] == "BUSINESS_VALIDATION_FAILED"
    assert sorted(e["FieldName"] for e in response["ErrorList"]) == [
        "Project.CustomerBusinessProblem",
        "Project.Title",
    ]


def test_write_operations_for_the_approval_gated_writes(sandbox):
    client = boto_client(sandbox, "acme")
    request = json.loads((FIXTURES / "create_opportunity_request.json").read_text())
    opp = client.create_opportunity(**{**request, "Catalog": "Sandbox"})["Id"]
    solution = client.list_solutions(Catalog="Sandbox")["SolutionSummaries"][0]["Id"]
    client.associate_opportunity(
        Catalog="Sandbox",
        OpportunityIdentifier=opp,
        RelatedEntityType="Solutions",
        RelatedEntityIdentifier=solution,
    )
    assert client.get_opportunity(Catalog="Sandbox", Identifier=opp)["RelatedEntityIdentifiers"][
        "Solutions"
    ] == [solution]
    task = client.start_engagement_from_opportunity_task(
        Catalog="Sandbox", ClientToken="task-1", Identifier=opp, AwsSubmission={"InvolvementType": "Co-Sell"}
    )
    assert task["TaskStatus"] == "COMPLETE" and task["EngagementId"].startswith("eng-")
    tasks = client.list_engagement_from_opportunity_tasks(Catalog="Sandbox", OpportunityIdentifier=[opp])
    assert [t["TaskId"] for t in tasks["TaskSummaries"]] == [task["TaskId"]]
    assert (
        client.get_aws_opportunity_summary(Catalog="Sandbox", RelatedOpportunityIdentifier=opp)[
            "InvolvementType"
        ]
        == "Co-Sell"
    )
    with pytest.raises(ClientError) as caught:  # already submitted by the task
        client.submit_opportunity(Catalog="Sandbox", Identifier=opp, InvolvementType="Co-Sell")
    assert caught.value.response["ErrorList"][0]["Code"] == "INVALID_RESOURCE_STATE"
    pending = client.list_engagement_invitations(
        Catalog="Sandbox", ParticipantType="RECEIVER", Status=["PENDING"]
    )["EngagementInvitationSummaries"]
    before = len(list(sandbox.state.opportunity_ids("acme", "Sandbox")))
    client.accept_engagement_invitation(Catalog="Sandbox", Identifier=pending[0]["Id"])
    assert (
        len(list(sandbox.state.opportunity_ids("acme", "Sandbox"))) == before + 1
    )  # the referral's opportunity
    client.reject_engagement_invitation(
        Catalog="Sandbox", Identifier=pending[1]["Id"], RejectionReason="No fit"
    )
    got = client.get_engagement_invitation(Catalog="Sandbox", Identifier=pending[1]["Id"])
    assert (got["Status"], got["RejectionReason"]) == ("REJECTED", "No fit")


def test_pagination_does_not_skip_an_item_that_moves_to_the_end(sandbox):
    client = boto_client(sandbox, "acme")
    sort = {"SortBy": "LastModifiedDate", "SortOrder": "ASCENDING"}
    first = client.list_opportunities(Catalog="Sandbox", Sort=sort, MaxResults=20)
    moved = first["OpportunitySummaries"][0]["Id"]
    sandbox.state.touch_opportunities("acme", "Sandbox", ids=[moved])  # changes while we paginate
    seen = [s["Id"] for s in first["OpportunitySummaries"]]
    token = first["NextToken"]
    while token:
        page = client.list_opportunities(Catalog="Sandbox", Sort=sort, MaxResults=20, NextToken=token)
        seen += [s["Id"] for s in page["OpportunitySummaries"]]
        token = page.get("NextToken")
    assert len(set(seen)) == 60 and seen.count(moved) == 2 and seen[-1] == moved


def test_fault_injection_and_counters(sandbox):
    sandbox.set_faults(Faults(throttle_rate=1.0, operations=["ListSolutions"]))
    client = boto_client(sandbox, "acme")
    with pytest.raises(ClientError) as caught:
        client.list_solutions(Catalog="Sandbox")
    assert caught.value.response["Error"]["Code"] == "ThrottlingException"
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 429
    client.list_engagements(Catalog="Sandbox")  # other operations are served
    sandbox.set_faults(error_rate=1.0)
    with pytest.raises(ClientError) as caught:
        client.list_engagements(Catalog="Sandbox")
    assert caught.value.response["Error"]["Code"] == "InternalServerException"
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 500
    assert (
        sandbox.calls("ListSolutions", "acme", "throttled"),
        sandbox.calls("ListEngagements", "acme", "faults"),
        sandbox.calls("ListEngagements", "acme", "succeeded"),
        sandbox.calls(tenant="acme"),
    ) == (1, 1, 1, 3)


def _all_pages(client, **params) -> list[str]:
    ids, token = [], None
    while True:
        page = client.list_opportunities(
            Catalog="Sandbox", MaxResults=7, **params, **({"NextToken": token} if token else {})
        )
        ids += [s["Id"] for s in page["OpportunitySummaries"]]
        token = page.get("NextToken")
        if not token:
            return ids


@pytest.mark.parametrize(
    ("sort_by", "order"),
    [
        ("LastModifiedDate", "ASCENDING"),
        ("LastModifiedDate", "DESCENDING"),
        ("CustomerCompanyName", "DESCENDING"),
    ],
)
def test_filtered_listing_pages_through_exactly_what_a_plain_sort_gives(sandbox, sort_by, order):
    from datetime import UTC, datetime

    entries = list(sandbox.state.tenants["acme"].catalog("Sandbox").opportunities.values())
    stamps = sorted({e.lmd_us for e in entries})
    after, before = stamps[5], stamps[-5]
    stages = sorted({e.record["LifeCycle"]["Stage"] for e in entries})[:2]

    def key(e):
        if sort_by == "LastModifiedDate":
            return (e.lmd_us, e.id)
        return (e.record["Customer"]["Account"].get("CompanyName") or "", e.id)

    expected = [
        e.id
        for e in sorted(entries, key=key, reverse=order == "DESCENDING")
        if after < e.lmd_us < before and e.record["LifeCycle"]["Stage"] in stages
    ]
    got = _all_pages(
        boto_client(sandbox, "acme"),
        LastModifiedDate={
            "AfterLastModifiedDate": datetime.fromtimestamp(after / 1e6, UTC),
            "BeforeLastModifiedDate": datetime.fromtimestamp(before / 1e6, UTC),
        },
        LifeCycleStage=stages,
        Sort={"SortBy": sort_by, "SortOrder": order},
    )
    assert len(expected) > 7  # more than one page
    assert got == expected
