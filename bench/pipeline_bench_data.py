"""Generated Partner Central bronze for bench/pipeline_bench.py: a tenant's history and a realistic 1% change.

Payloads are GetOpportunity-shaped JSON (the AWS sample response, tests/fixtures/partner_central), with the
fields the pipeline reads varied the way a partner's CRM history looks:

- creation dates spread over four years before ``NOW``; each opportunity lives 30-300 days, then 88% close
  (Launched 45% / Closed Lost 55%) at the end of that life and 12% are abandoned open (stale);
- opportunities still in their life are open, with a stage that follows their progress and a LastModifiedDate
  that is recent (exponential, mean 21 days: open deals get touched);
- ~10% of opportunities also land an older version (1-60 days before), ~1% of records are malformed (missing
  Id, unparseable LastModifiedDate, Amount "1,000", truncated JSON) or carry an unknown stage (gate quarantine);
- 0-2 customer contacts and an opportunity owner with synthetic names, emails and phones (PII stays in bronze),
  1-3 ExpectedCustomerSpend entries, amounts as "531" / "531.0" / "1200.50", 90% USD.

The change batch (``change_batch``) follows how Partner Central data changes between two syncs: most records
are updates of open opportunities picked with weight exp(-age/30 days) by their last modification (8% of them
close the opportunity, 12% advance it a stage), a few are late changes to recently closed ones (same weighting),
9% are new opportunities, ~1% malformed. ``ChangeMix`` states it.
Copied from nothing in tests/ (bench must not import tests).
"""

from __future__ import annotations

import hashlib
import json
import math
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np

NOW = datetime(2025, 7, 1, tzinfo=UTC)
AS_OF = date(2025, 7, 1)
TENANT = "bench"
OPEN_STAGES = ["Prospect", "Qualified", "Technical Validation", "Business Validation", "Committed"]
REVIEWS = ["Pending Submission", "Submitted", "In review", "Approved", "Rejected", "Action Required"]
REVIEW_WEIGHTS = [4, 6, 5, 75, 3, 7]
INDUSTRIES = [
    "Software and Internet",
    "Financial Services",
    "Healthcare",
    "Retail",
    "Manufacturing",
    "Media and Entertainment",
    "Non-Profit Organization",
    "Education",
    "Government",
    "Energy - Power and Utilities",
]
COUNTRIES = ["US", "GB", "DE", "FR", "LT", "IN", "JP", "BR", "CA", "AU"]
USE_CASES = [
    "Database",
    "Migration",
    "Analytics",
    "AI Machine Learning and Analytics",
    "Business Applications",
    "Containers & Serverless",
    "Security & Compliance",
    "Storage & Backup",
]
DELIVERY = ["SaaS or PaaS", "Professional Services", "Managed Services", "Resell"]
ACTIVITIES = [
    "Initialized discussions with customer",
    "Customer has shown interest in solution",
    "Conducted POC / Demo",
    "In evaluation / planning stage",
    "Agreed on solution to Business Problem",
    "Completed Action Plan",
    "SOW Signed",
]
NEEDS = [
    "Co-Sell - Architectural Validation",
    "Co-Sell - Business Presentation",
    "Co-Sell - Competitive Information",
    "Co-Sell - Pricing Assistance",
    "Co-Sell - Technical Consultation",
    "Co-Sell - Deal Support",
]
FIRST = ["Ada", "Grace", "Linus", "Margaret", "Dennis", "Barbara", "Ken", "Frances", "Edsger", "Radia"]
LAST = [
    "Lovelace",
    "Hopper",
    "Torvalds",
    "Hamilton",
    "Ritchie",
    "Liskov",
    "Thompson",
    "Allen",
    "Dijkstra",
    "Perlman",
]
TITLES = ["CTO", "VP Engineering", "Head of Data", "Procurement Lead", "Cloud Architect"]


