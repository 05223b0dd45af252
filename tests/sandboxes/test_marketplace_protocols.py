"""The sandbox speaks the services' wire protocols, authenticates sellers and validates against botocore's models."""

from __future__ import annotations

from datetime import timedelta

import cbor2
import pytest
from botocore.awsrequest import AWSRequest
from botocore.exceptions import ClientError

from sandboxes._model import service_model
from tests.marketplace.conftest import NOW

pytestmark = pytest.mark.slow  # over a second of work in all: left out of `make test-fast`


def _code(exc: pytest.ExceptionInfo[ClientError]) -> str:
    return exc.value.response["Error"]["Code"]


def test_requests_over_the_model_limit_are_refused_with_the_aws_message(mp):
    metering = mp.client("metering")
    record = {
        "Timestamp": NOW - timedelta(hours=2),
        "Dimension": "api_calls",
        "QuantityAsDecimal": "1",
        "CustomerAWSAccountId": mp.buyer("acme")["customer_aws_account_id"],
        "LicenseArn": mp.buyer("acme")["license_arn"],
    }
    with pytest.raises(ClientError) as exc:
        metering.batch_meter_usage(UsageRecords=[record] * 26)
    assert _code(exc) == "ValidationException"
    assert (
        "Value at 'usageRecords' failed to satisfy constraint: Member must have length less than or equal to 25"
        in exc.value.response["Error"]["Message"]
    )
    assert mp.state.metering.billed() == []


def test_server_side_patterns_and_enums_are_enforced(mp):
    catalog = mp.client("catalog")
    with pytest.raises(ClientError) as exc:
        catalog.list_entities(Catalog="AWSMarketplace", EntityType="SaaS Product!")
    assert _code(exc) == "ValidationException"
    fields = exc.value.response["ValidationExceptionFieldList"]
    assert [f["Field"] for f in fields] == ["EntityType"]
    assert (
        "Value 'SaaS Product!' at 'entityType' failed to satisfy constraint: Member must satisfy regular "
        "expression pattern" in fields[0]["Message"]
    )


def test_a_wrong_secret_or_an_unknown_key_is_refused(mp):
    import boto3

    kw = mp.sandbox.credentials("platform")
    bad = boto3.client("meteringmarketplace", **{**kw, "aws_secret_access_key": "not-the-secret"})
    with pytest.raises(ClientError) as exc:
        bad.resolve_customer(RegistrationToken="x")
    assert _code(exc) == "InvalidSignatureException"
    unknown = boto3.client("meteringmarketplace", **{**kw, "aws_access_key_id": "AKIAUNKNOWN000000000"})
    with pytest.raises(ClientError) as exc:
        unknown.resolve_customer(RegistrationToken="x")
    assert _code(exc) == "UnrecognizedClientException"


def _signed_post(mp, path: str, body: bytes, headers: dict):
    """POST ``body`` to the sandbox signed with SigV4 as the platform seller; the raw HTTP response."""
    import requests
    from botocore.auth import SigV4Auth
    from botocore.credentials import Credentials

    kw = mp.sandbox.credentials("platform")
    request = AWSRequest(method="POST", url=kw["endpoint_url"] + path, data=body, headers=headers)
    SigV4Auth(
        Credentials(kw["aws_access_key_id"], kw["aws_secret_access_key"]), "aws-marketplace", "us-east-1"
    ).add_auth(request)
    return requests.post(request.url, data=request.body, headers=dict(request.headers), timeout=10)


def _cbor_call(mp, service: str, operation: str, params: dict):
    """Send one request the way an SDK speaking Smithy RPC v2 CBOR does, signed with SigV4."""
    from botocore.parsers import RpcV2CBORParser
    from botocore.serialize import RpcV2CBORSerializer

    op = service_model(service).operation_model(operation)
    serialized = RpcV2CBORSerializer().serialize_to_request(params, op)
    http = _signed_post(mp, serialized["url_path"], serialized["body"], serialized["headers"])
    response = {"status_code": http.status_code, "headers": http.headers, "body": http.content}
    shape = op.output_shape if http.status_code == 200 else None
    parsed = RpcV2CBORParser().parse(response, shape)
    return http, parsed


_ENTITLEMENTS = "/service/AWSMPEntitlementService/operation/GetEntitlements"
_CBOR_HEADERS = {
    "Content-Type": "application/cbor",
    "Accept": "application/cbor",
    "smithy-protocol": "rpc-v2-cbor",
}


def test_indefinite_length_cbor_requests_are_understood(mp):
    def text(value: str) -> bytes:
        return cbor2.dumps(value)

    # {_ "ProductCode": code, "Filter": {_ "CUSTOMER_AWS_ACCOUNT_ID": [_ "210000000001"]}}
    body = (
        b"\xbf"
        + text("ProductCode")
        + text(mp.world.platform_product_code)
        + text("Filter")
        + b"\xbf"
        + text("CUSTOMER_AWS_ACCOUNT_ID")
        + b"\x9f"
        + text("210000000001")
        + b"\xff\xff\xff"
    )
    http = _signed_post(mp, _ENTITLEMENTS, body, _CBOR_HEADERS)
    assert http.status_code == 200, http.content
    answer = cbor2.loads(http.content)
    assert [(e["Dimension"], e["LicenseArn"]) for e in answer["Entitlements"]] == [
        ("plan_pro", mp.buyer("acme")["license_arn"])  # the filter inside the indefinite map applied
    ]


