"""The reader serves every read operation of the Selling API (34 of 63; the writer holds the rest)."""

from __future__ import annotations

import json

import botocore.session
import pytest

from lakehouse.errors import BadInput
from lakehouse.partner_central.connector import READ_OPERATIONS, PartnerCentralReader
from sandboxes.partner_central import SandboxState, serve_in_thread
from tests.sandboxes.test_selling_operations import Recorder

from .conftest import reader_for

MODEL = botocore.session.get_session().get_service_model("partnercentral-selling")


@pytest.fixture
def world():
    """A sandbox where every kind of resource exists once, created through the API (not through the reader)."""
    state = SandboxState(seed=8)
    state.seed_tenant("acme", opportunities=6, catalog="Sandbox", solutions=1, invitations=3, leads=3,
                      customer_accounts=2)  # fmt: skip
    server = serve_in_thread(state)
    call = Recorder(server, "acme")
    opp = state.opportunity_ids("acme", "Sandbox")[0]
    eng = call("ListEngagements", Catalog="Sandbox", ContextTypes=["Lead"])["EngagementSummaryList"][0]["Id"]
    snapshot = {"Catalog": "Sandbox", "EngagementIdentifier": eng, "ResourceType": "Opportunity", "ResourceIdentifier": opp,
                    "ResourceSnapshotTemplateIdentifier": "OpportunitySummaryView"}  # fmt: skip
    call("CreateResourceSnapshot", ClientToken="s", **snapshot)
    job = call("CreateResourceSnapshotJob", ClientToken="j", **snapshot)["Id"]
    task = call("StartProspectingFromEngagementTask", Catalog="Sandbox", Identifiers=[eng], TaskName="t",
                ClientToken="p")["TaskId"]  # fmt: skip
    state.put_file("s3://in/a.csv", b'RequestId,Payload\nr1,"{""CompanyName"": ""Zed Co""}"\n')
    acc_job = call(
        "StartCustomerAccountBulkJob", Catalog="Sandbox", ClientToken="a", FileUri="s3://in/a.csv"
    )["Id"]
    state.put_file("s3://in/o.csv", b'RequestId,Operation,Payload\nr1,CREATE,"{}"\n')
    opp_job = call("StartOpportunityBulkJob", Catalog="Sandbox", ClientToken="b", FileURI="s3://in/o.csv",
                   FileFormat="CSV")["JobId"]  # fmt: skip
    arn = call("GetOpportunity", Catalog="Sandbox", Identifier=opp)["Arn"]
    call("TagResource", ResourceArn=arn, Tags=[{"Key": "k", "Value": "v"}])
    ids = {
        "opp": opp,
        "eng": eng,
        "job": job,
        "task": task,
        "acc_job": acc_job,
        "opp_job": opp_job,
        "arn": arn,
    }
    yield server, ids
    server.stop()


def test_the_reader_declares_exactly_the_read_operations_of_the_service():
    reads = {o for o in MODEL.operation_names if o.startswith(("Get", "List", "Search"))}
    assert set(READ_OPERATIONS) == reads and len(READ_OPERATIONS) == 34