def _iso(ts: datetime) -> str:
    return ts.strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class Opp:
    """What the generator remembers about an opportunity's current version (to derive changes from it)."""

    oid: str
    created: datetime
    modified: datetime
    stage: str
    close: date | None


def _person(rng: random.Random, n: int, title: str | None = None) -> dict[str, Any]:
    first, last = rng.choice(FIRST), rng.choice(LAST)
    return {
        "BusinessTitle": title or rng.choice(TITLES),
        "Email": f"{first.lower()}.{last.lower()}{n}@customer{n % 997}.example",
        "FirstName": first,
        "LastName": last,
        "Phone": f"+1{rng.randint(2000000000, 9899999999)}" if rng.random() < 0.7 else None,
    }


def _amount(rng: random.Random) -> str:
    whole = int(math.exp(rng.uniform(3, 11)))
    return rng.choice([f"{whole}", f"{whole}.0", f"{whole}.{rng.randint(0, 99):02d}"])


def payload(rng: random.Random, o: Opp, n: int) -> dict[str, Any]:
    """A GetOpportunity response for ``o``'s current version (``n`` varies synthetic text)."""
    company = f"Customer {n % 50000} {rng.choice(['Inc', 'GmbH', 'Ltd', 'SA', 'UAB'])}"
    closed = o.stage in ("Launched", "Closed Lost")
    history = [
        {"Time": _iso(o.created + timedelta(days=d)), "Value": f"Call {i + 1}: {rng.choice(ACTIVITIES)}"}
        for i, d in enumerate(sorted(rng.sample(range(1, 30), rng.randint(0, 3))))
    ]
    return {
        "Arn": f"arn:aws:partnercentral:us-east-1::catalog/AWS/opportunity/{o.oid}",
        "Catalog": "AWS",
        "CreatedDate": _iso(o.created),
        "Customer": {
            "Account": {
                "Address": {
                    "City": rng.choice([None, "Vilnius", "Seattle", "Berlin", "Tokyo"]),
                    "CountryCode": rng.choice(COUNTRIES),
                    "PostalCode": f"{rng.randint(10000, 99999)}",
                    "StateOrRegion": None,
                    "StreetAddress": None,
                },
                "AwsAccountId": f"{rng.randint(10**11, 10**12 - 1)}" if rng.random() < 0.4 else None,
                "CompanyName": company,
                "Duns": None,
                "Industry": rng.choice(INDUSTRIES),
                "OtherIndustry": None,
                "WebsiteUrl": f"www.customer{n % 50000}.example",
            },
            "Contacts": [_person(rng, n * 3 + k) for k in range(rng.choice([0, 1, 1, 2]))],
        },
        "Id": o.oid,
        "LastModifiedDate": _iso(o.modified),
        "LifeCycle": {
            "ClosedLostReason": rng.choice(["Price", "Lost to Competitor", "No Opportunity"])
            if o.stage == "Closed Lost"
            else None,
            "NextSteps": None if closed else f"Follow up on {rng.choice(USE_CASES).lower()} scoping",
            "NextStepsHistory": history or None,
            "ReviewComments": None,
            "ReviewStatus": rng.choices(REVIEWS, REVIEW_WEIGHTS)[0],
            "ReviewStatusReason": None,
            "Stage": o.stage,
            "TargetCloseDate": o.close.isoformat() if o.close else None,
        },
        "Marketing": {
            "AwsFundingUsed": None,
            "CampaignName": None,
            "Channels": None,
            "Source": rng.choice(["None", "Marketing Activity"]),
            "UseCases": None,
        },
        "NationalSecurity": "No",
        "OpportunityTeam": [_person(rng, n * 3 + 2, "OpportunityOwner")],
        "OpportunityType": rng.choice(["Net New Business", "Net New Business", "Expansion", "Flat Renewal"]),
        "PartnerOpportunityIdentifier": f"CRM-{n:08d}" if rng.random() < 0.6 else None,
        "PrimaryNeedsFromAws": rng.sample(NEEDS, rng.randint(1, 2)),
        "Project": {
            "AdditionalComments": None,
            "ApnPrograms": None,
            "CompetitorName": None,
            "CustomerBusinessProblem": f"{company} needs to {rng.choice(USE_CASES).lower()} for its "
            f"{rng.choice(['order platform', 'data warehouse', 'ERP', 'web shop'])} "
            f"before the next peak season without downtime",
            "CustomerUseCase": rng.choice(USE_CASES),
            "DeliveryModels": rng.sample(DELIVERY, rng.randint(1, 2)),
            "ExpectedCustomerSpend": [
                {
                    "Amount": _amount(rng),
                    "CurrencyCode": rng.choices(["USD", "EUR", "GBP"], [90, 6, 4])[0],
                    "EstimationUrl": None,
                    "Frequency": "Monthly",
                    "TargetCompany": "AWS",
                }
                for _ in range(rng.choice([1, 1, 2, 3]))
            ],
            "OtherCompetitorNames": None,
            "OtherSolutionDescription": None,
            "RelatedOpportunityIdentifier": None,
            "SalesActivities": rng.sample(ACTIVITIES, rng.randint(1, 3)),
            "Title": f"{rng.choice(USE_CASES)} for {company}",
        },
        "RelatedEntityIdentifiers": {
            "AwsMarketplaceOffers": [],
            "AwsProducts": [],
            "Solutions": [f"S-{rng.randint(1, 40):07d}"] if rng.random() < 0.5 else [],
        },
        "SoftwareRevenue": None,
    }


