"""The other approval-gated Selling API writes, each sent once with a ClientToken derived from the approval; bulk
create/update through StartOpportunityBulkJob with per-record results and the failed-records report."""

from __future__ import annotations

from typing import Any

import pytest

from lakehouse.errors import BadInput
from lakehouse.guardrails import ApprovalRefused
from lakehouse.partner_central import selling_writes as SW
from lakehouse.partner_central.writes import ChangedSinceApproval, client_token, prepare
from tests.guardrails.conftest import reader_for
from tests.guardrails.test_writes import approved, make_writer


class SandboxUploader:
    """The bulk CSV goes to the emulator's own file store (it has no S3); reports are read back from it."""

    def __init__(self, server: Any) -> None:
        self.server = server

    def put(self, key: str, content: bytes) -> str:
        return self.server.state.put_file(f"s3://lakehouse-bulk/{key}", content)

    def get(self, uri: str) -> bytes:
        return bytes(self.server.state.files[uri])


class Results:
    """A ``WriteResultSink`` that keeps what would land in bronze.partner_central_write_result."""

    def __init__(self) -> None:
        self.rows: list[Any] = []

    def land_results(self, ticket, catalog, action, executor, steps) -> int:
        self.rows += list(steps)
        return len(steps)


def cat(sandbox):
    return sandbox.state.tenants["acme"].catalog("Sandbox")


LEAD = {
    "QualificationStatus": "Qualified",
    "Customer": {"CompanyName": "Lead Co"},
    "Interactions": [{"Usecase": "Analytics", "BusinessProblem": "Lead Co wants analytics on AWS.",
                      "Contact": {"BusinessTitle": "CIO", "Email": "cio@lead.example", "FirstName": "Kim",
                                  "LastName": "Park"}}],
}  # fmt: skip


def run(local_cp, sandbox, action: str, payload: dict[str, Any], **writer: Any):
    reader = reader_for(sandbox.url, sandbox)
    approval = approved(local_cp, action, payload)
    return approval, make_writer(local_cp, reader, **writer).execute(approval, executor="user:svc")


def test_engagement_lead_and_conversion_writes_run_once_each(local_cp, sandbox):
    _, created = run(
        local_cp, sandbox, "create-engagement", {"catalog": "Sandbox", "title": "Lead Co co-sell"}
    )
    eng_id = created.result["Id"]
    assert cat(sandbox).engagements[eng_id]["Title"] == "Lead Co co-sell"
    approval, ctx = run(local_cp, sandbox, "create-engagement-context",
                        {"catalog": "Sandbox", "engagement_id": eng_id, "type": "Lead", "payload": {"Lead": LEAD}})  # fmt: skip
    token = client_token(approval, "CreateEngagementContext")
    assert ("CreateEngagementContext", token) in cat(sandbox).client_tokens
    modified = ctx.result["EngagementLastModifiedAt"]
    run(local_cp, sandbox, "update-engagement-context",
        {"catalog": "Sandbox", "engagement_id": eng_id, "context_id": ctx.result["ContextId"],
         "engagement_last_modified_at": modified, "type": "Lead",
         "payload": {"Lead": {"Customer": LEAD["Customer"], "QualificationStatus": "Sales ready"}}})  # fmt: skip
    lead = cat(sandbox).engagements[eng_id]["Contexts"][0]["Payload"]["Lead"]
    assert lead["QualificationStatus"] == "Sales ready"
    with pytest.raises(ChangedSinceApproval, match="changed since approval"):
        run(local_cp, sandbox, "update-engagement-context",
            {"catalog": "Sandbox", "engagement_id": eng_id, "context_id": ctx.result["ContextId"],
             "engagement_last_modified_at": modified, "type": "Lead",
             "payload": {"Lead": {"Customer": LEAD["Customer"], "QualificationStatus": "Lost"}}})  # fmt: skip
    before = set(cat(sandbox).opportunities)
    _, converted = run(local_cp, sandbox, "start-opportunity-from-engagement",
                       {"catalog": "Sandbox", "engagement_id": eng_id, "context_id": ctx.result["ContextId"]})  # fmt: skip
    assert converted.result["TaskStatus"] == "COMPLETE"
    assert set(cat(sandbox).opportunities) - before == {converted.result["OpportunityId"]}
    assert converted.steps[0].entity_id == converted.result["OpportunityId"]


