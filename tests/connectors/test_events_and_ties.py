"""Event bursts cost one Get per resource; a listing that shows a lifecycle state bronze lacks is re-fetched."""

from __future__ import annotations

import copy

import pytest

from lakehouse.errors import BadInput
from lakehouse.partner_central.connector import (
    EventLedger,
    MemorySink,
    PartnerCentralSync,
    handle_event,
    handle_events,
)

from .conftest import SIZES, reader_for


def opportunity_event(event_id: str, opp_id: str, detail_type: str = "Opportunity Updated") -> dict:
    return {
        "version": "0",
        "id": event_id,
        "source": "aws.partnercentral-selling",
        "detail-type": detail_type,
        "detail": {"schemaVersion": "1", "catalog": "Sandbox", "opportunity": {"identifier": opp_id}},
    }


def test_a_redelivered_event_id_costs_no_call_when_a_ledger_is_kept(sandbox):
    reader, sink, ledger = reader_for(sandbox, "acme"), MemorySink(), EventLedger()
    target = sandbox.state.opportunity_ids("acme", "Sandbox")[3]
    first = handle_event(opportunity_event("ev-1", target), reader, sink, ledger=ledger)
    again = handle_event(opportunity_event("ev-1", target), reader, sink, ledger=ledger)
    assert (first.action, again.action) == ("landed", "duplicate_event")
    assert sandbox.calls("GetOpportunity") == 1


def test_a_burst_is_deduplicated_by_event_id_and_coalesced_per_resource(sandbox):
    reader, sink = reader_for(sandbox, "acme"), MemorySink()
    a, b = sandbox.state.opportunity_ids("acme", "Sandbox")[:2]
    invitation = next(iter(sandbox.state.tenants["acme"].catalog("Sandbox").invitations))
    burst = [
        opportunity_event("e1", a, "Opportunity Created"),
        opportunity_event("e1", a, "Opportunity Created"),  # the same event delivered twice
        opportunity_event("e2", a),  # another event on the same opportunity in the same burst
        opportunity_event("e3", b),
        {"id": "e4", "source": "aws.partnercentral-selling", "detail-type": "Engagement Invitation Created",
         "detail": {"catalog": "Sandbox", "engagementInvitation": {"id": invitation}}},
        {"id": "e5", "source": "aws.partnercentral-selling", "detail-type": "Engagement Member Added",
         "detail": {"catalog": "Sandbox"}},
    ]  # fmt: skip
    results = handle_events(burst, reader, sink)
    assert [r.action for r in results] == [
        "landed",
        "duplicate_event",
        "coalesced",
        "landed",
        "landed",
        "ignored",
    ]
    assert [r.event_id for r in results] == ["e1", "e1", "e2", "e3", "e4", "e5"]
    assert sandbox.calls("GetOpportunity") == 2 and sandbox.calls("GetEngagementInvitation") == 1
    assert sorted(r.entity_id for r in sink.rows[("Sandbox", "opportunity")]) == sorted([a, b])


def test_a_malformed_event_in_a_burst_refuses_the_burst_before_any_call(sandbox):
    reader = reader_for(sandbox, "acme")
    good = opportunity_event("e1", sandbox.state.opportunity_ids("acme", "Sandbox")[0])
    bad = {
        "id": "e2",
        "source": "aws.partnercentral-selling",
        "detail-type": "Opportunity Updated",
        "detail": {},
    }
    with pytest.raises(BadInput, match="lacks a catalog or an identifier"):
        handle_events([good, bad], reader, MemorySink())
    assert sandbox.calls() == 0


def test_the_ledger_forgets_the_oldest_ids_beyond_its_capacity():
    ledger = EventLedger(capacity=2)
    assert [ledger.first_time(i) for i in ("a", "b", "a", "c", "a")] == [True, True, False, True, True]
    assert ledger.first_time(None) and ledger.first_time(None)


def review_without_new_timestamp(sandbox, opp_id: str, status: str) -> None:
    """AWS's review moves ReviewStatus; the record keeps its LastModifiedDate (what real payloads showed)."""
    cat = sandbox.state.tenants["acme"].catalog("Sandbox")
    entry = cat.opportunities[opp_id]
    record = copy.deepcopy(entry.record)
    record["LifeCycle"] = {**record["LifeCycle"], "ReviewStatus": status}
    entry.record = record
    entry.raw, entry._body, entry._summary, entry.summary_override = None, None, None, None


def test_a_listing_showing_a_review_status_bronze_lacks_is_fetched_once_though_its_timestamp_is_known(
    sandbox,
):
    reader, sink = reader_for(sandbox, "acme"), MemorySink()
    PartnerCentralSync(reader, sink, catalog="Sandbox", entities=("opportunity",)).run()
    assert len(sink.rows[("Sandbox", "opportunity")]) == SIZES["acme"]
    # the newest record, so the overlap window of the next incremental sync lists it again
    newest = sandbox.state.opportunity_ids("acme", "Sandbox")[-1]
    before = sandbox.state.tenants["acme"].catalog("Sandbox").opportunities[newest].lmd_us
    current = (
        sandbox.state.tenants["acme"]
        .catalog("Sandbox")
        .opportunities[newest]
        .record["LifeCycle"]["ReviewStatus"]
    )
    review_without_new_timestamp(sandbox, newest, "Rejected" if current != "Rejected" else "Approved")
    sandbox.reset_counters()
    result = PartnerCentralSync(
        reader_for(sandbox, "acme"), sink, catalog="Sandbox", entities=("opportunity",)
    ).run()
    stats = result.entities["opportunity"]
    assert sandbox.calls("GetOpportunity") == 1 and stats.refetched_ties == 1
    versions = [r for r in sink.rows[("Sandbox", "opportunity")] if r.entity_id == newest]
    assert len(versions) == 2 and {v.last_modified_us for v in versions} == {before}
    sandbox.reset_counters()  # the next run finds both states stored: no call
    PartnerCentralSync(reader_for(sandbox, "acme"), sink, catalog="Sandbox", entities=("opportunity",)).run()
    assert sandbox.calls("GetOpportunity") == 0
