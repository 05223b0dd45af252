"""Assuming a Partner Central role sends the session tags its trust policy requires (approval_id for writes)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from lakehouse.errors import BadInput
from lakehouse.partner_central.connector import ConnectorConfig, _assumed_session
from lakehouse.partner_central.writes import approval_session_tags
from tests.infra.hcl import MODULES, module

ROLE = "arn:aws:iam::111122223333:role/pcl-dev-partner-central-write"
CREDENTIALS = {
    "AccessKeyId": "ASIAEXAMPLEEXAMPLE00",
    "SecretAccessKey": "secret",
    "SessionToken": "token",
    "Expiration": datetime.now(UTC) + timedelta(hours=1),
}


class _Base:
    """A base session whose STS client is stubbed: botocore validates the request against the STS model."""

    def __init__(self, expected: dict[str, Any]) -> None:
        self.sts = boto3.client(
            "sts", region_name="us-east-1", aws_access_key_id="AKIDEXAMPLE", aws_secret_access_key="x"
        )
        self.stub = Stubber(self.sts)
        self.stub.add_response("assume_role", {"Credentials": CREDENTIALS}, expected_params=expected)
        self.stub.activate()

    def client(self, service: str, **_: Any) -> Any:
        assert service == "sts"
        return self.sts


def test_write_sessions_carry_the_approval_id_as_a_transitive_tag() -> None:
    config = ConnectorConfig(role_arn=ROLE, session_tags=approval_session_tags("apr-42"))
    base = _Base(
        {
            "RoleArn": ROLE,
            "RoleSessionName": "lakehouse-partner-central",
            "Tags": [{"Key": "approval_id", "Value": "apr-42"}],
            "TransitiveTagKeys": ["approval_id"],
        }
    )
    session = _assumed_session(base, config)
    assert session.get_credentials().access_key == "ASIAEXAMPLEEXAMPLE00"
    base.stub.assert_no_pending_responses()


def test_read_sessions_send_no_tags_but_the_external_id() -> None:
    config = ConnectorConfig(role_arn=ROLE, external_id="ext-1")
    base = _Base({"RoleArn": ROLE, "RoleSessionName": "lakehouse-partner-central", "ExternalId": "ext-1"})
    _assumed_session(base, config)
    base.stub.assert_no_pending_responses()


def test_the_tag_sent_is_the_one_the_write_roles_trust_policy_requires() -> None:
    trust = module(MODULES / "iam").data[("aws_iam_policy_document", "partner_central_write_trust")][
        "statement"
    ][0]
    required = {c["variable"].removeprefix("aws:RequestTag/") for c in trust["condition"]}
    assert required == {key for key, _ in approval_session_tags("apr-1")}
    assert "sts:TagSession" in trust["actions"]


def test_an_empty_approval_id_is_refused() -> None:
    with pytest.raises(BadInput, match="approval id is required"):
        approval_session_tags("  ")
