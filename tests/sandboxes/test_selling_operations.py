"""Every Selling API operation answers in the sandbox, statefully, with bodies that match botocore's output shapes;
explicit nulls and members AWS ignores are accepted; the quotas and association limits are enforced."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import botocore.session
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from sandboxes.partner_central import SandboxState, serve_in_thread
from sandboxes.partner_central.server import Quotas, validate_output

FIXTURES = Path(__file__).resolve().parents[2] / "sandboxes" / "partner_central" / "fixtures"
ALL_OPERATIONS = set(
    botocore.session.get_session().get_service_model("partnercentral-selling").operation_names
)


class Recorder:
    """A boto3 client signed as one tenant that checks each response body against the operation's output shape."""

    def __init__(self, server: Any, tenant: str) -> None:
        account = server.state.tenants[tenant]
        self.client = boto3.client(
            "partnercentral-selling",
            endpoint_url=server.url,
            region_name="us-east-1",
            aws_access_key_id=account.access_key_id,
            aws_secret_access_key=account.secret_access_key,
            config=Config(retries={"total_max_attempts": 1}),
        )
        self.bodies: dict[str, bytes] = {}
        self.client.meta.events.register(
            "after-call.partnercentral-selling",
            lambda http_response, model, **_: self.bodies.__setitem__(model.name, http_response.content),
        )
        self.called: set[str] = set()
        self.problems: dict[str, list[dict[str, str]]] = {}

    def __call__(self, operation: str, **params: Any) -> dict[str, Any]:
        method = getattr(self.client, botocore.xform_name(operation))
        response: dict[str, Any] = method(**params)
        body = json.loads(self.bodies[operation] or b"{}")
        problems = validate_output(operation, body)
        if problems:
            self.problems[operation] = problems
        self.called.add(operation)
        return response


@pytest.fixture
def server():
    state = SandboxState(seed=5)
    state.seed_tenant("acme", opportunities=20, catalog="Sandbox", solutions=2, invitations=14, leads=4)
    state.seed_tenant("globex", opportunities=5, catalog="Sandbox", solutions=1, invitations=1)
    srv = serve_in_thread(state)
    yield srv
    srv.stop()


def _pending(call: Recorder) -> list[str]:
    listed = call(
        "ListEngagementInvitations",
        Catalog="Sandbox",
        ParticipantType="RECEIVER",
        Status=["PENDING"],
        PayloadType=["OpportunityInvitation"],
    )
    return [s["Id"] for s in listed["EngagementInvitationSummaries"]]