def _history_opp(rng: random.Random, i: int) -> Opp:
    created = NOW - timedelta(days=rng.uniform(0, 4 * 365))
    life = timedelta(days=rng.uniform(30, 300))
    end = created + life
    if end < NOW:
        if rng.random() < 0.88:
            stage = "Launched" if rng.random() < 0.45 else "Closed Lost"
            modified = end
        else:  # abandoned: still open, not touched since somewhere in its life
            stage = rng.choice(OPEN_STAGES)
            modified = created + life * rng.random()
    else:
        progress = (NOW - created) / life
        stage = OPEN_STAGES[min(4, int(progress * 5))]
        modified = max(created, NOW - timedelta(days=rng.expovariate(1 / 21)))
    close = None if rng.random() < 0.05 else end.date()
    return Opp(f"O{10_000_000 + i}", created, min(modified, NOW - timedelta(minutes=1)), stage, close)


MALFORMED_KINDS = (
    "missing Id",
    "unparseable LastModifiedDate",
    "Amount not a decimal",
    "not JSON",
    "unknown stage (gate)",
)


def malformed(rng: random.Random, o: Opp, n: int) -> str:
    """One malformed record, rotating through MALFORMED_KINDS."""
    doc = payload(rng, o, n)
    kind = MALFORMED_KINDS[n % len(MALFORMED_KINDS)]
    if kind == "missing Id":
        del doc["Id"]
    elif kind == "unparseable LastModifiedDate":
        doc["LastModifiedDate"] = "2025-13-45T25:61:00Z"
    elif kind == "Amount not a decimal":
        doc["Project"]["ExpectedCustomerSpend"][0]["Amount"] = "1,000"
    elif kind == "unknown stage (gate)":
        doc["LifeCycle"]["Stage"] = "Negotiation"
    else:
        return json.dumps(doc, separators=(",", ":"))[:700]
    return json.dumps(doc, separators=(",", ":"))


def _row(text: str, run_id: str, ingested_at: datetime) -> tuple[Any, ...]:
    try:
        doc = json.loads(text)
    except ValueError:
        doc = None
    oid = doc.get("Id") if isinstance(doc, dict) else None
    try:
        modified = datetime.fromisoformat(doc["LastModifiedDate"]) if isinstance(doc, dict) else None
    except (KeyError, ValueError, TypeError):
        modified = None
    return (
        TENANT,
        "AWS",
        oid,
        modified,
        text,
        hashlib.sha256(text.encode()).hexdigest(),
        run_id,
        ingested_at,
    )


