"""Generated Partner Central payloads and an independent, plain-Python computation of what silver/gold must hold.

The oracle shares no code with lakehouse.partner_central.transforms: it re-implements the documented rules (latest version by
LastModifiedDate then ingestion order, quarantine rules, mart definitions) with json/datetime/Decimal.
"""

from __future__ import annotations

import random
import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from .conftest import opportunity

STAGES = [
    "Prospect",
    "Qualified",
    "Technical Validation",
    "Business Validation",
    "Committed",
    "Launched",
    "Closed Lost",
]
REVIEWS = ["Pending Submission", "Submitted", "In review", "Approved", "Rejected", "Action Required"]
_AMOUNT = re.compile(r"^(0|[1-9][0-9]{0,15})(\.[0-9]{0,2})?$")

# personal data planted in bronze; none of it may appear beyond bronze
PLANTED_EMAILS = [
    "zelda.quartermaine@planted.example",
    "Ignatius.Wobble@Planted.Example",
    "team.rep.4711@partner-planted.example",
    "sender.person@aws-planted.example",
]
PLANTED_NAMES = [
    "Zelda",
    "Quartermaine",
    "Ignatius",
    "Wobblesworth",
    "Bartholomew",
    "Fizzlebottom",
    "Sendermann",
]
PLANTED_PHONES = ["+14155550123", "+442079460958", "+4915112345678"]


def contact(i: int) -> dict[str, Any]:
    return {
        "Email": PLANTED_EMAILS[i % 2],
        "FirstName": PLANTED_NAMES[(2 * i) % 4],
        "LastName": PLANTED_NAMES[(2 * i + 1) % 4],
        "Phone": PLANTED_PHONES[i % 3],
        "BusinessTitle": "CTO",
    }


TEAM = {
    "Email": PLANTED_EMAILS[2],
    "FirstName": PLANTED_NAMES[4],
    "LastName": PLANTED_NAMES[5],
    "Phone": PLANTED_PHONES[2],
    "BusinessTitle": "OpportunityOwner",
}


def random_opportunity(rng: random.Random, opp_id: str, day: int) -> dict[str, Any]:
    spend = [
        (
            f"{rng.randint(0, 5000)}{rng.choice(['', '.0', '.5', '.25'])}",
            rng.choice(["USD", "USD", "USD", "EUR"]),
            "Monthly",
        )
        for _ in range(rng.randint(0, 3))
    ]
    close = None if rng.random() < 0.1 else date(2025, rng.randint(1, 12), rng.randint(1, 28)).isoformat()
    return opportunity(
        opp_id,
        modified=f"2025-01-{day:02d}T{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:00Z",
        stage=rng.choice(STAGES),
        review=rng.choice(REVIEWS),
        close=close,
        spend=spend,
        contacts=[contact(i) for i in range(rng.randint(0, 2))],
        team=[TEAM] if rng.random() < 0.5 else [],
    )


def solution(sid: str, status: str = "Active") -> dict[str, Any]:
    return {
        "Catalog": "AWS",
        "Id": sid,
        "Arn": sid,
        "Name": f"Solution {sid}",
        "Status": status,
        "Category": "Software",
        "CreatedDate": "2024-06-01T00:00:00Z",
    }


def invitation(iid: str, status: str = "PENDING") -> dict[str, Any]:
    return {
        "Id": iid,
        "Catalog": "AWS",
        "PayloadType": "OpportunityInvitation",
        "Status": status,
        "InvitationDate": "2025-01-05T12:00:00Z",
        "SenderCompanyName": "Amazon Web Services",
        "Payload": {
            "OpportunityInvitation": {
                "SenderContacts": [
                    {
                        "Email": PLANTED_EMAILS[3],
                        "FirstName": PLANTED_NAMES[6],
                        "LastName": "Q",
                        "Phone": PLANTED_PHONES[0],
                        "BusinessTitle": "PSM",
                    }
                ],
                "Customer": {
                    "CompanyName": "Referral Co",
                    "CountryCode": "US",
                    "Industry": "Retail",
                    "WebsiteUrl": "https://referral.example",
                },
                "Project": {
                    "Title": "Referral",
                    "TargetCompletionDate": "2025-12-01",
                    "BusinessProblem": "Modernise the order platform before peak season",
                },
            }
        },
    }


@dataclass
class Batch:
    """One ingestion run's payloads, per entity."""

    run_id: str
    ingested_at: datetime
    opportunity: list[Any] = field(default_factory=list)
    solution: list[Any] = field(default_factory=list)
    engagement_invitation: list[Any] = field(default_factory=list)


