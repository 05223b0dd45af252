"""The sandbox's STS enforces each role's trust policy as IAM does (terraform/modules/iam): the read role's
ExternalId, and the write role's required ``approval_id`` session tag."""

from __future__ import annotations

import json
import urllib.request

import boto3
import pytest
from botocore.exceptions import ClientError

from sandboxes.partner_central import PLATFORM_ACCESS_KEY, PLATFORM_SECRET


@pytest.fixture
def sts(sandbox):
    return boto3.client(
        "sts",
        endpoint_url=sandbox.url,
        region_name="us-east-1",
        aws_access_key_id=PLATFORM_ACCESS_KEY,
        aws_secret_access_key=PLATFORM_SECRET,
    )


def _refused(call) -> str:
    with pytest.raises(ClientError) as caught:
        call()
    return str(caught.value.response["Error"]["Code"]) + ": " + caught.value.response["Error"]["Message"]


def test_the_read_role_accepts_only_the_external_id_its_trust_policy_names(sandbox, sts):
    account = sandbox.state.tenants["globex"]
    issued = "lh-" + "a1" * 20
    assume = lambda external_id: sts.assume_role(  # noqa: E731
        RoleArn=account.role_arn, RoleSessionName="verify", ExternalId=external_id
    )
    assert _refused(lambda: assume(issued)).startswith("AccessDenied: ")  # not yet in the trust policy
    sandbox.state.set_external_id("globex", issued)
    assumed = assume(issued)["AssumedRoleUser"]["Arn"]
    assert assumed == f"arn:aws:sts::{account.account_id}:assumed-role/LakehousePartnerCentralRead/verify"
    assert _refused(lambda: assume("lakehouse-globex")).startswith("AccessDenied")  # the old one no longer
    assert _refused(lambda: sts.assume_role(RoleArn=account.role_arn, RoleSessionName="verify")).startswith(
        "AccessDenied"
    )


def test_the_trust_policy_is_changed_through_the_control_endpoint(sandbox, sts):
    account = sandbox.state.tenants["acme"]
    request = urllib.request.Request(
        f"{sandbox.url}/_sandbox/trust",
        data=json.dumps({"tenant": "acme", "external_id": "lh-issued-by-control-plane"}).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request) as response:
        answer = json.loads(response.read())
    assert answer["external_id"] == "lh-issued-by-control-plane"
    creds = sts.assume_role(
        RoleArn=account.role_arn, RoleSessionName="session", ExternalId="lh-issued-by-control-plane"
    )["Credentials"]
    assert creds["AccessKeyId"].startswith("ASIA")


def test_the_write_role_needs_an_approval_id_session_tag(sandbox, sts):
    account = sandbox.state.tenants["acme"]
    arn = account.write_role_arn
    assert "AccessDenied" in _refused(lambda: sts.assume_role(RoleArn=arn, RoleSessionName="exec"))
    other_tag = [{"Key": "request", "Value": "r-1"}]
    assert "AccessDenied" in _refused(
        lambda: sts.assume_role(RoleArn=arn, RoleSessionName="exec", Tags=other_tag)
    )
    tags = [{"Key": "approval_id", "Value": "apr-0123456789abcdef01234567"}, {"Key": "request", "Value": "r"}]
    assumed = sts.assume_role(RoleArn=arn, RoleSessionName="exec", Tags=tags)["AssumedRoleUser"]["Arn"]
    assert assumed.endswith(":assumed-role/LakehousePartnerCentralWrite/exec")


def test_session_tags_on_a_role_whose_trust_lacks_tag_session_are_refused(sandbox, sts):
    account = sandbox.state.tenants["globex"]
    message = _refused(
        lambda: sts.assume_role(
            RoleArn=account.role_arn,
            RoleSessionName="session",
            ExternalId=account.external_id,
            Tags=[{"Key": "approval_id", "Value": "x"}],
        )
    )
    assert message.startswith("AccessDenied") and "sts:TagSession" in message


def test_malformed_session_tags_are_a_validation_error(sandbox, sts):
    account = sandbox.state.tenants["acme"]
    message = _refused(
        lambda: sts.assume_role(
            RoleArn=account.write_role_arn, RoleSessionName="session", Tags=[{"Key": "k" * 129, "Value": "x"}]
        )
    )
    assert message.startswith("ValidationError")