def test_every_selling_operation_answers_statefully_with_model_conformant_bodies(server):
    call = Recorder(server, "acme")
    cat = "Sandbox"
    request = json.loads((FIXTURES / "create_opportunity_request.json").read_text())
    # opportunities
    listed = call("ListOpportunities", Catalog=cat)["OpportunitySummaries"]
    call("GetOpportunity", Catalog=cat, Identifier=listed[0]["Id"])
    opp = call("CreateOpportunity", **{**request, "Catalog": cat})["Id"]
    got = call("GetOpportunity", Catalog=cat, Identifier=opp)
    call("UpdateOpportunity", Catalog=cat, Identifier=opp, LastModifiedDate=got["LastModifiedDate"],
         Project={"Title": "Renamed", "CustomerBusinessProblem": got["Project"]["CustomerBusinessProblem"]},
         Customer={"Account": {"CompanyName": "Renamed Co"}})  # fmt: skip
    solution = call("ListSolutions", Catalog=cat)["SolutionSummaries"][0]["Id"]
    call("AssociateOpportunity", Catalog=cat, OpportunityIdentifier=opp, RelatedEntityType="Solutions",
         RelatedEntityIdentifier=solution)  # fmt: skip
    call("DisassociateOpportunity", Catalog=cat, OpportunityIdentifier=opp, RelatedEntityType="Solutions",
         RelatedEntityIdentifier=solution)  # fmt: skip
    assert call("GetOpportunity", Catalog=cat, Identifier=opp)["RelatedEntityIdentifiers"]["Solutions"] == []
    assignee = {"Email": "owner@example.com", "FirstName": "Ann", "LastName": "Lee", "BusinessTitle": "PDM"}
    call("AssignOpportunity", Catalog=cat, Identifier=opp, Assignee=assignee)
    assert (
        call("GetOpportunity", Catalog=cat, Identifier=opp)["OpportunityTeam"][0]["Email"]
        == "owner@example.com"
    )
    call("SubmitOpportunity", Catalog=cat, Identifier=opp, InvolvementType="Co-Sell")
    summary = call("GetAwsOpportunitySummary", Catalog=cat, RelatedOpportunityIdentifier=opp)
    assert summary["Insights"]["EngagementScore"] in ("High", "Medium", "Low")
    assert summary["Insights"]["NextBestActions"] and summary["CosellMotion"] == "Partner Led"
    found = call("SearchOpportunities", Catalog=cat, Keyword="renamed")["OpportunitySearchSummaries"]
    assert [s["Id"] for s in found] == [opp]
    second = call("CreateOpportunity", **{**request, "Catalog": cat, "ClientToken": "second"})["Id"]
    task = call("StartEngagementFromOpportunityTask", Catalog=cat, ClientToken="t2", Identifier=second,
                AwsSubmission={"InvolvementType": "Co-Sell"})  # fmt: skip
    call("ListEngagementFromOpportunityTasks", Catalog=cat, TaskIdentifier=[task["TaskId"]])
    # engagements, contexts, leads
    project = {
        "Customer": {"Industry": "Retail", "CompanyName": "Shop Co", "WebsiteUrl": "www.shop.example",
                     "CountryCode": "US"},
        "Project": {"Title": "Shop migration", "BusinessProblem": "Shop Co needs to leave its datacenter.",
                    "TargetCompletionDate": "2030-01-31"},
    }  # fmt: skip
    eng = call("CreateEngagement", Catalog=cat, ClientToken="e1", Title="Shop Co", Description="co-sell",
               Contexts=[{"Type": "CustomerProject", "Payload": {"CustomerProject": project}}])  # fmt: skip
    assert call("CreateEngagement", Catalog=cat, ClientToken="e1", Title="Shop Co")["Id"] == eng["Id"]
    lead = {
        "QualificationStatus": "Qualified",
        "Customer": {"CompanyName": "Lead Co", "Industry": "Retail"},
        "Interactions": [{"SourceType": "Event", "SourceName": "Summit", "Usecase": "Analytics",
                          "BusinessProblem": "Lead Co wants analytics.",
                          "Contact": {"BusinessTitle": "CIO", "Email": "cio@lead.example", "FirstName": "Kim",
                                      "LastName": "Park"}}],
    }  # fmt: skip
    ctx = call("CreateEngagementContext", Catalog=cat, EngagementIdentifier=eng["Id"], ClientToken="c1",
               Type="Lead", Payload={"Lead": lead})  # fmt: skip
    with pytest.raises(
        ClientError
    ) as stale:  # UpdateEngagementContext needs the current EngagementLastModifiedAt
        call.client.update_engagement_context(Catalog=cat, EngagementIdentifier=eng["Id"],
                                              ContextIdentifier=ctx["ContextId"], Type="Lead",
                                              EngagementLastModifiedAt=eng["ModifiedAt"],
                                              Payload={"Lead": {"Customer": lead["Customer"], "QualificationStatus": "Converted"}})  # fmt: skip
    assert stale.value.response["Error"]["Code"] == "ConflictException"
    call("UpdateEngagementContext", Catalog=cat, EngagementIdentifier=eng["Id"], ContextIdentifier=ctx["ContextId"],
         Type="Lead", EngagementLastModifiedAt=ctx["EngagementLastModifiedAt"],
         Payload={"Lead": {"QualificationStatus": "Converted", "Customer": lead["Customer"],
                           "Interaction": lead["Interactions"][0]}})  # fmt: skip
    full = call("GetEngagement", Catalog=cat, Identifier=eng["Id"])
    assert [(c["Id"], c["Type"]) for c in full["Contexts"]] == [("1", "CustomerProject"), ("2", "Lead")]
    assert full["Contexts"][1]["Payload"]["Lead"]["QualificationStatus"] == "Converted"
    assert (
        len(full["Contexts"][1]["Payload"]["Lead"]["Interactions"]) == 2
    )  # the update's Interaction is added
    call("ListEngagements", Catalog=cat)
    assert [
        e["Id"]
        for e in call("SearchEngagements", Catalog=cat, Keyword="shop co")["EngagementSearchSummaries"]
    ] == [eng["Id"]]
    assert len(call("ListEngagementMembers", Catalog=cat, Identifier=eng["Id"])["EngagementMemberList"]) == 1
    call("CreateEngagementInvitation", Catalog=cat, ClientToken="i1", EngagementIdentifier=eng["Id"],
         Invitation={"Message": "Join us", "Receiver": {"Account": {"AwsAccountId": "123456789012"}},
                     "Payload": {"OpportunityInvitation": {"ReceiverResponsibilities": ["Co-Sell Facilitator"],
                                                           "Customer": project["Customer"],
                                                           "Project": {**project["Project"],
                                                                       "ExpectedCustomerSpend": [
                                                                           {"Amount": "100", "CurrencyCode": "USD",
                                                                            "Frequency": "Monthly",
                                                                            "TargetCompany": "AWS"}]}}}})  # fmt: skip
    converted = call("StartOpportunityFromEngagementTask", Catalog=cat, ClientToken="o1", Identifier=eng["Id"],
                     ContextIdentifier=ctx["ContextId"])  # fmt: skip
    assert converted["TaskStatus"] == "COMPLETE" and converted["OpportunityId"].startswith("O")
    call("ListOpportunityFromEngagementTasks", Catalog=cat, EngagementIdentifier=[eng["Id"]])
    associations = call("ListEngagementResourceAssociations", Catalog=cat, EngagementIdentifier=eng["Id"])
    assert [a["ResourceId"] for a in associations["EngagementResourceAssociationSummaries"]] == [
        converted["OpportunityId"]
    ]
    # resource snapshots and jobs
    snap = call("CreateResourceSnapshot", Catalog=cat, EngagementIdentifier=eng["Id"], ResourceType="Opportunity",
                ResourceIdentifier=second, ResourceSnapshotTemplateIdentifier="OpportunitySummaryView",
                ClientToken="s1")  # fmt: skip
    assert snap["Revision"] == 1
    call("GetResourceSnapshot", Catalog=cat, EngagementIdentifier=eng["Id"], ResourceType="Opportunity",
         ResourceIdentifier=second, ResourceSnapshotTemplateIdentifier="OpportunitySummaryView")  # fmt: skip
    call("ListResourceSnapshots", Catalog=cat, EngagementIdentifier=eng["Id"])
    job = call("CreateResourceSnapshotJob", Catalog=cat, ClientToken="j1", EngagementIdentifier=eng["Id"],
               ResourceType="Opportunity", ResourceIdentifier=second,
               ResourceSnapshotTemplateIdentifier="OpportunitySummaryView")  # fmt: skip
    call("StartResourceSnapshotJob", Catalog=cat, ResourceSnapshotJobIdentifier=job["Id"])
    assert (
        call("GetResourceSnapshotJob", Catalog=cat, ResourceSnapshotJobIdentifier=job["Id"])["Status"]
        == "Running"
    )
    with pytest.raises(ClientError) as running:
        call.client.delete_resource_snapshot_job(Catalog=cat, ResourceSnapshotJobIdentifier=job["Id"])
    assert running.value.response["Error"]["Code"] == "ConflictException"
    call("ListResourceSnapshotJobs", Catalog=cat, EngagementIdentifier=eng["Id"])
    call("StopResourceSnapshotJob", Catalog=cat, ResourceSnapshotJobIdentifier=job["Id"])
    call("DeleteResourceSnapshotJob", Catalog=cat, ResourceSnapshotJobIdentifier=job["Id"])
    revisions = call("ListResourceSnapshots", Catalog=cat, EngagementIdentifier=eng["Id"])
    assert [r["Revision"] for r in revisions["ResourceSnapshotSummaries"]] == [1, 2]
    # invitations received
    pending = _pending(call)
    call("GetEngagementInvitation", Catalog=cat, Identifier=pending[0])
    accepted = call(
        "StartEngagementByAcceptingInvitationTask", Catalog=cat, ClientToken="a1", Identifier=pending[0]
    )
    assert accepted["TaskStatus"] == "COMPLETE" and accepted["OpportunityId"].startswith("O")
    call("ListEngagementByAcceptingInvitationTasks", Catalog=cat, EngagementInvitationIdentifier=[pending[0]])
    call("AcceptEngagementInvitation", Catalog=cat, Identifier=pending[1])
    call("RejectEngagementInvitation", Catalog=cat, Identifier=pending[2], RejectionReason="No capacity")
    # prospecting, groups
    prospect = call("StartProspectingFromEngagementTask", Catalog=cat, Identifiers=[eng["Id"]], TaskName="wave-1",
                    ClientToken="p1")  # fmt: skip
    assert (
        call("GetProspectingFromEngagementTask", Catalog=cat, TaskIdentifier=prospect["TaskId"])[
            "Engagements"
        ][0]["Status"]
        == "COMPLETED"
    )
    call("ListProspectingFromEngagementTasks", Catalog=cat)
    call("ListEngagementGroups", Catalog=cat)
    # customer accounts and their bulk jobs
    account = call("CreateCustomerAccount", Catalog=cat, ClientToken="ca1",
                   Account={"CompanyName": "Acct Co", "WebsiteUrl": "www.acct.example"})  # fmt: skip
    got_account = call("GetCustomerAccount", Catalog=cat, Identifier=account["Id"])
    call("UpdateCustomerAccount", Catalog=cat, Identifier=account["Id"], LastModifiedDate=got_account["LastModifiedDate"],
         Account={"CompanyName": "Acct Co", "Industry": "Retail"})  # fmt: skip
    assert [s["Id"] for s in call("SearchCustomerAccounts", Catalog=cat)["CustomerAccountSummaries"]] == [
        account["Id"]
    ]
    assert call("GetCustomerAccountStatistics", Catalog=cat)["TotalCount"] == 1
    server.state.put_file(
        "s3://in/accounts.csv", b'RequestId,Payload\nr1,"{""CompanyName"": ""Bulk Co""}"\nr2,"{}"\n'
    )
    acc_job = call(
        "StartCustomerAccountBulkJob", Catalog=cat, ClientToken="cab1", FileUri="s3://in/accounts.csv"
    )
    assert call("GetCustomerAccountBulkJob", Catalog=cat, Identifier=acc_job["Id"])["FailureCount"] == 1
    call("ListCustomerAccountBulkJobs", Catalog=cat)
    call("ListCustomerAccountBulkJobResults", Catalog=cat, Identifier=acc_job["Id"])
    call("GetCustomerAccountBulkJobReportUrl", Catalog=cat, Identifier=acc_job["Id"])
    call("DeleteCustomerAccount", Catalog=cat, Identifier=account["Id"])
    # opportunity bulk job
    csv_text = (
        "RequestId,Operation,Identifier,LastModifiedDate,Payload\n"
        'r1,CREATE,,,"{""Customer"": {""Account"": {""CompanyName"": ""Bulk A""}}, ""Project"": {""Title"": ""A"", '
        '""CustomerBusinessProblem"": ""Bulk A needs help with its data.""}}"\n'
        'r2,CREATE,,,"{""Customer"": {""Account"": {""CompanyName"": ""Bulk B""}}}"\n'
    )
    server.state.put_file("s3://in/opps.csv", csv_text.encode())
    bulk = call(
        "StartOpportunityBulkJob", Catalog=cat, ClientToken="b1", FileURI="s3://in/opps.csv", FileFormat="CSV"
    )
    jobs = call("ListOpportunityBulkJobs", Catalog=cat)["OpportunityBulkJobSummaries"]
    assert [(j["JobId"], j["SuccessCount"], j["FailureCount"]) for j in jobs] == [(bulk["JobId"], 1, 1)]
    results = call("ListOpportunityBulkJobResults", Catalog=cat, JobId=bulk["JobId"])["Results"]
    assert [(r["RequestId"], r["Status"]) for r in results] == [("r1", "SUCCEEDED"), ("r2", "FAILED")]
    report = call("GetOpportunityBulkJobReportUrl", Catalog=cat, JobId=bulk["JobId"], ReportFormat="CSV")
    assert server.state.files[report["Url"]].decode().splitlines()[1].startswith("r2,FAILED")
    # tags and settings
    call("TagResource", ResourceArn=job["Arn"], Tags=[{"Key": "team", "Value": "east"}])
    call(
        "TagResource",
        ResourceArn=got["Arn"],
        Tags=[{"Key": "team", "Value": "east"}, {"Key": "x", "Value": "1"}],
    )
    call("UntagResource", ResourceArn=got["Arn"], TagKeys=["x"])
    assert call("ListTagsForResource", ResourceArn=got["Arn"])["Tags"] == [{"Key": "team", "Value": "east"}]
    call("PutSellingSystemSettings", Catalog=cat, ResourceSnapshotJobRoleIdentifier="SnapshotRole")
    assert call("GetSellingSystemSettings", Catalog=cat)["ResourceSnapshotJobRoleArn"].endswith(
        ":role/SnapshotRole"
    )

    assert call.problems == {}
    assert sorted(ALL_OPERATIONS - call.called) == []
    assert len(ALL_OPERATIONS) == 63
    assert server.calls(kind="invalid") == 0


