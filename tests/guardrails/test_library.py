"""The library side: the token bucket, ``guarded_run`` and the payload checks of the write flows (no services)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from lakehouse.errors import BadInput
from lakehouse.guardrails import NoGuardrails, QuotaExceeded, Reservation, TokenBucket, Usage, guarded_run
from lakehouse.partner_central.writes import (
    client_token,
    contains,
    deep_merge,
    full_replace_body,
    normalize_action,
    prepare,
)


class Ticks:
    def __init__(self) -> None:
        self.t = 100.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.t

    def sleep(self, s: float) -> None:
        self.slept.append(s)
        self.t += s


def test_the_token_bucket_spaces_calls_at_its_rate_after_the_burst():
    ticks = Ticks()
    bucket = TokenBucket(2.0, burst=3, clock=ticks.clock, sleep=ticks.sleep)
    waits = [bucket.acquire() for _ in range(5)]
    assert waits == [0.0, 0.0, 0.0, 0.5, 0.5]
    assert bucket.try_acquire() is False  # empty right now, and try_acquire never waits
    ticks.t += 10
    assert bucket.try_acquire() and bucket.try_acquire() and bucket.try_acquire() and not bucket.try_acquire()
    with pytest.raises(BadInput, match="rate must be positive"):
        TokenBucket(0)


class RecordingGate(NoGuardrails):
    def __init__(self, refuse: bool = False) -> None:
        super().__init__()
        self.refuse = refuse
        self.sources: list[str] = []

    def reserve(self, tenant_id: str, kind: str, *, run_id: str) -> Reservation:
        if self.refuse:
            raise QuotaExceeded("over")
        return Reservation("r1", tenant_id, kind, run_id, {"api_calls_per_minute": 120.0})

    def release(self, reservation, *, usage, usage_at, source) -> None:
        super().release(reservation, usage=usage, usage_at=usage_at, source=source)
        self.sources.append(source)


def test_guarded_run_releases_with_the_measured_time_even_when_the_run_fails():
    gate = RecordingGate()
    moments = iter([datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 1, 1, 0, 0, 2, 500_001, tzinfo=UTC)])
    with (
        pytest.raises(RuntimeError, match="boom"),
        guarded_run(gate, "acme", "pipeline_run", run_id="p1", clock=lambda: next(moments)) as guard,
    ):
        guard.usage = Usage(api_calls=7)
        raise RuntimeError("boom")
    ((reservation, usage),) = gate.released
    assert (reservation.run_id, usage.api_calls, usage.compute_seconds) == ("p1", 7, Decimal("2.500001"))
    assert gate.sources == ["pipeline_run"]


def test_guarded_run_does_not_start_the_run_when_refused_and_rejects_unknown_kinds():
    started = []
    with pytest.raises(QuotaExceeded), guarded_run(RecordingGate(refuse=True), "acme", "connector_sync"):
        started.append(True)
    assert started == []
    with pytest.raises(BadInput, match="unknown run kind"), guarded_run(RecordingGate(), "acme", "backfill"):
        pass


def test_the_reservation_turns_the_per_minute_quota_into_the_connectors_rate():
    reservation = Reservation("r", "acme", "connector_sync", "s", {"api_calls_per_minute": 120.0})
    assert (
        reservation.api_rate_per_second(10.0),
        reservation.api_rate_per_second(None),
        reservation.api_rate_per_second(1.0),
    ) == (2.0, 2.0, 1.0)
    assert Reservation("r", "acme", "connector_sync", "s", {}).api_rate_per_second(10.0) == 10.0
    assert Usage.seconds_between(
        datetime(2026, 1, 1), datetime(2026, 1, 1) + timedelta(microseconds=3)
    ) == Decimal("0.000003")


def test_payloads_are_checked_before_any_approval_exists():
    assert normalize_action("accept-invitation") == "partner_central.accept_invitation"
    with pytest.raises(BadInput, match="unknown Partner Central write action 'drop-table'"):
        normalize_action("drop-table")
    with pytest.raises(BadInput, match="must not carry Catalog or ClientToken"):
        prepare("create-opportunity", {"catalog": "Sandbox", "opportunity": {"ClientToken": "x"}})
    with pytest.raises(BadInput, match=r"unknown key\(s\) \['extra'\]"):
        prepare(
            "accept-invitation", {"catalog": "Sandbox", "invitation_id": "engi-abcdefghijklm", "extra": 1}
        )
    with pytest.raises(BadInput, match="catalog 'Prod' is not one of AWS, Sandbox"):
        prepare("accept-invitation", {"catalog": "Prod", "invitation_id": "engi-abcdefghijklm"})
    with pytest.raises(BadInput, match=r"LifeCycle.Stage is 'Won', not one of"):
        prepare(
            "update-opportunity",
            {
                "catalog": "AWS",
                "opportunity_id": "O1",
                "last_modified_date": "2026-01-01",
                "changes": {"LifeCycle": {"Stage": "Won"}},
            },
        )
    with pytest.raises(BadInput, match='Unknown parameter in LifeCycle: "Colour"'):
        prepare(
            "update-opportunity",
            {
                "catalog": "AWS",
                "opportunity_id": "O1",
                "last_modified_date": "2026-01-01",
                "changes": {"LifeCycle": {"Colour": "red"}},
            },
        )
    planned = prepare(
        "reject-invitation",
        {"catalog": "AWS", "invitation_id": "engi-abcdefghijklm", "rejection_reason": "Not our region"},
    )
    assert (planned.target, planned.calls[0].operation) == (
        "AWS/engagement-invitation/engi-abcdefghijklm",
        "RejectEngagementInvitation",
    )
    assert len(client_token("apr-1", "create")) <= 64


def test_a_full_replace_keeps_the_record_drops_system_fields_and_merges_the_change():
    current = {
        "Id": "O1",
        "Arn": "arn:x",
        "Catalog": "AWS",
        "LastModifiedDate": "2026-01-01T00:00:00Z",
        "Project": {
            "Title": "T",
            "CustomerBusinessProblem": "A long enough business problem text",
            "ExpectedCustomerSpend": [
                {
                    "Amount": "1",
                    "CurrencyCode": "USD",
                    "Frequency": "Monthly",
                    "TargetCompany": "AWS",
                    "EstimationUrl": None,
                }
            ],
        },
        "LifeCycle": {
            "Stage": "Prospect",
            "ReviewStatus": "Approved",
            "NextSteps": "old",
            "NextStepsHistory": [{"Value": "older", "Time": "2025-12-01T00:00:00Z"}],
        },
        "Marketing": {"Source": "None"},
    }
    body = full_replace_body(current, {"LifeCycle": {"NextSteps": "new"}, "Marketing": None})
    assert body == {
        "Project": {
            "Title": "T",
            "CustomerBusinessProblem": "A long enough business problem text",
            "ExpectedCustomerSpend": [
                {"Amount": "1", "CurrencyCode": "USD", "Frequency": "Monthly", "TargetCompany": "AWS"}
            ],
        },
        "LifeCycle": {"Stage": "Prospect", "NextSteps": "new"},
    }
    assert deep_merge({"a": {"b": 1, "c": 2}}, {"a": {"c": None, "d": 3}}) == {"a": {"b": 1, "d": 3}}
    assert contains({"LifeCycle": {"NextSteps": "new", "Stage": "x"}}, {"LifeCycle": {"NextSteps": "new"}})
    assert not contains({"LifeCycle": {"NextSteps": "other"}}, {"LifeCycle": {"NextSteps": "new"}})


def test_the_library_side_imports_neither_the_control_plane_nor_the_sandbox():
    import ast
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    for path in (
        root / "lakehouse" / "guardrails.py",
        root / "lakehouse" / "partner_central" / "writes.py",
    ):
        modules = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module:
                modules.add(node.module)
            elif isinstance(node, ast.Import):
                modules.update(a.name for a in node.names)
        assert not [m for m in modules if m.startswith("control_plane") or "sandbox" in m], path
