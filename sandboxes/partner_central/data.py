"""Realistic seed data for the sandbox, shaped like the real payloads in ``fixtures/`` (and with their quirks).

Quirks kept on purpose: every optional member is present with an explicit ``null``; amounts are strings that are
sometimes written ``"531"`` and sometimes ``"531.0"``; bulk-imported records share one ``LastModifiedDate``;
list summaries may disagree with the full record (the fixture's company name differs between the two).
"""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta
from importlib import resources
from typing import Any

FIXTURE_PACKAGE = "sandboxes.partner_central.fixtures"
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def fixture_bytes(name: str) -> bytes:
    """The bytes of a packaged fixture file (copied verbatim from the shared fixtures)."""
    return resources.files(FIXTURE_PACKAGE).joinpath(name).read_bytes()


def to_us(value: datetime) -> int:
    """Epoch microseconds of an aware datetime."""
    delta = value - EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def from_us(us: int) -> datetime:
    return EPOCH + timedelta(microseconds=us)


def format_ts(us: int) -> str:
    """ISO-8601 UTC with milliseconds only when they are not zero (AWS writes both forms)."""
    dt = from_us(us)
    if dt.microsecond:
        return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_ts(text: str) -> int:
    """Epoch microseconds of an ISO-8601 timestamp (``Z`` or offset; fractional seconds allowed)."""
    value = text.strip().replace("Z", "+00:00").replace("z", "+00:00")
    dt = datetime.fromisoformat(value)
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return to_us(dt)


# ----------------------------------------------------------------------------------------------- vocabularies

_COMPANY_WORDS = (
    "Northwind",
    "Contoso",
    "Fabrikam",
    "Tailspin",
    "Wingtip",
    "Adventure",
    "Litware",
    "Proseware",
    "Lucerne",
    "Margie",
    "Trey",
    "Alpine",
    "Blue Yonder",
    "Coho",
    "Datum",
    "Fourth Coffee",
    "Graphic",
    "Humongous",
    "Wide World",
    "Woodgrove",
    "Relecloud",
    "Southridge",
    "Bellows",
    "Consolidated",
    "Lamna",
    "Munson",
)
_COMPANY_SUFFIX = ("Inc", "LLC", "GmbH", "Ltd", "S.A.", "Corp", "Group", "Holdings", "Labs", "Systems")
_INDUSTRIES = (
    "Financial Services",
    "Healthcare",
    "Retail",
    "Software and Internet",
    "Manufacturing",
    "Education",
    "Media and Entertainment",
    "Telecommunications",
    "Government",
    "Non-Profit Organization",
    "Energy - Power and Utilities",
    "Transportation and Logistics",
    "Life Sciences",
    "Professional Services",
    "Gaming",
    "Other",
)
_COUNTRIES = ("US", "US", "US", "US", "GB", "DE", "FR", "IN", "JP", "AU", "CA", "BR", "LT", "SG", "NL", "SE")
_CITIES = {
    "US": ("New York", "Seattle", "Austin", "Chicago", "Denver"),
    "GB": ("London", "Manchester"),
    "DE": ("Berlin", "Munich"),
    "FR": ("Paris", "Lyon"),
    "IN": ("Bengaluru", "Pune"),
    "JP": ("Tokyo", "Osaka"),
    "AU": ("Sydney", "Melbourne"),
    "CA": ("Toronto", "Vancouver"),
    "BR": ("Sao Paulo",),
    "LT": ("Vilnius",),
    "SG": ("Singapore",),
    "NL": ("Amsterdam",),
    "SE": ("Stockholm",),
}
_STAGES = (
    ("Prospect", 30),
    ("Qualified", 20),
    ("Technical Validation", 14),
    ("Business Validation", 10),
    ("Committed", 8),
    ("Launched", 10),
    ("Closed Lost", 8),
)
_USE_CASES = (
    "Database",
    "Migration / Database Migration",
    "Security & Compliance",
    "Analytics",
    "AI Machine Learning and Analytics",
    "Containers & Serverless",
    "Storage & Backup",
    "Business Applications & Contact Center",
    "Networking",
    "IoT",
)
_NEEDS = (
    "Co-Sell - Architectural Validation",
    "Co-Sell - Business Presentation",
    "Co-Sell - Competitive Information",
    "Co-Sell - Pricing Assistance",
    "Co-Sell - Technical Consultation",
    "Co-Sell - Total Cost of Ownership Evaluation",
    "Co-Sell - Deal Support",
)
_ACTIVITIES = (
    "Initialized discussions with customer",
    "Customer has shown interest in solution",
    "Conducted POC / Demo",
    "In evaluation / planning stage",
    "Agreed on solution to Business Problem",
    "Completed Action Plan",
    "Finalized Deployment Need",
    "SOW Signed",
)
_COMPETITORS = (
    "Oracle Cloud",
    "On-Prem",
    "Google Cloud Platform",
    "Microsoft Azure",
    "No Competition",
    None,
    None,
)
_LOST = (
    "Customer Deficiency",
    "Delay / Cancellation of Project",
    "Price",
    "Lost to Competitor - Google",
    "No Opportunity",
    "Technical Limitations",
)
_FIRST = (
    "Ana",
    "Ben",
    "Chen",
    "Dana",
    "Eli",
    "Fatima",
    "Goran",
    "Hana",
    "Ivan",
    "Jonas",
    "Kira",
    "Luis",
    "Mei",
    "Nora",
    "Omar",
    "Priya",
    "Ravi",
    "Sara",
    "Tomas",
    "Uma",
)
_LAST = ("Smith", "Kowalski", "Garcia", "Tanaka", "Nguyen", "Müller", "Okafor", "Rossi", "Silva", "Jensen")
_TITLES = ("PartnerAccountManager", "OpportunityOwner", "Sales Director", "Solutions Architect", "CTO")
_SOLUTION_CATEGORIES = (
    "Software Product",
    "Consulting Service",
    "Managed Service",
    "Hardware Product",
    "Communication Service",
    "Value-Added Resale AWS Service",
    "Training Service",
)