BRONZE_COLUMNS = (
    "tenant_id",
    "catalog",
    "entity_id",
    "last_modified_at",
    "payload",
    "payload_sha256",
    "ingestion_run_id",
    "ingested_at",
)


@dataclass
class History:
    """The generated tenant: current versions by id, plus counts for the report."""

    opps: list[Opp] = field(default_factory=list)
    records: int = 0
    older_versions: int = 0
    malformed: int = 0


def history_chunks(
    n: int, *, seed: int = 42, chunk: int = 50_000, older: float = 0.10, bad: float = 0.01, runs: int = 10
) -> tuple[History, Iterator[list[tuple[Any, ...]]]]:
    """The initial bronze of ``n`` opportunities as row chunks (one ingestion run per ~n/runs opportunities)."""
    hist = History()

    def gen() -> Iterator[list[tuple[Any, ...]]]:
        rng = random.Random(seed)
        per_run = max(1, math.ceil(n / runs))
        rows: list[tuple[Any, ...]] = []
        for i in range(n):
            run = i // per_run
            run_id, at = f"bench-initial-{run:02d}", NOW - timedelta(hours=runs - run)
            o = _history_opp(rng, i)
            if rng.random() < bad:
                rows.append(_row(malformed(rng, o, i), run_id, at))
                hist.malformed += 1
            else:
                hist.opps.append(o)
                if rng.random() < older:
                    earlier = Opp(
                        o.oid,
                        o.created,
                        max(o.created, o.modified - timedelta(days=rng.uniform(1, 60))),
                        OPEN_STAGES[OPEN_STAGES.index(o.stage) - 1]
                        if o.stage in OPEN_STAGES[1:]
                        else "Prospect",
                        o.close,
                    )
                    rows.append(_row(json.dumps(payload(rng, earlier, i), separators=(",", ":")), run_id, at))
                    hist.older_versions += 1
                rows.append(_row(json.dumps(payload(rng, o, i), separators=(",", ":")), run_id, at))
            if len(rows) >= chunk:
                hist.records += len(rows)
                yield rows
                rows = []
        if rows:
            hist.records += len(rows)
            yield rows

    return hist, gen()


@dataclass
class ChangeMix:
    """What a change batch holds, for the report."""

    records: int = 0
    updates_open: int = 0
    updates_closed: int = 0
    new: int = 0
    malformed: int = 0
    closing: int = 0  # open opportunities whose update closes them
    advancing: int = 0  # open opportunities moving one stage forward
    age_days: list[float] = field(default_factory=list)  # age of the previous version of each update

    def describe(self) -> str:
        """One paragraph stating the distribution."""
        ages = np.array(self.age_days) if self.age_days else np.array([0.0])

        def share(k: int) -> str:
            return f"{100 * k / max(1, self.records):.1f}%"

        def within(d: float) -> str:
            return f"{100 * float((ages <= d).mean()):.0f}%"

        return (
            f"{self.records:,} records: {self.updates_open:,} updates of open opportunities ({share(self.updates_open)}; "
            f"{self.advancing:,} advance a stage, {self.closing:,} close as Launched/Closed Lost), "
            f"{self.updates_closed:,} late changes to recently closed ones ({share(self.updates_closed)}), "
            f"{self.new:,} new opportunities ({share(self.new)}), {self.malformed:,} malformed ({share(self.malformed)}). "
            f"Updated opportunities were picked with weight exp(-age/30 d) by last modification: previous version "
            f"modified within 7 d {within(7)}, 30 d {within(30)}, 90 d {within(90)}, 365 d {within(365)} "
            f"(median {float(np.median(ages)):.0f} d)."
        )


