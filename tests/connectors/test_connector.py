"""The Partner Central connector against the sandbox over real HTTP, landing into an in-memory sink (no Spark)."""

from __future__ import annotations

import ast
import math
from pathlib import Path

import pytest

from lakehouse.errors import BadInput, Refused
from lakehouse.guardrails import TokenBucket
from lakehouse.partner_central.connector import (
    CallBudget,
    ConnectorConfig,
    MemorySink,
    PartnerCentralReader,
    PartnerCentralSync,
    build_client,
    handle_event,
)
from sandboxes.partner_central import Faults

from .conftest import SIZES, config_for, reader_for

pytestmark = pytest.mark.slow  # over a second of work in all: left out of `make test-fast`

ROOT = Path(__file__).resolve().parents[2]


def sandbox_payloads(server, tenant: str, catalog: str = "Sandbox") -> dict[str, str]:
    """What the sandbox currently serves for each of the tenant's opportunities (id -> GetOpportunity body)."""
    return {
        i: server.state.opportunity_body(tenant, catalog, i).decode()
        for i in server.state.opportunity_ids(tenant, catalog)
    }


def landed_payloads(sink: MemorySink, catalog: str = "Sandbox") -> list[tuple[str, str]]:
    return sorted((r.entity_id, r.payload) for r in sink.rows.get((catalog, "opportunity"), []))


def sync(server, sink, tenant="acme", catalog="Sandbox", **kwargs):
    reader = kwargs.pop("reader", None) or reader_for(server, tenant)
    return PartnerCentralSync(reader, sink, catalog=catalog, **kwargs).run()


def test_first_sync_lands_all_second_lands_nothing_third_lands_the_three_updates(sandbox):
    sink = MemorySink()
    first = sync(sandbox, sink)
    assert first.status == "succeeded"
    expected = sandbox_payloads(sandbox, "acme")
    assert landed_payloads(sink) == sorted(expected.items())
    assert sandbox.calls("GetOpportunity") == SIZES["acme"]

    sandbox.reset_counters()
    second = sync(sandbox, sink)
    assert second.entities["opportunity"].landed == 0 and second.entities["opportunity"].fetched == 0
    assert sandbox.calls("GetOpportunity") == 0
    assert sandbox.calls("ListOpportunities") == 1

    changed = sandbox.state.touch_opportunities("acme", "Sandbox", count=3)
    sandbox.reset_counters()
    third = sync(sandbox, sink)
    stats = third.entities["opportunity"]
    assert (stats.fetched, stats.landed, stats.duplicates) == (3, 3, 0)
    assert sandbox.calls("GetOpportunity") == 3  # exactly one Get per changed opportunity
    assert sandbox.calls("ListOpportunities") <= math.ceil(stats.listed / 100) + 1
    new_versions = {r.entity_id: r.payload for r in sink.rows[("Sandbox", "opportunity")][-3:]}
    assert new_versions == {i: sandbox.state.opportunity_body("acme", "Sandbox", i).decode() for i in changed}
    assert len(sink.rows[("Sandbox", "opportunity")]) == SIZES["acme"] + 3
    assert sandbox.calls(kind="invalid") == 0  # every request the connector sent passed validation


def test_thirty_percent_throttling_still_lands_every_record_exactly_once(sandbox):
    sandbox.set_faults(Faults(throttle_rate=0.3, seed=3))
    sink = MemorySink()
    result = sync(sandbox, sink)
    assert result.status == "succeeded", result.error
    assert sandbox.calls(kind="throttled") > 10 and result.throttled == sandbox.calls(kind="throttled")
    rows = sink.rows[("Sandbox", "opportunity")]
    assert len(rows) == len({(r.entity_id, r.payload_sha256) for r in rows}) == SIZES["acme"]
    assert landed_payloads(sink) == sorted(sandbox_payloads(sandbox, "acme").items())
    assert sandbox.calls("GetOpportunity", kind="succeeded") == SIZES["acme"]  # no duplicate fetches either