def _company(rng: random.Random) -> str:
    return f"{rng.choice(_COMPANY_WORDS)} {rng.choice(_COMPANY_SUFFIX)}"


def _amount(rng: random.Random) -> str:
    value = rng.choice((500, 531, 1200, 2500, 5000, 7500, 12500, 25000, 40000, 100000)) * rng.choice(
        (1, 1, 2, 3)
    )
    style = rng.random()
    if style < 0.6:
        return str(value)
    if style < 0.9:
        return f"{value}.0"  # the same money written another way, as real data does
    return f"{value}.{rng.randint(1, 99):02d}"


def _email(first: str, last: str, domain: str) -> str:
    local = f"{first}.{last}".lower().encode("ascii", "ignore").decode() or "contact"
    return f"{local}@{domain}"


def _domain(company: str) -> str:
    return "".join(ch for ch in company.lower() if ch.isalnum())[:24] + ".example.com"


def _contact(rng: random.Random, domain: str, title: str | None = None) -> dict[str, Any]:
    first, last = rng.choice(_FIRST), rng.choice(_LAST)
    return {
        "BusinessTitle": title or rng.choice(_TITLES),
        "Email": _email(first, last, domain),
        "FirstName": first,
        "LastName": last,
        "Phone": rng.choice((None, f"+1{rng.randint(2000000000, 9999999999)}")),
    }


def _date(us: int, days: int) -> str:
    return (from_us(us) + timedelta(days=days)).strftime("%Y-%m-%d")