def test_a_cbor_body_with_trailing_bytes_is_refused_in_cbor(mp):
    body = cbor2.dumps({"ProductCode": mp.world.platform_product_code}) + b"\x00"
    http = _signed_post(mp, _ENTITLEMENTS, body, _CBOR_HEADERS)
    assert http.status_code == 400
    error = cbor2.loads(http.content)
    assert error["__type"].endswith("#InvalidParameterException")
    assert "1 trailing byte(s)" in error["message"]


def test_entitlements_and_agreements_answer_smithy_rpc_v2_cbor(mp):
    buyer = mp.buyer("acme")
    http, parsed = _cbor_call(
        mp,
        "marketplace-entitlement",
        "GetEntitlements",
        {
            "ProductCode": mp.world.platform_product_code,
            "Filter": {"CUSTOMER_AWS_ACCOUNT_ID": ["210000000001"]},
        },
    )
    assert http.status_code == 200
    assert http.headers["smithy-protocol"] == "rpc-v2-cbor"
    assert [(e["Dimension"], e["Value"], e["LicenseArn"]) for e in parsed["Entitlements"]] == [
        ("plan_pro", {"IntegerValue": 1}, buyer["license_arn"])
    ]
    assert parsed["Entitlements"][0]["ExpirationDate"] == NOW.replace(minute=0) - timedelta(
        days=2
    ) + timedelta(days=365)
    http, parsed = _cbor_call(
        mp,
        "marketplace-agreement",
        "SearchAgreements",
        {
            "catalog": "AWSMarketplace",
            "filters": [
                {"name": "PartyType", "values": ["Proposer"]},
                {"name": "AgreementType", "values": ["PurchaseAgreement"]},
            ],
        },
    )
    assert http.status_code == 200
    assert sorted(a["acceptor"]["accountId"] for a in parsed["agreementViewSummaries"]) == [
        "210000000001",
        "210000000002",
        "210000000003",
    ]


def test_a_cbor_request_that_breaks_the_model_gets_a_cbor_error(mp):
    http, parsed = _cbor_call(
        mp,
        "marketplace-entitlement",
        "GetEntitlements",
        {"ProductCode": mp.world.platform_product_code, "MaxResults": 26},
    )
    assert http.status_code == 400
    assert parsed["Error"]["Code"] == "InvalidParameterException"
    assert "less than or equal to 25" in parsed["Error"]["Message"]


def test_rest_json_get_with_query_parameters_and_not_found(mp):
    catalog = mp.client("catalog")
    described = catalog.describe_entity(Catalog="AWSMarketplace", EntityId=mp.world.platform_product_id)
    assert described["EntityType"] == "SaaSProduct"
    assert described["DetailsDocument"]["Description"]["ProductTitle"] == "Partner Central Lakehouse"
    with pytest.raises(ClientError) as exc:
        catalog.describe_entity(Catalog="AWSMarketplace", EntityId="prod-doesnotexist1")
    assert _code(exc) == "ResourceNotFoundException"
    assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404


def test_scripted_faults_are_served_in_order_and_the_reader_retries_them(mp):
    mp.sandbox.script("ListEntities", "ThrottlingException", "InternalServiceException")
    reader = mp.reader()
    ids = list(reader.list_entity_ids("SaaSProduct"))
    assert [i for i, _ in ids] == [mp.world.platform_product_id]
    assert mp.sandbox.count("ListEntities", outcome="ThrottlingException") == 1
    assert mp.sandbox.count("ListEntities", outcome="InternalServiceException") == 1
    assert mp.sandbox.count("ListEntities", outcome="ok") == 1
    assert reader.retries == 2


def test_transport_retries_stop_at_max_attempts_counted_per_attempt(mp):
    from lakehouse.marketplace.connector import MarketplaceError, MarketplaceReader

    mp.sandbox.script("ListEntities", "ThrottlingException", "ThrottlingException", "ThrottlingException")
    reader = MarketplaceReader.from_config(mp.config(), max_attempts=2)
    with pytest.raises(MarketplaceError, match="ThrottlingException") as failed:
        list(reader.list_entity_ids("SaaSProduct"))
    assert failed.value.code == "ThrottlingException"
    assert reader.catalog.meta.config.retries == {"mode": "standard", "total_max_attempts": 2}
    assert (reader.calls["ListEntities"], reader.retries) == (2, 1)
    assert mp.sandbox.count("ListEntities", outcome="ThrottlingException") == 2


def test_sellers_only_see_their_own_entities(mp):
    acme = {i for i, _ in mp.reader("acme").list_entity_ids("SaaSProduct")}
    platform = {i for i, _ in mp.reader("platform").list_entity_ids("SaaSProduct")}
    assert acme == set(mp.world.seller_products["acme"])
    assert platform == {mp.world.platform_product_id}