def test_opportunity_submit_assign_and_disassociate(local_cp, sandbox):
    opp_id = min(cat(sandbox).opportunities)
    entry = cat(sandbox).opportunities[opp_id]
    entry.record["LifeCycle"]["ReviewStatus"] = "Pending Submission"
    solution = min(cat(sandbox).solutions)
    entry.record["RelatedEntityIdentifiers"]["Solutions"] = [solution]
    entry.changed(entry.lmd_us)  # drop cached wire forms
    run(local_cp, sandbox, "submit-opportunity",
        {"catalog": "Sandbox", "opportunity_id": opp_id, "involvement_type": "Co-Sell"})  # fmt: skip
    assignee = {"Email": "owner@acme.example", "FirstName": "Ann", "LastName": "Lee", "BusinessTitle": "PDM"}
    run(
        local_cp,
        sandbox,
        "assign-opportunity",
        {"catalog": "Sandbox", "opportunity_id": opp_id, "assignee": assignee},
    )
    run(local_cp, sandbox, "disassociate-opportunity",
        {"catalog": "Sandbox", "opportunity_id": opp_id, "related_entity_type": "Solutions",
         "related_entity_id": solution})  # fmt: skip
    record = cat(sandbox).opportunities[opp_id].record
    assert record["LifeCycle"]["ReviewStatus"] == "Submitted"
    assert record["OpportunityTeam"][0]["Email"] == "owner@acme.example"
    assert record["RelatedEntityIdentifiers"]["Solutions"] == []
    assert opp_id in cat(sandbox).aws_summaries


def test_accepting_an_invitation_through_the_task_and_customer_accounts(local_cp, sandbox):
    invitation = min(cat(sandbox).invitations)
    cat(sandbox).invitations[invitation]["Status"] = "PENDING"
    approval, accepted = run(local_cp, sandbox, "start-engagement-by-accepting-invitation",
                             {"catalog": "Sandbox", "invitation_id": invitation})  # fmt: skip
    assert (
        accepted.result["TaskStatus"] == "COMPLETE"
        and cat(sandbox).invitations[invitation]["Status"] == "ACCEPTED"
    )
    with pytest.raises(ApprovalRefused):  # one approval, one execution
        make_writer(local_cp, reader_for(sandbox.url, sandbox)).execute(approval, executor="user:svc")
    _, created = run(local_cp, sandbox, "create-customer-account",
                     {"catalog": "Sandbox", "account": {"CompanyName": "Acct Co", "WebsiteUrl": "www.acct.example"}})  # fmt: skip
    account = cat(sandbox)._extra.customer_accounts[created.result["Id"]]
    run(local_cp, sandbox, "update-customer-account",
        {"catalog": "Sandbox", "customer_account_id": account["Id"], "last_modified_date": account["LastModifiedDate"],
         "account": {"CompanyName": "Acct Co", "Industry": "Retail"}})  # fmt: skip
    assert cat(sandbox)._extra.customer_accounts[account["Id"]]["Account"]["Industry"] == "Retail"
    assert sandbox.calls("CreateCustomerAccount") == sandbox.calls("UpdateCustomerAccount") == 1


def bulk_changes(sandbox) -> list[dict[str, Any]]:
    stale = min(cat(sandbox).opportunities)
    good = {"Customer": {"Account": {"CompanyName": "Bulk A"}},
            "Project": {"Title": "A", "CustomerBusinessProblem": "Bulk A needs a data platform."}}  # fmt: skip
    return [
        {"request_id": "r1", "operation": "CREATE", "opportunity": good},
        {
            "request_id": "r2",
            "operation": "CREATE",
            "opportunity": {
                **good,
                "Project": {"Title": "B", "CustomerBusinessProblem": "Bulk B needs a data platform."},
            },
        },
        {
            "request_id": "r3",
            "operation": "UPDATE",
            "opportunity_id": stale,
            "last_modified_date": "2020-01-01T00:00:00Z",
            "opportunity": good,
        },
    ]


def test_bulk_create_and_update_lands_one_result_per_record_and_surfaces_the_failed_records(
    local_cp, sandbox
):
    results = Results()
    before = set(cat(sandbox).opportunities)
    approval, outcome = run(local_cp, sandbox, "bulk-opportunities",
                            {"catalog": "Sandbox", "changes": bulk_changes(sandbox)},
                            uploader=SandboxUploader(sandbox), results=results)  # fmt: skip
    created = set(cat(sandbox).opportunities) - before
    assert (outcome.result["succeeded"], outcome.result["failed"], len(created)) == (2, 1, 2)
    assert [r["RequestId"] for r in outcome.result["failed_records"]] == ["r3"]
    assert outcome.result["failed_records"][0]["ErrorCode"] == "ConflictException"
    per_record = [(s.step, s.status, s.entity_id) for s in results.rows if s.step.startswith("record-")]
    assert sorted(per_record, key=lambda r: r[0])[:2] == sorted(
        (f"record-r{i}", "succeeded", cat(sandbox).client_tokens[("CreateOpportunity", f"{outcome.result['job_id']}-r{i}")]["Id"])
        for i in (1, 2)
    )  # fmt: skip
    assert per_record[2][:2] == ("record-r3", "failed")
    assert sandbox.state.files[outcome.result["input_uri"]].decode().splitlines()[0] == ",".join(
        SW.BULK_COLUMNS
    )
    assert sandbox.calls("StartOpportunityBulkJob") == 1
    assert ("StartOpportunityBulkJob", client_token(approval, "StartOpportunityBulkJob")) in cat(
        sandbox
    ).client_tokens