def opportunity_record(
    rng: random.Random,
    opp_id: str,
    catalog: str,
    account_id: str,
    created_us: int,
    modified_us: int,
    solutions: list[str] | None = None,
) -> dict[str, Any]:
    """A full GetOpportunity response body (explicit nulls, the member order of the real payload)."""
    company = _company(rng)
    domain = _domain(company)
    country = rng.choice(_COUNTRIES)
    stage = rng.choices([s for s, _ in _STAGES], weights=[w for _, w in _STAGES])[0]
    review = (
        "Approved"
        if stage in ("Launched", "Committed", "Closed Lost")
        else rng.choice(
            ("Pending Submission", "Approved", "Approved", "Submitted", "In review", "Action Required")
        )
    )
    spend = [
        {
            "Amount": _amount(rng),
            "CurrencyCode": "USD" if rng.random() < 0.85 else rng.choice(("EUR", "GBP")),
            "EstimationUrl": None,
            "Frequency": "Monthly",
            "TargetCompany": "AWS",
        }
    ]
    with_revenue = rng.random() < 0.25
    return {
        "Arn": f"arn:aws:partnercentral:us-east-1:{account_id}:catalog/{catalog}/opportunity/{opp_id}"
        if rng.random() < 0.7
        else None,
        "Catalog": catalog,
        "CreatedDate": format_ts(created_us),
        "Customer": {
            "Account": {
                "Address": {
                    "City": rng.choice(_CITIES[country] + (None,)),
                    "CountryCode": country,
                    "PostalCode": f"{rng.randint(10000, 99999)}",
                    "StateOrRegion": "Washington" if country == "US" and rng.random() < 0.3 else None,
                    "StreetAddress": None if rng.random() < 0.6 else f"{rng.randint(1, 999)} Main St.",
                },
                "AwsAccountId": None if rng.random() < 0.5 else f"{rng.randint(10**11, 10**12 - 1)}",
                "CompanyName": company,
                "Duns": None if rng.random() < 0.7 else f"{rng.randint(10**8, 10**9 - 1)}",
                "Industry": rng.choice(_INDUSTRIES),
                "OtherIndustry": None,
                "WebsiteUrl": f"www.{domain}",
            },
            "Contacts": [] if rng.random() < 0.5 else [_contact(rng, domain, "Executive")],
        },
        "Id": opp_id,
        "LastModifiedDate": format_ts(modified_us),
        "LifeCycle": {
            "ClosedLostReason": rng.choice(_LOST) if stage == "Closed Lost" else None,
            "NextSteps": None if rng.random() < 0.5 else "Schedule the architecture review with the customer",
            "NextStepsHistory": None,
            "ReviewComments": None,
            "ReviewStatus": review,
            "ReviewStatusReason": None,
            "Stage": stage,
            "TargetCloseDate": _date(created_us, rng.randint(60, 400)),
        },
        "Marketing": {
            "AwsFundingUsed": None,
            "CampaignName": None,
            "Channels": None,
            "Source": rng.choice(("None", "None", "Marketing Activity")),
            "UseCases": None,
        },
        "NationalSecurity": "No",
        "OpportunityTeam": [_contact(rng, "partner.example.com", "OpportunityOwner")],
        "OpportunityType": rng.choice(("Net New Business", "Net New Business", "Expansion", "Flat Renewal")),
        "PartnerOpportunityIdentifier": None if rng.random() < 0.4 else f"CRM-{rng.randint(10000, 99999)}",
        "PrimaryNeedsFromAws": [rng.choice(_NEEDS)],
        "Project": {
            "AdditionalComments": None,
            "ApnPrograms": None,
            "CompetitorName": rng.choice(_COMPETITORS),
            "CustomerBusinessProblem": f"{company} needs to modernise its {rng.choice(_USE_CASES).lower()} "
            "platform to cut cost and improve resilience.",
            "CustomerUseCase": rng.choice(_USE_CASES),
            "DeliveryModels": rng.choice(
                (None, ["SaaS or PaaS"], ["Professional Services"], ["Managed Services"])
            ),
            "ExpectedCustomerSpend": spend,
            "OtherCompetitorNames": None,
            "OtherSolutionDescription": None,
            "RelatedOpportunityIdentifier": None,
            "SalesActivities": [rng.choice(_ACTIVITIES)],
            "Title": f"{company} {rng.choice(_USE_CASES)} {rng.choice(('modernisation', 'migration', 'rollout'))}",
        },
        "RelatedEntityIdentifiers": {
            "AwsMarketplaceOffers": [],
            "AwsProducts": [],
            "Solutions": list(solutions or []),
        },
        "SoftwareRevenue": {
            "DeliveryModel": rng.choice(("Contract", "Pay-as-you-go", "Subscription")),
            "EffectiveDate": _date(created_us, 30),
            "ExpirationDate": _date(created_us, 395),
            "Value": {"Amount": _amount(rng), "CurrencyCode": "USD"},
        }
        if with_revenue
        else None,
    }


def solution_record(rng: random.Random, sol_id: str, catalog: str, created_us: int) -> dict[str, Any]:
    """A ListSolutions item."""
    return {
        "Catalog": catalog,
        "Id": sol_id,
        "Name": f"{rng.choice(('Insight', 'Pulse', 'Forge', 'Harbor', 'Lumen', 'Vector'))} "
        f"{rng.choice(('Analytics', 'Backup', 'Connect', 'Guard', 'Migrate', 'Studio'))}",
        "Status": rng.choice(("Active", "Active", "Active", "Inactive", "Draft")),
        "Category": rng.choice(_SOLUTION_CATEGORIES),
        "CreatedDate": format_ts(created_us),
    }


