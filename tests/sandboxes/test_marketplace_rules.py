"""The documented service rules, enforced by the sandbox (checked through boto3, as a client sees them)."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
from botocore.exceptions import ClientError

from tests.marketplace.conftest import NOW


def _code(exc: pytest.ExceptionInfo[ClientError]) -> str:
    return exc.value.response["Error"]["Code"]


def _record(
    mp, tenant: str = "acme", *, hours_ago: float = 2, dimension: str = "api_calls", qty: str = "3", **extra
):
    buyer = mp.buyer(tenant)
    return {
        "Timestamp": NOW.replace(minute=0) - timedelta(hours=hours_ago),
        "Dimension": dimension,
        "QuantityAsDecimal": qty,
        "CustomerAWSAccountId": buyer["customer_aws_account_id"],
        "LicenseArn": buyer["license_arn"],
        **extra,
    }


# ----------------------------------------------------------------------------------------------- metering


def test_an_identical_record_is_idempotent_and_returns_the_original_result(mp):
    metering = mp.client("metering")
    first = metering.batch_meter_usage(UsageRecords=[_record(mp)])["Results"][0]
    again = metering.batch_meter_usage(UsageRecords=[_record(mp, qty="3.000")])["Results"][0]
    assert first["Status"] == again["Status"] == "Success"
    assert again["MeteringRecordId"] == first["MeteringRecordId"]
    assert [(r.dimension, str(r.quantity)) for r in mp.state.metering.billed()] == [("api_calls", "3")]


def test_the_same_hour_with_another_quantity_is_a_duplicate_record_and_not_billed(mp):
    metering = mp.client("metering")
    metering.batch_meter_usage(UsageRecords=[_record(mp, qty="3")])
    later = _record(mp, qty="4")
    later["Timestamp"] += timedelta(minutes=30)  # same hour, another moment
    result = metering.batch_meter_usage(UsageRecords=[later])["Results"][0]
    assert result["Status"] == "DuplicateRecord"
    assert "MeteringRecordId" not in result
    assert mp.state.metering.billed_total() == 3


def test_one_record_outside_the_24_hour_window_fails_the_whole_batch(mp):
    metering = mp.client("metering")
    with pytest.raises(ClientError) as exc:
        metering.batch_meter_usage(UsageRecords=[_record(mp, hours_ago=1), _record(mp, hours_ago=25)])
    assert _code(exc) == "TimestampOutOfBoundsException"
    with pytest.raises(ClientError) as exc:
        metering.batch_meter_usage(UsageRecords=[_record(mp, hours_ago=-1)])  # the future
    assert _code(exc) == "TimestampOutOfBoundsException"
    assert mp.state.metering.billed() == []


def test_previous_month_usage_is_accepted_only_until_0600_utc_on_the_first(mp):
    metering = mp.client("metering")
    buyer = mp.buyer("acme")
    march_31 = {
        "Timestamp": datetime(2026, 3, 31, 23, 0, tzinfo=UTC),
        "Dimension": "api_calls",
        "QuantityAsDecimal": "1",
        "LicenseArn": buyer["license_arn"],
    }
    mp.clock.set(datetime(2026, 4, 1, 5, 59, tzinfo=UTC))
    assert metering.batch_meter_usage(UsageRecords=[march_31])["Results"][0]["Status"] == "Success"
    mp.clock.set(datetime(2026, 4, 1, 6, 0, tzinfo=UTC))
    with pytest.raises(ClientError) as exc:
        metering.batch_meter_usage(UsageRecords=[dict(march_31, Dimension="pipeline_hours")])
    assert _code(exc) == "TimestampOutOfBoundsException"


@pytest.mark.parametrize(
    "change, code",
    [
        ({"Quantity": 3}, "ValidationException"),  # both Quantity and QuantityAsDecimal
        ({"Dimension": "not_a_dimension"}, "InvalidUsageDimensionException"),
        ({"Dimension": "plan_pro"}, "InvalidUsageDimensionException"),  # entitled, not metered
        (
            {
                "UsageAllocations": [
                    {"AllocatedUsageQuantityAsDecimal": "1", "Tags": [{"Key": "w", "Value": "a"}]}
                ]
            },
            "InvalidUsageAllocationsException",
        ),  # sums to 1, record says 3
        (
            {"UsageAllocations": [{"AllocatedUsageQuantity": 3}]},
            "InvalidUsageAllocationsException",
        ),  # mixed kinds
        (
            {
                "UsageAllocations": [
                    {
                        "AllocatedUsageQuantityAsDecimal": "3",
                        "Tags": [{"Key": "w", "Value": "a"}, {"Key": "w", "Value": "b"}],
                    }
                ]
            },
            "InvalidTagException",
        ),
        ({"CustomerAWSAccountId": "999999999999"}, "InvalidLicenseException"),  # license of another customer
    ],
)
def test_malformed_records_fail_the_request(mp, change, code):
    with pytest.raises(ClientError) as exc:
        mp.client("metering").batch_meter_usage(UsageRecords=[_record(mp, **change)])
    assert _code(exc) == code
    assert mp.state.metering.billed() == []


def test_a_request_spans_one_product_only(mp):
    seller = mp.state.seller_by_name("platform")
    other_id, _, _ = mp.state.seed_saas_product(
        seller,
        title="Second product",
        prices={"api_calls": "1"},
        dimensions=[{"Key": "api_calls", "Name": "Calls", "Unit": "Requests", "Types": ["Metered"]}],
    )
    agreement, _ = mp.state.commerce.subscribe(other_id, "210000000009")
    other = {
        "Timestamp": NOW.replace(minute=0) - timedelta(hours=2),
        "Dimension": "api_calls",
        "QuantityAsDecimal": "1",
        "LicenseArn": agreement.license_arn,
    }
    with pytest.raises(ClientError) as exc:
        mp.client("metering").batch_meter_usage(UsageRecords=[_record(mp), other])
    assert _code(exc) == "ValidationException"
    assert "only one product" in exc.value.response["Error"]["Message"]


def test_a_customer_without_an_active_agreement_is_not_subscribed(mp):
    mp.state.commerce.update(mp.buyer("globex")["agreement_id"], status="CANCELLED")
    result = mp.client("metering").batch_meter_usage(UsageRecords=[_record(mp, "globex")])["Results"][0]
    assert result["Status"] == "CustomerNotSubscribed"
    assert mp.state.metering.billed() == []


def test_customer_identifier_only_works_for_legacy_products(mp):
    metering = mp.client("metering")
    record = {
        "Timestamp": NOW.replace(minute=0) - timedelta(hours=1),
        "Dimension": "api_calls",
        "QuantityAsDecimal": "1",
        "CustomerIdentifier": "abc",
    }
    with pytest.raises(ClientError) as exc:
        metering.batch_meter_usage(ProductCode=mp.world.platform_product_code, UsageRecords=[record])
    assert _code(exc) == "InvalidCustomerIdentifierException"
    seller = mp.state.seller_by_name("platform")
    legacy_id, legacy_code, _ = mp.state.seed_saas_product(
        seller,
        title="Legacy",
        legacy_metering=True,
        prices={"api_calls": "1"},
        dimensions=[{"Key": "api_calls", "Name": "Calls", "Unit": "Requests", "Types": ["Metered"]}],
    )
    agreement, token = mp.state.commerce.subscribe(legacy_id, "210000000010")
    resolved = metering.resolve_customer(RegistrationToken=token)
    assert resolved["CustomerIdentifier"] == agreement.customer_identifier
    record["CustomerIdentifier"] = agreement.customer_identifier
    result = metering.batch_meter_usage(ProductCode=legacy_code, UsageRecords=[record])["Results"][0]
    assert result["Status"] == "Success"


def test_resolve_customer_rules(mp):
    metering = mp.client("metering")
    buyer = mp.buyer("acme")
    resolved = metering.resolve_customer(RegistrationToken=buyer["registration_token"])
    assert (
        resolved["CustomerAWSAccountId"],
        resolved["LicenseArn"],
        resolved["ProductCode"],
        resolved["Metadata"]["AgreementId"],
    ) == (
        buyer["customer_aws_account_id"],
        buyer["license_arn"],
        mp.world.platform_product_code,
        buyer["agreement_id"],
    )
    assert "CustomerIdentifier" not in resolved  # new integrations get no CustomerIdentifier
    with pytest.raises(ClientError) as exc:
        metering.resolve_customer(RegistrationToken="bm90LWEtdG9rZW4=")
    assert _code(exc) == "InvalidTokenException"
    with pytest.raises(ClientError) as exc:  # only the publishing seller can resolve
        mp.client("metering", seller="acme").resolve_customer(RegistrationToken=buyer["registration_token"])
    assert _code(exc) == "InvalidTokenException"
    mp.clock.advance(timedelta(hours=25))
    with pytest.raises(ClientError) as exc:
        metering.resolve_customer(RegistrationToken=buyer["registration_token"])
    assert _code(exc) == "ExpiredTokenException"


# ----------------------------------------------------------------------------------------------- entitlements, agreements


def test_get_entitlements_filters_and_pages(mp):
    entitlement = mp.client("entitlement")
    code = mp.world.platform_product_code
    with pytest.raises(ClientError) as exc:
        entitlement.get_entitlements(
            ProductCode=code,
            Filter={"CUSTOMER_IDENTIFIER": ["x"], "CUSTOMER_AWS_ACCOUNT_ID": ["210000000001"]},
        )
    assert _code(exc) == "InvalidParameterException"
    first = entitlement.get_entitlements(ProductCode=code, MaxResults=1)
    second = entitlement.get_entitlements(ProductCode=code, MaxResults=1, NextToken=first["NextToken"])
    assert "NextToken" not in second
    accounts = [e["CustomerAWSAccountId"] for e in first["Entitlements"] + second["Entitlements"]]
    assert sorted(accounts) == ["210000000001", "210000000003"]  # globex has no entitlement


def test_search_agreements_requires_party_type_and_filters_by_update_time(mp):
    agreements = mp.client("agreement")
    with pytest.raises(ClientError) as exc:
        agreements.search_agreements(
            catalog="AWSMarketplace", filters=[{"name": "AgreementType", "values": ["PurchaseAgreement"]}]
        )
    assert _code(exc) == "ValidationException"
    assert exc.value.response["reason"] == "MISSING_PARTY_TYPE"
    mp.clock.advance(timedelta(minutes=10))
    mp.state.commerce.update(mp.buyer("initech")["agreement_id"], status="CANCELLED")
    after = (NOW + timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%SZ")
    found = agreements.search_agreements(
        catalog="AWSMarketplace",
        filters=[
            {"name": "PartyType", "values": ["Proposer"]},
            {"name": "AgreementType", "values": ["PurchaseAgreement"]},
            {"name": "AfterLastUpdateTime", "values": [after]},
        ],
    )["agreementViewSummaries"]
    assert [(a["agreementId"], a["status"]) for a in found] == [
        (mp.buyer("initech")["agreement_id"], "CANCELLED")
    ]


# ----------------------------------------------------------------------------------------------- change sets


def _update_title(product_id: str, title: str) -> list[dict]:
    return [
        {
            "ChangeType": "UpdateInformation",
            "Entity": {"Type": "SaaSProduct@1.0", "Identifier": product_id},
            "DetailsDocument": {"ProductTitle": title},
        }
    ]


def _wait(catalog, change_set_id: str) -> tuple[list[str], dict]:
    seen: list[str] = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        described = catalog.describe_change_set(Catalog="AWSMarketplace", ChangeSetId=change_set_id)
        if not seen or seen[-1] != described["Status"]:
            seen.append(described["Status"])
        if described["Status"] in ("SUCCEEDED", "FAILED", "CANCELLED"):
            return seen, described
        time.sleep(0.005)
    raise AssertionError(f"change set {change_set_id} did not finish within 60 s: {seen}")


def test_a_change_set_moves_preparing_applying_succeeded_and_locks_its_entities(mp):
    catalog = mp.client("catalog")
    product = mp.world.platform_product_id
    mp.state.catalog.hold_until_seen = True  # every status is reported once, however slow this client is
    started = catalog.start_change_set(Catalog="AWSMarketplace", ChangeSet=_update_title(product, "Renamed"))
    with pytest.raises(ClientError) as exc:
        catalog.start_change_set(Catalog="AWSMarketplace", ChangeSet=_update_title(product, "Other"))
    assert _code(exc) == "ResourceInUseException"
    assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 423
    seen, _ = _wait(catalog, started["ChangeSetId"])
    assert seen == ["PREPARING", "APPLYING", "SUCCEEDED"]
    assert mp.state.catalog.entity(product).name == "Renamed"
    again = catalog.start_change_set(Catalog="AWSMarketplace", ChangeSet=_update_title(product, "Other"))
    assert _wait(catalog, again["ChangeSetId"])[0][-1] == "SUCCEEDED"  # the lock was released


def test_the_same_change_type_twice_on_one_entity_is_refused(mp):
    product = mp.world.platform_product_id
    with pytest.raises(ClientError) as exc:
        mp.client("catalog").start_change_set(
            Catalog="AWSMarketplace", ChangeSet=_update_title(product, "A") + _update_title(product, "B")
        )
    assert _code(exc) == "ValidationException"


def test_cancel_only_while_preparing_and_it_releases_the_lock(mp):
    catalog = mp.client("catalog")
    product = mp.world.platform_product_id
    mp.state.catalog.preparing_s = 60
    started = catalog.start_change_set(Catalog="AWSMarketplace", ChangeSet=_update_title(product, "Never"))
    catalog.cancel_change_set(Catalog="AWSMarketplace", ChangeSetId=started["ChangeSetId"])
    assert (
        catalog.describe_change_set(Catalog="AWSMarketplace", ChangeSetId=started["ChangeSetId"])["Status"]
        == "CANCELLED"
    )
    assert mp.state.catalog.entity(product).name == "Partner Central Lakehouse"
    assert mp.state.catalog.locks == {}


def test_a_repeated_client_request_token_returns_the_same_change_set(mp):
    catalog = mp.client("catalog")
    product = mp.world.platform_product_id
    first = catalog.start_change_set(
        Catalog="AWSMarketplace", ChangeSet=_update_title(product, "X"), ClientRequestToken="tok-1"
    )
    again = catalog.start_change_set(
        Catalog="AWSMarketplace", ChangeSet=_update_title(product, "X"), ClientRequestToken="tok-1"
    )
    assert again["ChangeSetId"] == first["ChangeSetId"]
    _wait(catalog, first["ChangeSetId"])
    with pytest.raises(ClientError) as exc:
        catalog.start_change_set(
            Catalog="AWSMarketplace", ChangeSet=_update_title(product, "Y"), ClientRequestToken="tok-1"
        )
    assert _code(exc) == "ValidationException"
    assert len(mp.state.catalog.change_sets) == 1