def test_a_bulk_change_list_with_an_invalid_record_is_refused_before_anything_is_sent(sandbox):
    changes = bulk_changes(sandbox)
    changes[1]["opportunity"] = {**changes[1]["opportunity"], "OpportunityType": "Giant Deal"}
    with pytest.raises(BadInput, match="OpportunityType is 'Giant Deal'"):
        prepare("bulk-opportunities", {"catalog": "Sandbox", "changes": changes})
    with pytest.raises(BadInput, match="unique non-empty string"):
        prepare("bulk-opportunities", {"catalog": "Sandbox", "changes": [changes[0], changes[0]]})
    with pytest.raises(BadInput, match="unknown key"):
        prepare("assign-opportunity", {"catalog": "Sandbox", "opportunity_id": "O1", "assignee": {}, "x": 1})
    assert sandbox.calls() == 0


def test_every_remaining_write_operation_runs_once_through_the_approval_gate(local_cp, sandbox):
    opp_id = min(cat(sandbox).opportunities)
    _, eng = run(local_cp, sandbox, "create-engagement", {"catalog": "Sandbox", "title": "Snapshots"})
    eng_id = eng.result["Id"]
    snapshot = {"catalog": "Sandbox", "engagement_id": eng_id, "resource_type": "Opportunity",
                "resource_id": opp_id, "template": "OpportunitySummaryView"}  # fmt: skip
    project = {
        "Industry": "Retail",
        "CompanyName": "Shop Co",
        "WebsiteUrl": "www.shop.example",
        "CountryCode": "US",
    }
    invitation = {"Message": "Join", "Receiver": {"Account": {"AwsAccountId": "123456789012"}},
                  "Payload": {"OpportunityInvitation": {
                      "ReceiverResponsibilities": ["Reseller"], "Customer": project,
                      "Project": {"Title": "Shop", "BusinessProblem": "Shop Co needs a new data platform.",
                                  "TargetCompletionDate": "2030-01-31",
                                  "ExpectedCustomerSpend": [{"Amount": "10", "CurrencyCode": "USD",
                                                             "Frequency": "Monthly", "TargetCompany": "AWS"}]}}}}  # fmt: skip
    run(local_cp, sandbox, "create-engagement-invitation",
        {"catalog": "Sandbox", "engagement_id": eng_id, "invitation": invitation})  # fmt: skip
    _, snap = run(local_cp, sandbox, "create-resource-snapshot", snapshot)
    assert snap.result["Revision"] == 1
    _, job = run(local_cp, sandbox, "create-resource-snapshot-job", snapshot)
    job_id = job.result["Id"]
    for action in (
        "start-resource-snapshot-job",
        "stop-resource-snapshot-job",
        "delete-resource-snapshot-job",
    ):
        run(local_cp, sandbox, action, {"catalog": "Sandbox", "job_id": job_id})
    assert job_id not in cat(sandbox)._extra.snapshot_jobs
    assert [
        r["Revision"] for r in cat(sandbox)._extra.snapshots[(eng_id, opp_id, "OpportunitySummaryView")]
    ] == [1, 2]
    _, account = run(
        local_cp,
        sandbox,
        "create-customer-account",
        {"catalog": "Sandbox", "account": {"CompanyName": "Gone Co"}},
    )
    run(
        local_cp,
        sandbox,
        "delete-customer-account",
        {"catalog": "Sandbox", "customer_account_id": account.result["Id"]},
    )
    assert account.result["Id"] not in cat(sandbox)._extra.customer_accounts
    sandbox.state.put_file(
        "s3://in/accounts.csv", b'RequestId,Payload\nr1,"{""CompanyName"": ""Bulk Co""}"\n'
    )
    _, bulk = run(
        local_cp,
        sandbox,
        "start-customer-account-bulk-job",
        {"catalog": "Sandbox", "file_uri": "s3://in/accounts.csv"},
    )
    assert bulk.result["Id"].startswith("bulkjob-")
    _, prospect = run(local_cp, sandbox, "start-prospecting-from-engagement",
                      {"catalog": "Sandbox", "engagement_ids": [eng_id], "task_name": "wave"})  # fmt: skip
    assert prospect.result["TaskStatus"] == "COMPLETED"
    arn = cat(sandbox).opportunities[opp_id].record["Arn"]
    run(local_cp, sandbox, "tag-resource", {"catalog": "Sandbox", "resource_arn": arn,
                                            "tags": [{"Key": "a", "Value": "1"}, {"Key": "b", "Value": "2"}]})  # fmt: skip
    run(local_cp, sandbox, "untag-resource", {"catalog": "Sandbox", "resource_arn": arn, "tag_keys": ["a"]})
    assert sandbox.state.tags[arn] == {"b": "2"}
    run(
        local_cp,
        sandbox,
        "put-selling-system-settings",
        {"catalog": "Sandbox", "resource_snapshot_job_role": "SnapRole"},
    )
    assert cat(sandbox)._extra.settings["role"].endswith(":role/SnapRole")
    for operation in (
        "CreateEngagementInvitation",
        "CreateResourceSnapshot",
        "StartProspectingFromEngagementTask",
    ):
        assert sandbox.calls(operation) == 1
    assert sandbox.calls(kind="invalid") == 0