def test_every_read_operation_goes_through_the_reader(world):
    server, ids = world
    reader = reader_for(server, "acme")
    cat = {"Catalog": "Sandbox"}
    state = server.state
    opp, eng = ids["opp"], ids["eng"]
    invitation = next(iter(state.tenants["acme"].catalog("Sandbox").invitations))
    account_id = next(iter(state.tenants["acme"].catalog("Sandbox")._extra.customer_accounts))
    snapshot = dict(cat, EngagementIdentifier=eng, ResourceType="Opportunity", ResourceIdentifier=opp,
                    ResourceSnapshotTemplateIdentifier="OpportunitySummaryView")  # fmt: skip
    gets = {
        "GetAwsOpportunitySummary": dict(cat, RelatedOpportunityIdentifier=next(
            o for o in state.opportunity_ids("acme", "Sandbox")
            if o in state.tenants["acme"].catalog("Sandbox").aws_summaries)),
        "GetCustomerAccount": dict(cat, Identifier=account_id),
        "GetCustomerAccountBulkJob": dict(cat, Identifier=ids["acc_job"]),
        "GetCustomerAccountBulkJobReportUrl": dict(cat, Identifier=ids["acc_job"]),
        "GetCustomerAccountStatistics": cat,
        "GetEngagement": dict(cat, Identifier=eng),
        "GetEngagementInvitation": dict(cat, Identifier=invitation),
        "GetOpportunity": dict(cat, Identifier=opp),
        "GetOpportunityBulkJobReportUrl": dict(cat, JobId=ids["opp_job"], ReportFormat="CSV"),
        "GetProspectingFromEngagementTask": dict(cat, TaskIdentifier=ids["task"]),
        "GetResourceSnapshot": snapshot,
        "GetResourceSnapshotJob": dict(cat, ResourceSnapshotJobIdentifier=ids["job"]),
        "GetSellingSystemSettings": cat,
    }  # fmt: skip
    lists = {
        "ListCustomerAccountBulkJobResults": dict(cat, Identifier=ids["acc_job"]),
        "ListCustomerAccountBulkJobs": cat,
        "ListEngagementByAcceptingInvitationTasks": cat,
        "ListEngagementFromOpportunityTasks": cat,
        "ListEngagementGroups": cat,
        "ListEngagementInvitations": dict(cat, ParticipantType="RECEIVER"),
        "ListEngagementMembers": dict(cat, Identifier=eng),
        "ListEngagementResourceAssociations": cat,
        "ListEngagements": cat,
        "ListOpportunities": cat,
        "ListOpportunityBulkJobResults": dict(cat, JobId=ids["opp_job"]),
        "ListOpportunityBulkJobs": cat,
        "ListOpportunityFromEngagementTasks": cat,
        "ListProspectingFromEngagementTasks": cat,
        "ListResourceSnapshotJobs": cat,
        "ListResourceSnapshots": dict(cat, EngagementIdentifier=eng),
        "ListSolutions": cat,
        "SearchCustomerAccounts": cat,
        "SearchEngagements": cat,
        "SearchOpportunities": cat,
    }
    got = {op: reader.read(op, **params) for op, params in gets.items()}
    listed = {op: list(reader.read_all(op, **params)) for op, params in lists.items()}
    tags = reader.read("ListTagsForResource", ResourceArn=ids["arn"])
    assert set(gets) | set(lists) | {"ListTagsForResource"} == set(READ_OPERATIONS)
    assert tags["Tags"] == [{"Key": "k", "Value": "v"}]
    assert got["GetEngagement"]["Contexts"][0]["Type"] == "Lead"
    assert got["GetCustomerAccountStatistics"]["TotalCount"] == len(listed["SearchCustomerAccounts"]) == 3
    assert (
        len(listed["ListOpportunities"])
        == len(listed["SearchOpportunities"])
        == len(state.opportunity_ids("acme", "Sandbox"))
    )
    assert [r["Status"] for r in listed["ListOpportunityBulkJobResults"]] == ["FAILED"]
    assert (
        len(listed["ListOpportunityFromEngagementTasks"]) == 1
    )  # one of the three seeded leads was converted
    assert sorted(reader.stats.attempts) == sorted(READ_OPERATIONS)
    assert server.calls(kind="invalid") == 0


def test_raw_reads_keep_the_payload_byte_for_byte_and_paging_follows_next_token(world):
    server, ids = world
    reader = reader_for(server, "acme")
    record = reader.get_engagement("Sandbox", ids["eng"])
    assert json.loads(record.payload)["Id"] == ids["eng"] and record.last_modified_us is not None
    server.reset_counters()
    items = list(reader.read_all("ListOpportunities", Catalog="Sandbox", MaxResults=2))
    assert len(items) == len(server.state.opportunity_ids("acme", "Sandbox"))
    assert server.calls("ListOpportunities") == -(-len(items) // 2)
    members = reader.list_engagement_members("Sandbox", ids["eng"])
    assert sorted(m["CompanyName"] for m in members) == ["AWS", "Acme"]


def test_a_write_operation_is_refused_by_the_reader(world):
    server, _ = world
    reader: PartnerCentralReader = reader_for(server, "acme")
    server.reset_counters()
    with pytest.raises(BadInput, match="not a Partner Central read operation"):
        reader.read("CreateEngagement", Catalog="Sandbox", ClientToken="x")
    assert server.calls() == 0
