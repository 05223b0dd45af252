"""Packaging the platform as a listing, VALIDATE, and approval-gated, exactly-once APPLY."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest

from lakehouse.cli import main
from lakehouse.marketplace.connector import (
    APPLY_ACTION,
    ChangeSetFailed,
    EntityLocked,
    change_set_payload,
)
from lakehouse.marketplace.interfaces import ApprovalRefused, MemoryApprovalGate
from lakehouse.marketplace.packaging import (
    DEFAULT_PLANS,
    Listing,
    Plan,
    PlanDimension,
    package,
    package_change_set,
)

pytestmark = pytest.mark.slow  # over a second of work in all: left out of `make test-fast`

LISTING = Listing(allowlist=("111122223333",))


def apply_intents(mp) -> list[str]:
    return [cs.intent for cs in mp.state.catalog.change_sets.values() if cs.intent == "APPLY"]


def approved(gate: MemoryApprovalGate, changes, name: str = "lakehouse-listing") -> str:
    approval_id = gate.request(APPLY_ACTION, change_set_payload(changes, name=name), requested_by="alice")
    gate.approve(approval_id, approver="bob")
    return approval_id


def test_packaging_builds_product_and_offer_changes_from_the_plans():
    changes = package_change_set(DEFAULT_PLANS, LISTING)
    assert [c["ChangeType"] for c in changes] == [
        "CreateProduct",
        "UpdateInformation",
        "AddDimensions",
        "AddDeliveryOptions",
        "UpdateTargeting",
        "CreateOffer",
        "UpdateInformation",
        "UpdatePricingTerms",
        "UpdateLegalTerms",
        "UpdateSupportTerms",
        "ReleaseOffer",
    ]
    dims = changes[2]["DetailsDocument"]["Dimensions"]
    assert [(d["Key"], d["Types"]) for d in dims] == [
        ("pipeline_hours", ["Metered"]),
        ("api_calls", ["Metered"]),
        ("rows_ingested", ["Metered"]),
        ("plan_standard", ["Entitled"]),
        ("plan_pro", ["Entitled"]),
    ]
    rate_card = changes[7]["DetailsDocument"]["Terms"][0]["RateCards"][0]["RateCard"]
    assert rate_card == [
        {"DimensionKey": "pipeline_hours", "Price": "0.35"},
        {"DimensionKey": "api_calls", "Price": "0.002"},
        {"DimensionKey": "rows_ingested", "Price": "0.5"},
    ]
    assert changes[5]["DetailsDocument"] == {"ProductId": "$CreateProductChange.Entity.Identifier"}


def test_one_dimension_with_two_prices_is_refused():
    plans = [
        Plan("a", "A", (PlanDimension("calls", "Calls", "Requests", "1"),)),
        Plan("b", "B", (PlanDimension("calls", "Calls", "Requests", "2"),)),
    ]
    with pytest.raises(ValueError, match="'calls' has price/unit 1/Requests in one plan and 2/Requests"):
        package_change_set(plans)


def test_validate_succeeds_and_changes_nothing(mp):
    entities_before = set(mp.state.catalog.entities)
    result = mp.change_sets().validate(package_change_set(DEFAULT_PLANS, LISTING), name="listing")
    assert (result.intent, result.status, result.errors) == ("VALIDATE", "SUCCEEDED", ())
    assert set(mp.state.catalog.entities) == entities_before


def test_validate_with_a_bad_dimension_fails_with_the_services_error_list(mp):
    plans = [
        Plan(
            "pro",
            "Pro",
            (
                PlanDimension("bad dimension!", "Bad", "Parsecs", "0.1"),
                PlanDimension("api_calls", "Calls", "Requests", "0.002"),
            ),
        )
    ]
    result = mp.change_sets().validate(package_change_set(plans, LISTING))
    assert (result.status, result.failure_code) == ("FAILED", "CLIENT_ERROR")
    assert [(e.change_type, e.code) for e in result.errors] == [
        ("AddDimensions", "INVALID_DIMENSION_KEY"),
        ("AddDimensions", "INVALID_DIMENSION_UNIT"),
        ("UpdatePricingTerms", "INCOMPATIBLE_DIMENSION"),
        ("UpdatePricingTerms", "INCOMPATIBLE_DIMENSION"),
        ("ReleaseOffer", "INVALID_STATE"),
    ]
    assert "'bad dimension!'" in result.errors[0].message
    assert "'Parsecs'" in result.errors[1].message


def test_apply_without_an_approved_approval_is_impossible(mp):
    changes = package_change_set(DEFAULT_PLANS, LISTING)
    gate = MemoryApprovalGate()
    sets = mp.change_sets()
    with pytest.raises(ApprovalRefused, match="needs an approval id"):
        sets.apply(changes, approval_id="", gate=gate)
    with pytest.raises(ApprovalRefused, match="does not exist"):
        sets.apply(changes, approval_id="apr-made-up", gate=gate)
    pending = gate.request(APPLY_ACTION, change_set_payload(changes, name=None), requested_by="alice")
    with pytest.raises(ApprovalRefused, match="is pending, not approved"):
        sets.apply(changes, approval_id=pending, gate=gate)
    with pytest.raises(ApprovalRefused, match="cannot approve their own request"):
        gate.approve(pending, approver="alice")
    other = approved(gate, package_change_set(DEFAULT_PLANS[:1], LISTING), name=None)
    with pytest.raises(ApprovalRefused, match="different payload"):
        sets.apply(changes, approval_id=other, gate=gate)
    expiring = approved(gate, changes, name=None)
    gate.clock = lambda: gate.approvals[expiring].expires_at + timedelta(seconds=1)
    with pytest.raises(ApprovalRefused, match="expired"):
        sets.apply(changes, approval_id=expiring, gate=gate)
    assert apply_intents(mp) == [] and mp.state.catalog.change_sets == {}
    assert main(["marketplace", "apply", "--change-set", "/nonexistent.json", "--approval-id", "x"]) == 4


def test_an_approved_apply_runs_once_and_creates_the_listing(mp):
    changes = package_change_set(DEFAULT_PLANS, LISTING)
    gate = MemoryApprovalGate()
    approval_id = approved(gate, changes)
    result = mp.change_sets().apply(changes, approval_id=approval_id, gate=gate, name="lakehouse-listing")
    assert result.status == "SUCCEEDED"
    products = [
        e
        for e in mp.state.catalog.entities.values()
        if e.entity_type == "SaaSProduct" and e.name == "Partner Central Lakehouse"
    ]
    assert len(products) == 2  # the seeded one and the new one
    new_offer = next(
        e
        for e in mp.state.catalog.entities.values()
        if e.entity_type == "Offer" and e.details.get("Name") == LISTING.offer_name
    )
    assert new_offer.details["State"] == "Released"
    assert gate.approvals[approval_id].status == "executed"
    with pytest.raises(ApprovalRefused, match="already executed"):
        mp.change_sets().apply(changes, approval_id=approval_id, gate=gate, name="lakehouse-listing")
    assert apply_intents(mp) == ["APPLY"]


class FlakyGate(MemoryApprovalGate):
    """Dies once while recording the execution (the APPLY already started)."""

    def __init__(self) -> None:
        super().__init__()
        self.failures = 1

    def mark_executed(self, approval_id, *, result):
        if self.failures:
            self.failures -= 1
            raise ConnectionError("approvals service unreachable")
        super().mark_executed(approval_id, result=result)


def test_a_crash_after_apply_started_finishes_the_same_change_set_on_rerun(mp):
    changes = package_change_set(DEFAULT_PLANS, LISTING)
    gate = FlakyGate()
    approval_id = approved(gate, changes)
    with pytest.raises(ConnectionError):
        mp.change_sets().apply(changes, approval_id=approval_id, gate=gate, name="lakehouse-listing")
    result = mp.change_sets().apply(changes, approval_id=approval_id, gate=gate, name="lakehouse-listing")
    assert result.status == "SUCCEEDED"
    assert apply_intents(mp) == ["APPLY"]  # no second APPLY change set
    assert gate.approvals[approval_id].result["change_set_id"] == result.change_set_id


def _rename(product_id: str, title: str) -> list[dict]:
    return [
        {
            "ChangeType": "UpdateInformation",
            "Entity": {"Type": "SaaSProduct@1.0", "Identifier": product_id},
            "DetailsDocument": {"ProductTitle": title},
        }
    ]


def test_a_locked_entity_is_retried_and_never_dropped(mp):
    product = mp.world.platform_product_id
    catalog = mp.client("catalog")
    mp.state.catalog.preparing_s = 0.3
    catalog.start_change_set(Catalog="AWSMarketplace", ChangeSet=_rename(product, "Held"))
    changes = _rename(product, "Renamed by approval")
    gate = MemoryApprovalGate()
    approval_id = approved(gate, changes, name="rename")
    result = mp.change_sets(backoff_base_s=0.05, backoff_cap_s=0.2, lock_retries=30).apply(
        changes, approval_id=approval_id, gate=gate, name="rename"
    )
    assert result.status == "SUCCEEDED"
    assert mp.state.catalog.entity(product).name == "Renamed by approval"
    assert mp.sandbox.count("StartChangeSet", outcome="ResourceInUseException") >= 1


def test_a_lock_that_outlasts_the_retries_defers_without_using_the_approval(mp):
    product = mp.world.platform_product_id
    mp.state.catalog.preparing_s = 60
    mp.client("catalog").start_change_set(Catalog="AWSMarketplace", ChangeSet=_rename(product, "Held"))
    changes = _rename(product, "Later")
    gate = MemoryApprovalGate()
    approval_id = approved(gate, changes, name="rename")
    with pytest.raises(EntityLocked, match="retry later"):
        mp.change_sets(lock_retries=2).apply(changes, approval_id=approval_id, gate=gate, name="rename")
    assert gate.approvals[approval_id].status == "approved"  # still executable later
    mp.state.catalog.preparing_s = 0.02
    time.sleep(0.05)
    mp.change_sets().wait(next(iter(mp.state.catalog.change_sets)))
    assert (
        mp.change_sets().apply(changes, approval_id=approval_id, gate=gate, name="rename").status
        == "SUCCEEDED"
    )


def test_a_failed_apply_surfaces_the_error_list(mp):
    changes = [
        {
            "ChangeType": "AddDimensions",
            "Entity": {"Type": "SaaSProduct@1.0", "Identifier": mp.world.platform_product_id},
            "DetailsDocument": {
                "Dimensions": [
                    {"Key": "api_calls", "Name": "Again", "Unit": "Requests", "Types": ["Metered"]}
                ]
            },
        }
    ]
    gate = MemoryApprovalGate()
    approval_id = approved(gate, changes, name="dup")
    with pytest.raises(ChangeSetFailed) as exc:
        mp.change_sets().apply(changes, approval_id=approval_id, gate=gate, name="dup")
    assert [(e.code, e.change_type) for e in exc.value.result.errors] == [
        ("DUPLICATE_DIMENSION_KEY", "AddDimensions")
    ]
    assert "already exists" in str(exc.value)
    assert apply_intents(mp) == [] and gate.approvals[approval_id].status == "approved"


def test_package_digest_is_what_the_approval_must_cover():
    packaged = package(DEFAULT_PLANS, LISTING, name="lakehouse-listing")
    gate = MemoryApprovalGate()
    approval_id = approved(gate, packaged.changes)
    assert gate.approvals[approval_id].payload_sha256 == packaged.payload_sha256
    assert packaged.action == APPLY_ACTION