def test_retries_are_botocores_retry_mode_and_every_one_is_counted_and_limited(sandbox):
    clock = [0.0]
    limiter = TokenBucket(10.0, clock=lambda: clock[0], sleep=lambda s: clock.__setitem__(0, clock[0] + s))
    adaptive = build_client(config_for(sandbox, "acme", max_attempts=3, retry_mode="adaptive"))
    assert adaptive.meta.config.retries == {"mode": "adaptive", "total_max_attempts": 3}
    reader = PartnerCentralReader(build_client(config_for(sandbox, "acme", max_attempts=6)), limiter=limiter)
    assert reader.client.meta.config.retries == {"mode": "standard", "total_max_attempts": 6}
    sandbox.set_faults(Faults(throttle_rate=0.2, error_rate=0.1, seed=13))
    result = sync(sandbox, MemorySink(), reader=reader)
    assert result.status == "succeeded", result.error
    failed_attempts = sandbox.calls(kind="throttled") + sandbox.calls(kind="faults")
    assert failed_attempts > 5
    assert result.retries == failed_attempts  # every failed attempt was retried, and counted once
    assert (result.throttled, result.server_errors) == (
        sandbox.calls(kind="throttled"),
        sandbox.calls(kind="faults"),
    )
    assert reader.stats.total == sandbox.calls(tenant="acme") == limiter.acquired


def test_server_errors_are_retried_and_give_up_after_max_attempts(sandbox):
    sandbox.set_faults(Faults(error_rate=0.25, seed=5))
    sink = MemorySink()
    assert sync(sandbox, sink).status == "succeeded"
    assert len(sink.rows[("Sandbox", "opportunity")]) == SIZES["acme"]
    sandbox.set_faults(Faults(error_rate=1.0))
    failed = sync(sandbox, MemorySink(), reader=reader_for(sandbox, "acme", max_attempts=3))
    assert failed.status == "failed" and "InternalServerException" in failed.error
    assert sandbox.calls("ListOpportunities", kind="faults") == 3


def test_daily_budget_stops_cleanly_and_the_next_run_resumes_without_gaps(sandbox):
    sink = MemorySink()
    budget = CallBudget(limit=25)
    reader = reader_for(sandbox, "acme", workers=1)
    reader.budget = budget
    partial = sync(sandbox, sink, reader=reader, entities=("opportunity",))
    assert partial.status == "partial" and "budget" in partial.error
    assert sandbox.calls() == 25 and budget.remaining == 0
    oldest_first = sandbox.state.opportunity_ids("acme", "Sandbox")
    landed = [r.entity_id for r in sink.rows[("Sandbox", "opportunity")]]
    assert landed == oldest_first[:24]  # one list call, then Gets for the 24 oldest changes
    assert partial.watermark_after_us == sink.rows[("Sandbox", "opportunity")][-1].last_modified_us

    resumed = sync(sandbox, sink, entities=("opportunity",))
    assert resumed.status == "succeeded"
    assert landed_payloads(sink) == sorted(sandbox_payloads(sandbox, "acme").items())
    assert sandbox.calls("GetOpportunity") == SIZES["acme"]  # the resumed run re-fetched nothing