def test_explicit_nulls_and_members_aws_ignores_are_accepted(server):
    call = Recorder(server, "acme")
    opp = server.state.opportunity_ids("acme", "Sandbox")[0]
    raw = json.loads(
        call("GetOpportunity", Catalog="Sandbox", Identifier=opp) and call.bodies["GetOpportunity"]
    )
    # a saved GetOpportunity body sent back as the update: explicit nulls and read-only members (Arn, CreatedDate)
    body = {**raw, "Identifier": raw["Id"], "Catalog": "Sandbox", "NextToken": None}
    client = Recorder(server, "acme").client
    sent: dict[str, Any] = {}

    def send_raw(request, **_):
        request.data = json.dumps(body).encode()  # botocore would refuse the nulls and extra members
        sent["body"] = request.data

    client.meta.events.register("before-sign.partnercentral-selling.UpdateOpportunity", send_raw)
    updated = client.update_opportunity(
        Catalog="Sandbox", Identifier=opp, LastModifiedDate=raw["LastModifiedDate"]
    )
    assert b'"Arn"' in sent["body"] and b"null" in sent["body"]
    assert updated["Id"] == opp and server.calls(kind="invalid") == 0


def test_the_daily_read_quota_and_the_write_rate_are_enforced_per_partner_account():
    clock = [1_000_000.0]
    state = SandboxState(clock=lambda: clock[0], seed=3)
    state.seed_tenant("acme", opportunities=3)
    state.seed_tenant("globex", opportunities=3)
    srv = serve_in_thread(state, quotas=Quotas(reads_per_day=5, writes_per_second=1.0))
    try:
        acme, globex = Recorder(srv, "acme"), Recorder(srv, "globex")
        for _ in range(5):
            acme("ListOpportunities", Catalog="Sandbox")
        with pytest.raises(ClientError) as refused:
            acme.client.list_opportunities(Catalog="Sandbox")
        assert refused.value.response["Error"]["Code"] == "ThrottlingException"
        assert "Daily read quota of 5" in refused.value.response["Error"]["Message"]
        globex("ListOpportunities", Catalog="Sandbox")  # another account has its own quota
        clock[0] += 86_400.0  # the window rolls
        acme("ListOpportunities", Catalog="Sandbox")
        acme("CreateEngagement", Catalog="Sandbox", ClientToken="w1", Title="a")
        with pytest.raises(ClientError) as fast:
            acme.client.create_engagement(Catalog="Sandbox", ClientToken="w2", Title="b")
        assert "1 write requests per second" in fast.value.response["Error"]["Message"]
        clock[0] += 1.0
        acme("CreateEngagement", Catalog="Sandbox", ClientToken="w2", Title="b")
        assert srv.calls(kind="throttled") == 2
    finally:
        srv.stop()