def change_batch(
    hist: History,
    fraction: float = 0.01,
    *,
    closed_share: float = 0.01,
    seed: int = 7,
    run_id: str = "bench-change-1",
    at: datetime | None = None,
) -> tuple[ChangeMix, list[tuple[Any, ...]]]:
    """A sync's worth of changes: ``fraction`` of the tenant's opportunity count, distributed as Partner Central
    changes: 9% new opportunities, 1% malformed, ``closed_share`` late changes to recently closed ones (AWS-side
    review or Marketplace fields; partners cannot edit Launched / Closed Lost opportunities), the rest updates of
    open opportunities."""
    rng = random.Random(seed)
    nrng = np.random.default_rng(seed)
    at = at or NOW + timedelta(days=1)
    total = max(10, int(len(hist.opps) * fraction))
    n_new, n_closed, n_bad = int(total * 0.09), int(total * closed_share), max(1, int(total * 0.01))
    n_open = total - n_new - n_closed - n_bad
    mix = ChangeMix(records=total, new=n_new, malformed=n_bad)
    rows: list[tuple[Any, ...]] = []

    def pick(pool: list[Opp], k: int) -> list[Opp]:
        if not pool or k <= 0:
            return []
        age = np.array([(NOW - o.modified).total_seconds() / 86400 for o in pool])
        w = np.exp(-age / 30)
        chosen = nrng.choice(len(pool), size=min(k, len(pool)), replace=False, p=w / w.sum())
        return [pool[i] for i in chosen]

    open_pool = [o for o in hist.opps if o.stage in OPEN_STAGES]
    closed_pool = [o for o in hist.opps if o.stage not in OPEN_STAGES]
    for k, (o, is_open) in enumerate(
        [(o, True) for o in pick(open_pool, n_open)] + [(o, False) for o in pick(closed_pool, n_closed)]
    ):
        mix.age_days.append((NOW - o.modified).total_seconds() / 86400)
        modified = NOW + timedelta(seconds=rng.uniform(0, 86000))
        stage = o.stage
        if is_open:
            mix.updates_open += 1
            r = rng.random()
            if r < 0.08:
                stage = "Launched" if rng.random() < 0.5 else "Closed Lost"
                mix.closing += 1
            elif r < 0.20 and stage != OPEN_STAGES[-1]:
                stage = OPEN_STAGES[OPEN_STAGES.index(stage) + 1]
                mix.advancing += 1
        else:
            mix.updates_closed += 1
        new = Opp(o.oid, o.created, modified, stage, o.close)
        rows.append(_row(json.dumps(payload(rng, new, 7_000_000 + k), separators=(",", ":")), run_id, at))
    base = 10_000_000 + len(hist.opps) * 2
    for j in range(n_new):
        o = Opp(
            f"O{base + j}",
            NOW,
            NOW + timedelta(seconds=rng.uniform(0, 86000)),
            rng.choice(OPEN_STAGES[:2]),
            (NOW + timedelta(days=rng.uniform(30, 300))).date(),
        )
        rows.append(_row(json.dumps(payload(rng, o, 8_000_000 + j), separators=(",", ":")), run_id, at))
    for j in range(n_bad):
        o = Opp(f"O{base + n_new + j}", NOW, NOW, "Prospect", None)
        rows.append(_row(malformed(rng, o, j), run_id, at))
    return mix, rows


def arrow_table(rows: list[tuple[Any, ...]]):  # type: ignore[no-untyped-def]
    """Bronze rows as a pyarrow table in bronze.partner_central_opportunity's column order."""
    import pyarrow as pa

    cols = list(zip(*rows, strict=False)) if rows else [[] for _ in BRONZE_COLUMNS]
    ts = pa.timestamp("us", tz="UTC")
    types = [pa.string(), pa.string(), pa.string(), ts, pa.string(), pa.string(), pa.string(), ts]
    return pa.table(
        {name: pa.array(list(c), type=t) for name, c, t in zip(BRONZE_COLUMNS, cols, types, strict=False)}
    )