def invitation_record(
    rng: random.Random,
    inv_id: str,
    engagement_id: str,
    catalog: str,
    receiver_account: str,
    invited_us: int,
    status: str,
) -> dict[str, Any]:
    """A GetEngagementInvitation response body for an AWS referral (OpportunityInvitation) sent to the partner."""
    company = _company(rng)
    region_part = "us-east-1"
    return {
        "Arn": f"arn:aws:partnercentral:{region_part}::catalog/{catalog}/engagement-invitation/{inv_id}",
        "PayloadType": "OpportunityInvitation",
        "Id": inv_id,
        "EngagementId": engagement_id,
        "EngagementTitle": f"{company} referral"[:40],
        "Status": status,
        "InvitationDate": format_ts(invited_us),
        "ExpirationDate": format_ts(invited_us + 15 * 86_400 * 1_000_000),
        "SenderAwsAccountId": "aws",
        "SenderCompanyName": "AWS",
        "Receiver": {"Account": {"AwsAccountId": receiver_account, "Alias": None}},
        "Catalog": catalog,
        "RejectionReason": None,
        "Payload": {
            "OpportunityInvitation": {
                "SenderContacts": [_contact(rng, "amazon.com", "PSM")],
                "ReceiverResponsibilities": [
                    rng.choice(("Software Partner", "Services Partner", "Reseller"))
                ],
                "Customer": {
                    "Industry": rng.choice(_INDUSTRIES),
                    "CompanyName": company,
                    "WebsiteUrl": f"www.{_domain(company)}",
                    "CountryCode": rng.choice(_COUNTRIES),
                },
                "Project": {
                    "BusinessProblem": f"{company} wants help to migrate its workloads to AWS this year.",
                    "Title": f"{company} migration",
                    "TargetCompletionDate": _date(invited_us, 180),
                    "ExpectedCustomerSpend": [
                        {
                            "Amount": _amount(rng),
                            "CurrencyCode": "USD",
                            "Frequency": "Monthly",
                            "TargetCompany": "AWS",
                        }
                    ],
                },
                "OpportunityType": "Net New Business",
            }
        },
        "InvitationMessage": "AWS would like to co-sell this opportunity with you.",
        "EngagementDescription": None,
        "ExistingMembers": [{"CompanyName": "AWS", "WebsiteUrl": "aws.amazon.com"}],
    }


def invitation_summary(record: dict[str, Any], participant: str = "RECEIVER") -> dict[str, Any]:
    """The ListEngagementInvitations item for a full invitation record."""
    keys = (
        "Arn",
        "PayloadType",
        "Id",
        "EngagementId",
        "EngagementTitle",
        "Status",
        "InvitationDate",
        "ExpirationDate",
        "SenderAwsAccountId",
        "SenderCompanyName",
        "Receiver",
        "Catalog",
    )
    summary = {k: record.get(k) for k in keys}
    summary["ParticipantType"] = participant
    return summary


def opportunity_summary(record: dict[str, Any]) -> dict[str, Any]:
    """The ListOpportunities item derived from a full record (member layout of the real list payload)."""
    account = ((record.get("Customer") or {}).get("Account")) or {}
    address = account.get("Address")
    life = record.get("LifeCycle") or {}
    project = record.get("Project") or {}
    return {
        "Arn": record.get("Arn"),
        "Catalog": record["Catalog"],
        "CreatedDate": record.get("CreatedDate"),
        "Customer": {
            "Account": {
                "Address": None
                if address is None
                else {k: address.get(k) for k in ("City", "CountryCode", "PostalCode", "StateOrRegion")},
                "CompanyName": account.get("CompanyName"),
                "Industry": account.get("Industry"),
                "OtherIndustry": account.get("OtherIndustry"),
                "WebsiteUrl": account.get("WebsiteUrl"),
            }
        }
        if account
        else None,
        "Id": record["Id"],
        "LastModifiedDate": record["LastModifiedDate"],
        "LifeCycle": {
            k: life.get(k)
            for k in (
                "ClosedLostReason",
                "NextSteps",
                "ReviewComments",
                "ReviewStatus",
                "ReviewStatusReason",
                "Stage",
                "TargetCloseDate",
            )
        },
        "OpportunityType": record.get("OpportunityType"),
        "PartnerOpportunityIdentifier": record.get("PartnerOpportunityIdentifier"),
        "Project": {
            "DeliveryModels": project.get("DeliveryModels"),
            "ExpectedCustomerSpend": project.get("ExpectedCustomerSpend"),
        },
    }


# Member layout of a full opportunity record, used to complete records created through the API.
OPPORTUNITY_TEMPLATE: dict[str, Any] = json.loads(fixture_bytes("get_opportunity_response.json"))


def complete_like(template: Any, value: Any) -> Any:
    """``value`` with every member of ``template`` present (missing ones null), recursively for structures."""
    if isinstance(template, dict) and isinstance(value, dict):
        out = {k: complete_like(template[k], value.get(k)) for k in template}
        out.update({k: v for k, v in value.items() if k not in template})
        return out
    return value


def company_name(rng: random.Random) -> str:
    """A made-up customer company name."""
    return _company(rng)