def test_an_engagement_holds_at_most_five_contexts(server):
    call = Recorder(server, "acme")
    eng = call("CreateEngagement", Catalog="Sandbox", ClientToken="e", Title="Limits")
    lead = {"Customer": {"CompanyName": "L"}, "Interactions": [
        {"Contact": {"BusinessTitle": "a", "Email": "a@b.c", "FirstName": "a", "LastName": "b"}}]}  # fmt: skip
    for i in range(5):
        call("CreateEngagementContext", Catalog="Sandbox", EngagementIdentifier=eng["Id"], ClientToken=f"c{i}",
             Type="Lead", Payload={"Lead": lead})  # fmt: skip
    with pytest.raises(ClientError) as full:
        call.client.create_engagement_context(Catalog="Sandbox", EngagementIdentifier=eng["Id"], ClientToken="c6",
                                              Type="Lead", Payload={"Lead": lead})  # fmt: skip
    assert full.value.response["Error"]["Code"] == "ServiceQuotaExceededException"


def test_seeded_leads_and_customer_accounts_conform_and_some_leads_are_converted(server):
    call = Recorder(server, "acme")
    engagements = call("ListEngagements", Catalog="Sandbox", ContextTypes=["Lead"])["EngagementSummaryList"]
    assert len(engagements) == 4
    for eng in engagements:
        call("GetEngagement", Catalog="Sandbox", Identifier=eng["Id"])
    tasks = call("ListOpportunityFromEngagementTasks", Catalog="Sandbox")["TaskSummaries"]
    assert (
        len(tasks) == 1 and tasks[0]["TaskStatus"] == "COMPLETE"
    )  # lead 0 converted (odd leads are invitations)
    leads = call("ListEngagementInvitations", Catalog="Sandbox", ParticipantType="RECEIVER",
                 PayloadType=["LeadInvitation"])["EngagementInvitationSummaries"]  # fmt: skip
    assert len(leads) == 2  # leads 1 and 3 were invitations
    invitation = call("GetEngagementInvitation", Catalog="Sandbox", Identifier=leads[0]["Id"])
    assert invitation["Payload"]["LeadInvitation"]["Interaction"]["ContactBusinessTitle"] == "CTO"
    task = call("StartEngagementByAcceptingInvitationTask", Catalog="Sandbox", ClientToken="lead",
                Identifier=leads[0]["Id"])  # fmt: skip
    assert task["TaskStatus"] == "COMPLETE" and "OpportunityId" not in task  # a lead creates no opportunity
    members = call("ListEngagementMembers", Catalog="Sandbox", Identifier=invitation["EngagementId"])
    assert len(members["EngagementMemberList"]) == 2
    assert call.problems == {}
