"""The sandbox speaks the services' wire protocols, authenticates sellers and validates against botocore's models."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pytest
from botocore.awsrequest import AWSRequest
from botocore.exceptions import ClientError

from lakehouse.connectors.marketplace_sandbox import cbor
from lakehouse.connectors.marketplace_sandbox.validation import service_model
from tests.marketplace.conftest import NOW


def _code(exc: pytest.ExceptionInfo[ClientError]) -> str:
    return exc.value.response["Error"]["Code"]


def test_cbor_round_trips_every_type_the_protocol_uses():
    value = {
        "i": 1,
        "big": 2**40,
        "neg": -300,
        "f": 1.5,
        "s": "héllo",
        "b": b"\x00\x01",
        "t": True,
        "n": None,
        "l": [1, [2, {"x": "y"}]],
        "ts": datetime(2026, 3, 10, 12, 0, 30, tzinfo=UTC),
    }
    assert cbor.decode(cbor.encode(value)) == value


def test_cbor_decodes_indefinite_lengths_and_half_floats():
    # {_ "a": [_ 1, 2], "h": 1.5 (half float)} with a break after each indefinite item
    data = bytes([0xBF, 0x61, 0x61, 0x9F, 0x01, 0x02, 0xFF, 0x61, 0x68, 0xF9, 0x3E, 0x00, 0xFF])
    assert cbor.decode(data) == {"a": [1, 2], "h": 1.5}
    assert math.isinf(cbor.decode(b"\xf9\x7c\x00"))
    with pytest.raises(cbor.CBORError, match="trailing"):
        cbor.decode(b"\x01\x02")


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


def _cbor_call(mp, service: str, operation: str, params: dict):
    """Send one request the way an SDK speaking Smithy RPC v2 CBOR does, signed with SigV4."""
    import requests
    from botocore.auth import SigV4Auth
    from botocore.credentials import Credentials
    from botocore.parsers import RpcV2CBORParser
    from botocore.serialize import RpcV2CBORSerializer

    model = service_model(service)
    op = model.operation_model(operation)
    serialized = RpcV2CBORSerializer().serialize_to_request(params, op)
    kw = mp.sandbox.credentials("platform")
    request = AWSRequest(
        method="POST",
        url=kw["endpoint_url"] + serialized["url_path"],
        data=serialized["body"],
        headers=serialized["headers"],
    )
    SigV4Auth(
        Credentials(kw["aws_access_key_id"], kw["aws_secret_access_key"]), "aws-marketplace", "us-east-1"
    ).add_auth(request)
    http = requests.post(request.url, data=request.body, headers=dict(request.headers), timeout=10)
    response = {"status_code": http.status_code, "headers": http.headers, "body": http.content}
    shape = op.output_shape if http.status_code == 200 else None
    parsed = RpcV2CBORParser().parse(response, shape)
    return http, parsed


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
    from lakehouse.connectors.marketplace import MarketplaceError, MarketplaceReader

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