def scenario_batches(seed: int = 7) -> tuple[Batch, Batch]:
    """Two runs: an initial load, then an incremental one with newer, older and malformed versions."""
    from .conftest import fixture_opportunity, utc

    rng = random.Random(seed)
    first = Batch("ingest-1", utc(2025, 2, 1, 8, 0, 0))
    first.opportunity.append(fixture_opportunity())
    ids = [f"O{1000 + i}" for i in range(40)]
    for i, oid in enumerate(ids):
        first.opportunity.append(random_opportunity(rng, oid, day=10 + i % 5))
    for oid in ids[:4]:  # older versions in the same batch
        first.opportunity.append(random_opportunity(rng, oid, day=1))
    first.opportunity += [
        opportunity(None, contacts=[contact(0)]),  # missing Id
        opportunity("O2001", modified="2025-13-45T00:00:00Z"),  # unparseable LastModifiedDate
        opportunity(
            "O2002", spend=[("1,000", "USD", "Monthly")], contacts=[contact(1)], team=[TEAM]
        ),  # bad Amount
        opportunity("O2003", stage="Negotiation", contacts=[contact(2)]),  # gate quarantine: unknown stage
    ]
    first.solution += [solution("S-1"), solution("S-2", "Draft")]
    first.engagement_invitation += [invitation("engi-0000000000001")]

    second = Batch("ingest-2", utc(2025, 2, 2, 8, 0, 0))
    for oid in ids[4:9]:  # newer versions: stage moves, spend shrinks to one entry
        newer = random_opportunity(rng, oid, day=25)
        newer["Project"]["ExpectedCustomerSpend"] = newer["Project"]["ExpectedCustomerSpend"][:1]
        second.opportunity.append(newer)
    for oid in ids[9:11]:  # stale versions arriving late: must not replace what silver holds
        second.opportunity.append(random_opportunity(rng, oid, day=2))
    tie = next(p for p in first.opportunity if isinstance(p, dict) and p.get("Id") == ids[11])
    same_instant = random_opportunity(rng, ids[11], day=1)
    same_instant["LastModifiedDate"] = tie["LastModifiedDate"]  # same LastModifiedDate: later ingestion wins
    second.opportunity.append(same_instant)
    second.opportunity.append(random_opportunity(rng, "O3000", day=26))
    second.opportunity.append("{this is not json")
    second.solution.append(solution("S-2", "Active"))
    second.engagement_invitation.append(invitation("engi-0000000000001", "ACCEPTED"))
    return first, second


# ------------------------------------------------------------------------------------------------ oracle


def _ts(text: Any) -> datetime | None:
    if not isinstance(text, str) or not text.strip():
        return None
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return None


def _day(text: Any) -> date | None:
    try:
        return date.fromisoformat(text) if isinstance(text, str) and text else None
    except ValueError:
        return None


def quarantine_reason(p: Any) -> str | None:
    """Why a payload is kept out of silver by the parsing rules, or None."""
    if not isinstance(p, dict):
        return "payload is not a JSON object"
    reasons = []
    if not str(p.get("Id") or "").strip():
        reasons.append("missing Id")
    if _ts(p.get("LastModifiedDate")) is None:
        reasons.append("missing or unparseable LastModifiedDate")
    amounts = [e.get("Amount") for e in (p.get("Project") or {}).get("ExpectedCustomerSpend") or []]
    if any(a not in (None, "") and not _AMOUNT.match(str(a).strip()) for a in amounts):
        reasons.append("Amount is not a decimal number")
    return "; ".join(reasons) or None


def gate_reason(p: dict[str, Any]) -> str | None:
    life = p.get("LifeCycle") or {}
    if life.get("Stage") is not None and life["Stage"] not in STAGES:
        return "quality: stage_is_known"
    if life.get("ReviewStatus") is not None and life["ReviewStatus"] not in REVIEWS:
        return "quality: review_status_is_known"
    return None


@dataclass
class Expected:
    current: dict[str, dict[str, Any]]
    quarantined: list[tuple[str | None, str]]
    pipeline: dict[tuple[Any, Any], tuple[int, Decimal]]
    win_rate: tuple[int, int, int, float | None]
    health: dict[Any, tuple[int, int, int]]


def expected(batches: list[Batch], as_of: date) -> Expected:
    """Silver and gold as the documented rules define them, computed in plain Python."""
    current: dict[str, tuple[tuple[datetime, int], dict[str, Any]]] = {}
    quarantined: list[tuple[str | None, str]] = []
    for order, batch in enumerate(batches):
        for p in batch.opportunity:
            reason = quarantine_reason(p)
            if reason:
                quarantined.append((p.get("Id") if isinstance(p, dict) else None, reason))
                continue
            gate = gate_reason(p)
            if gate:
                quarantined.append((p["Id"], gate))
                continue
            key = (_ts(p["LastModifiedDate"]), order)
            if p["Id"] not in current or key > current[p["Id"]][0]:
                current[p["Id"]] = (key, p)
    docs = {oid: p for oid, (_, p) in current.items()}
    pipeline: dict[tuple[Any, Any], list[Any]] = defaultdict(lambda: [0, Decimal(0)])
    won = lost = open_ = 0
    health: dict[Any, list[int]] = defaultdict(lambda: [0, 0, 0])
    for p in docs.values():
        life = p["LifeCycle"]
        stage, close = life.get("Stage"), _day(life.get("TargetCloseDate"))
        month = close.strftime("%Y-%m") if close else None
        group = pipeline[(stage, month)]
        group[0] += 1
        for e in p["Project"].get("ExpectedCustomerSpend") or []:
            if (
                e.get("CurrencyCode") == "USD"
                and e.get("Frequency") == "Monthly"
                and e.get("Amount") not in (None, "")
            ):
                group[1] += Decimal(e["Amount"])
        won += stage == "Launched"
        lost += stage == "Closed Lost"
        open_ += stage not in ("Launched", "Closed Lost")
        h = health[life.get("ReviewStatus")]
        h[0] += 1
        h[1] += bool(close and close < as_of and stage not in ("Launched", "Closed Lost"))
        h[2] += life.get("ReviewStatus") == "Action Required"
    return Expected(
        current=docs,
        quarantined=quarantined,
        pipeline={k: (v[0], v[1].quantize(Decimal("0.01"))) for k, v in pipeline.items()},
        win_rate=(won, lost, open_, won / (won + lost) if won + lost else None),
        health={k: tuple(v) for k, v in health.items()},  # type: ignore[misc]
    )