def test_rate_limiter_spaces_calls_at_the_quota():
    now = [0.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    limiter = TokenBucket(10.0, clock=lambda: now[0], sleep=sleep)
    for _ in range(21):
        limiter.acquire()
    assert now[0] == pytest.approx(2.0)  # 21 calls at 10/s: the first is free, then one every 100 ms
    assert len(slept) == 20 and all(s == pytest.approx(0.1) for s in slept)
    now[0] += 5.0  # idle time does not bank more than the burst
    limiter.acquire()
    limiter.acquire()
    assert slept[-1] == pytest.approx(0.1)


def test_limiter_is_applied_to_every_http_attempt(sandbox):
    clock = [0.0]
    limiter = TokenBucket(10.0, clock=lambda: clock[0], sleep=lambda s: clock.__setitem__(0, clock[0] + s))
    reader = PartnerCentralReader(build_client(config_for(sandbox, "globex")), limiter=limiter)
    sandbox.set_faults(Faults(throttle_rate=0.3, seed=9))
    result = PartnerCentralSync(reader, MemorySink(), catalog="Sandbox").run()
    attempts = sandbox.calls(tenant="globex")
    assert result.status == "succeeded" and attempts == reader.stats.total
    assert clock[0] == pytest.approx((attempts - 1) / 10.0)


def test_events_fetch_just_the_named_opportunity_and_duplicates_are_harmless(sandbox):
    sink = MemorySink()
    reader = reader_for(sandbox, "acme")
    target = sandbox.state.opportunity_ids("acme", "Sandbox")[5]
    event = {
        "version": "1",
        "id": "e-1",
        "source": "aws.partnercentral-selling",
        "detail-type": "Opportunity Updated",
        "detail": {"schemaVersion": "1", "catalog": "Sandbox", "opportunity": {"identifier": target}},
    }
    first = handle_event(event, reader, sink)
    again = handle_event(event, reader, sink)
    assert (first.action, again.action) == ("landed", "duplicate")
    assert [r.entity_id for r in sink.rows[("Sandbox", "opportunity")]] == [target]
    assert sandbox.calls("GetOpportunity") == 2 and sandbox.calls() == 2
    invitation = next(iter(sandbox.state.tenants["acme"].catalog("Sandbox").invitations))
    inv_event = {
        "source": "aws.partnercentral-selling",
        "detail-type": "Engagement Invitation Created",
        "detail": {"catalog": "Sandbox", "engagementInvitation": {"id": invitation}},
    }
    assert handle_event(inv_event, reader, sink).action == "landed"
    ignored = handle_event(
        {
            "source": "aws.partnercentral-selling",
            "detail-type": "Engagement Member Added",
            "detail": {"catalog": "Sandbox"},
        },
        reader,
        sink,
    )
    assert ignored.action == "ignored" and sandbox.calls() == 3
    with pytest.raises(BadInput):
        handle_event({"source": "aws.s3", "detail-type": "Object Created"}, reader, sink)
    # the next sync skips the event-landed version without a Get
    sandbox.reset_counters()
    sync(sandbox, sink, entities=("opportunity",))
    assert sandbox.calls("GetOpportunity") == SIZES["acme"] - 1


def test_connector_assumes_the_tenant_role_with_its_external_id(sandbox):
    from sandboxes.partner_central import PLATFORM_ACCESS_KEY, PLATFORM_SECRET

    account = sandbox.state.tenants["globex"]
    config = ConnectorConfig(
        endpoint_url=sandbox.url,
        sts_endpoint_url=sandbox.url,
        role_arn=account.role_arn,
        external_id=account.external_id,
        aws_access_key_id=PLATFORM_ACCESS_KEY,
        aws_secret_access_key=PLATFORM_SECRET,
        rate_per_second=None,
    )
    sink = MemorySink()
    result = PartnerCentralSync(PartnerCentralReader.from_config(config), sink, catalog="Sandbox").run()
    assert result.status == "succeeded"
    assert len(sink.rows[("Sandbox", "opportunity")]) == SIZES["globex"]
    assert sandbox.calls("sts:AssumeRole", kind="succeeded") == 1
    assert sandbox.calls(tenant="globex") == result.total("fetched") + 4  # 1+1+2 list calls
    with pytest.raises(Refused, match="could not assume"):
        build_client(ConnectorConfig(**{**config.__dict__, "external_id": "wrong"}))


def test_all_reader_operations_pass_the_sandbox_validation(sandbox):
    reader = reader_for(sandbox, "acme")
    ids = [item.entity_id for page in reader.list_opportunities("AWS") for item in page]
    assert "O1111111" in ids
    summaries = [reader.get_aws_opportunity_summary("AWS", i) for i in ids]
    assert any(s is not None for s in summaries)
    engagements = [e for page in reader.list_engagements("Sandbox") for e in page]
    assert len(engagements) == 5
    assert sandbox.calls(kind="invalid") == 0 and sandbox.calls(kind="succeeded") > len(ids)


def test_the_connector_and_the_sandbox_share_no_code():
    def imports(path: Path) -> set[str]:
        tree = ast.parse(path.read_text())
        found = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module:
                found.add(node.module)
            elif isinstance(node, ast.Import):
                found.update(a.name for a in node.names)
        return found

    connector = imports(ROOT / "lakehouse" / "partner_central" / "connector.py") | imports(
        ROOT / "lakehouse" / "partner_central" / "ingest.py"
    )
    assert not [m for m in connector if "sandbox" in m]
    for path in (ROOT / "sandboxes").rglob("*.py"):
        assert not [m for m in imports(path) if m.startswith("lakehouse")], path
