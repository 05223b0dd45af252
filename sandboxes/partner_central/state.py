"""The sandbox's in-memory Partner Central: tenants (caller identities), their catalogs and the operations.

Each tenant is one partner account with its own access key and two roles whose trust policies the emulator
enforces the way IAM does (terraform/modules/iam): the linked-account read role, assumable only with the
tenant's ExternalId, and the write role, assumable only with an ``approval_id`` session tag. A request sees only
the data of the account its signature names. Opportunities are kept in a
``(LastModifiedDate, Id)`` index so a ``LastModifiedDate``-sorted, filtered listing costs a bisect, not a sort.
"""

from __future__ import annotations

import base64
import bisect
import copy
import hashlib
import json
import random
import secrets
import string
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, ClassVar

from sandboxes._http import ApiError
from sandboxes._sigv4 import SigningAccount
from sandboxes.partner_central import data as D
from sandboxes.partner_central.engagements import SellingOperations

JSON_SEPARATORS = (",", ":")


def validation_error(
    message: str, errors: list[dict[str, str]], reason: str = "REQUEST_VALIDATION_FAILED"
) -> ApiError:
    return ApiError("ValidationException", message, 400, Reason=reason, ErrorList=errors)


def business_error(field_name: str, message: str, code: str) -> ApiError:
    return validation_error(
        message,
        [{"FieldName": field_name, "Message": message, "Code": code}],
        reason="BUSINESS_VALIDATION_FAILED",
    )


def not_found(message: str) -> ApiError:
    return ApiError("ResourceNotFoundException", message, 404)


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=JSON_SEPARATORS, ensure_ascii=False)


def _rand_id(rng: random.Random, n: int) -> str:
    return "".join(rng.choice(string.ascii_lowercase + string.digits) for _ in range(n))


# ------------------------------------------------------------------------------------------------- records


class OpportunityEntry:
    """One opportunity: its full record, timestamps, and cached wire forms (raw bytes when seeded verbatim)."""

    __slots__ = ("_body", "_summary", "created_us", "lmd_us", "raw", "record", "summary_override")

    def __init__(
        self, record: dict[str, Any], raw: bytes | None = None, summary: dict[str, Any] | None = None
    ):
        self.record = record
        self.lmd_us = D.parse_ts(record["LastModifiedDate"])
        self.created_us = D.parse_ts(record["CreatedDate"])
        self.raw = raw
        self.summary_override = summary
        self._body: bytes | None = None
        self._summary: str | None = None

    @property
    def id(self) -> str:
        """The opportunity id (``O<digits>``)."""
        return str(self.record["Id"])

    def body(self) -> bytes:
        """The GetOpportunity response body: the verbatim seed bytes until the record first changes."""
        if self.raw is not None:
            return self.raw
        if self._body is None:
            self._body = _dumps(self.record).encode()
        return self._body

    def summary_json(self) -> str:
        if self._summary is None:
            self._summary = _dumps(self.summary_override or D.opportunity_summary(self.record))
        return self._summary

    def changed(self, lmd_us: int) -> None:
        """Drop every cached form after the record changed at ``lmd_us``."""
        self.record["LastModifiedDate"] = D.format_ts(lmd_us)
        self.lmd_us = lmd_us
        self.raw = None
        self.summary_override = None
        self._body = None
        self._summary = None


@dataclass
class CatalogData:
    """Everything one account holds in one catalog (``AWS`` or ``Sandbox``)."""

    name: str
    opportunities: dict[str, OpportunityEntry] = field(default_factory=dict)
    index: list[tuple[int, str]] = field(default_factory=list)  # sorted (lmd_us, id)
    solutions: dict[str, dict[str, Any]] = field(default_factory=dict)
    invitations: dict[str, dict[str, Any]] = field(default_factory=dict)
    engagements: dict[str, dict[str, Any]] = field(default_factory=dict)
    aws_summaries: dict[str, dict[str, Any]] = field(default_factory=dict)
    tasks: dict[str, dict[str, Any]] = field(default_factory=dict)
    client_tokens: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)

    def put(self, entry: OpportunityEntry) -> None:
        old = self.opportunities.get(entry.id)
        if old is not None:
            self._unindex(old)
        self.opportunities[entry.id] = entry
        bisect.insort(self.index, (entry.lmd_us, entry.id))

    def _unindex(self, entry: OpportunityEntry) -> None:
        i = bisect.bisect_left(self.index, (entry.lmd_us, entry.id))
        if i < len(self.index) and self.index[i] == (entry.lmd_us, entry.id):
            del self.index[i]

    def bump(self, entry: OpportunityEntry, lmd_us: int) -> None:
        self._unindex(entry)
        entry.changed(lmd_us)
        bisect.insort(self.index, (entry.lmd_us, entry.id))


@dataclass
class TenantAccount(SigningAccount):
    """A partner account in the sandbox; ``tenant_id`` is the lakehouse tenant it stands for."""

    tenant_id: str = ""
    role_arn: str = ""
    external_id: str | None = None
    write_role_arn: str = ""
    catalogs: dict[str, CatalogData] = field(default_factory=dict)

    def catalog(self, name: str) -> CatalogData:
        """The account's data in catalog ``name`` (created empty on first use)."""
        if name not in self.catalogs:
            self.catalogs[name] = CatalogData(name)
        return self.catalogs[name]

    def credentials(self) -> dict[str, str]:
        """What a client needs to call the sandbox as this tenant (or to assume its role)."""
        return {
            "tenant_id": self.tenant_id,
            **super().credentials(),
            "role_arn": self.role_arn,
            "external_id": self.external_id or "",
            "write_role_arn": self.write_role_arn,
        }


@dataclass
class RoleTrust:
    """A role's trust policy as the emulator enforces it (the conditions of terraform/modules/iam).

    ``external_id``: the ``sts:ExternalId`` the caller must present (None: no such condition);
    ``required_tags``: session tags that must be present (``aws:RequestTag/<key>`` is not Null);
    ``tag_session``: whether the trust allows ``sts:TagSession`` (without it, AssumeRole with tags is refused).
    """

    tenant_id: str
    external_id: str | None = None
    required_tags: tuple[str, ...] = ()
    tag_session: bool = False


@dataclass
class Principal:
    """A credential the sandbox accepts: a tenant's key, an assumed-role session, or the platform's key."""

    access_key_id: str
    secret_access_key: str
    tenant_id: str | None  # None: the platform principal (may only call STS)
    session_token: str | None = None
    expires_at: float | None = None


PLATFORM_ACCESS_KEY = "AKIASANDBOXPLATFORM0"
PLATFORM_SECRET = "sandbox-platform-secret-key-do-not-use-in-aws"


def _derive(tenant_id: str, what: str, n: int, alphabet: str) -> str:
    digest = hashlib.sha256(f"{tenant_id}:{what}".encode()).digest()
    return "".join(alphabet[b % len(alphabet)] for b in digest[:n])


# ------------------------------------------------------------------------------------------------- listing


def _ts(value: str | None) -> int | None:
    return D.parse_ts(value) if value else None


@dataclass(frozen=True)
class OpportunityFilter:
    """The filters of one ListOpportunities request, parsed once (timestamps as epoch µs)."""

    ids: frozenset[str]
    stages: frozenset[str]
    reviews: frozenset[str]
    companies: frozenset[str]
    modified_after: int | None
    modified_before: int | None
    created_after: int | None
    created_before: int | None
    close_after: str | None
    close_before: str | None

    @classmethod
    def of(cls, params: dict[str, Any]) -> OpportunityFilter:
        """The filter a request's parameters describe."""
        modified = params.get("LastModifiedDate") or {}
        created = params.get("CreatedDate") or {}
        close = params.get("TargetCloseDate") or {}
        return cls(
            ids=frozenset(params.get("Identifier") or ()),
            stages=frozenset(params.get("LifeCycleStage") or ()),
            reviews=frozenset(params.get("LifeCycleReviewStatus") or ()),
            companies=frozenset(params.get("CustomerCompanyName") or ()),
            modified_after=_ts(modified.get("AfterLastModifiedDate")),
            modified_before=_ts(modified.get("BeforeLastModifiedDate")),
            created_after=_ts(created.get("AfterCreatedDate")),
            created_before=_ts(created.get("BeforeCreatedDate")),
            close_after=close.get("AfterTargetCloseDate"),
            close_before=close.get("BeforeTargetCloseDate"),
        )

    def keeps(self, entry: OpportunityEntry) -> bool:
        """Whether ``entry`` passes every filter but the LastModifiedDate range (the index walk applies it)."""
        record = entry.record
        life = record.get("LifeCycle") or {}
        company = ((record.get("Customer") or {}).get("Account") or {}).get("CompanyName")
        close = life.get("TargetCloseDate")
        return (
            (not self.ids or entry.id in self.ids)
            and (not self.stages or life.get("Stage") in self.stages)
            and (not self.reviews or life.get("ReviewStatus") in self.reviews)
            and (not self.companies or company in self.companies)
            and (self.created_after is None or entry.created_us > self.created_after)
            and (self.created_before is None or entry.created_us < self.created_before)
            and (not self.close_after or bool(close and close > self.close_after))
            and (not self.close_before or bool(close and close < self.close_before))
        )

    def modified_between(self, entry: OpportunityEntry) -> bool:
        """Whether ``entry``'s LastModifiedDate is inside the requested range."""
        return (self.modified_after is None or entry.lmd_us > self.modified_after) and (
            self.modified_before is None or entry.lmd_us < self.modified_before
        )


def _index_walk(
    index: list[tuple[int, str]], wanted: OpportunityFilter, after: tuple[int, str] | None, descending: bool
) -> Iterator[str]:
    """Opportunity ids in LastModifiedDate order inside the requested range, resuming past ``after``."""
    if descending:
        if after is not None:
            start = bisect.bisect_left(index, after) - 1
        elif wanted.modified_before is not None:
            start = bisect.bisect_left(index, (wanted.modified_before, "")) - 1
        else:
            start = len(index) - 1
        for lmd, opp_id in (index[i] for i in range(start, -1, -1)):
            if wanted.modified_after is not None and lmd <= wanted.modified_after:
                return
            yield opp_id
    else:
        if after is not None:
            start = bisect.bisect_right(index, after)
        elif wanted.modified_after is not None:
            start = bisect.bisect_right(index, (wanted.modified_after, "\uffff"))
        else:
            start = 0
        for lmd, opp_id in (index[i] for i in range(start, len(index))):
            if wanted.modified_before is not None and lmd >= wanted.modified_before:
                return
            yield opp_id


def _first(
    entries: Iterable[OpportunityEntry], keep: Callable[[OpportunityEntry], bool], size: int
) -> tuple[list[OpportunityEntry], bool]:
    """The first ``size`` entries ``keep`` accepts, and whether another one follows."""
    page: list[OpportunityEntry] = []
    for entry in entries:
        if keep(entry):
            if len(page) == size:
                return page, True
            page.append(entry)
    return page, False


_SORT_KEYS: dict[str, Callable[[OpportunityEntry], Any]] = {
    "Identifier": lambda e: e.id,
    "CreatedDate": lambda e: e.created_us,
    "TargetCloseDate": lambda e: (e.record.get("LifeCycle") or {}).get("TargetCloseDate") or "",
    "CustomerCompanyName": lambda e: (
        ((e.record.get("Customer") or {}).get("Account") or {}).get("CompanyName") or ""
    ),
}


# ------------------------------------------------------------------------------------------------- the state


class SandboxState(SellingOperations):
    """All tenants and their data; every operation runs under one lock."""

    def __init__(self, clock: Callable[[], float] = time.time, seed: int = 7) -> None:
        self.lock = threading.RLock()
        self.clock = clock
        self.rng = random.Random(seed)
        self.tenants: dict[str, TenantAccount] = {}
        self.principals: dict[str, Principal] = {
            PLATFORM_ACCESS_KEY: Principal(PLATFORM_ACCESS_KEY, PLATFORM_SECRET, None)
        }
        self.roles: dict[str, RoleTrust] = {}  # role arn -> whose role it is and what its trust requires
        self._last_stamp_us = 0
        self._next_opportunity = 3_000_000_000
        self.files: dict[str, bytes] = {}  # bulk-job input and report files, by s3:// URI
        self.tags: dict[str, dict[str, str]] = {}  # resource ARN -> tags

    # ---------------------------------------------------------------------------------------- identities

    def add_tenant(self, tenant_id: str, *, external_id: str | None = None) -> TenantAccount:
        """Create (or return) the account standing for ``tenant_id``, with deterministic credentials."""
        with self.lock:
            if tenant_id in self.tenants:
                return self.tenants[tenant_id]
            account_id = _derive(tenant_id, "account", 12, string.digits).replace("0", "1", 1)
            account = TenantAccount(
                tenant_id=tenant_id,
                account_id=account_id,
                access_key_id="AKIA" + _derive(tenant_id, "akid", 16, string.ascii_uppercase + "234567"),
                secret_access_key=_derive(tenant_id, "secret", 40, string.ascii_letters + string.digits),
                role_arn=f"arn:aws:iam::{account_id}:role/LakehousePartnerCentralRead",
                external_id=external_id if external_id is not None else f"lakehouse-{tenant_id}",
                write_role_arn=f"arn:aws:iam::{account_id}:role/LakehousePartnerCentralWrite",
            )
            self.tenants[tenant_id] = account
            self.principals[account.access_key_id] = Principal(
                account.access_key_id, account.secret_access_key, tenant_id
            )
            self.roles[account.role_arn] = RoleTrust(tenant_id, external_id=account.external_id or None)
            self.roles[account.write_role_arn] = RoleTrust(
                tenant_id, required_tags=("approval_id",), tag_session=True
            )
            return account

    def set_external_id(self, tenant_id: str, external_id: str | None) -> TenantAccount:
        """Put ``external_id`` in the trust policy of the tenant's read role, as the tenant does when it applies
        terraform/modules/iam/tenant_linked_account with the ExternalId the control plane issued (None: remove
        the condition)."""
        with self.lock:
            account = self.tenants.get(tenant_id)
            if account is None:
                raise KeyError(f"no sandbox tenant {tenant_id!r}")
            account.external_id = external_id
            self.roles[account.role_arn].external_id = external_id
            return account

    def principal(self, access_key_id: str) -> Principal | None:
        with self.lock:
            return self.principals.get(access_key_id)

    def assume_role(
        self,
        caller: Principal,
        role_arn: str,
        session_name: str,
        external_id: str | None,
        duration_s: int,
        tags: dict[str, str] | None = None,
    ) -> tuple[Principal, TenantAccount]:
        """Issue temporary credentials for ``role_arn`` when its trust policy's conditions hold (as IAM does: a
        refusal is AccessDenied and does not say which condition failed)."""
        with self.lock:
            trust = self.roles.get(role_arn)
            who = (
                "arn:aws:iam::000000000000:user/platform"
                if caller.tenant_id is None
                else f"arn:aws:iam::{self.tenants[caller.tenant_id].account_id}:user/{caller.tenant_id}"
            )

            def denied(action: str = "sts:AssumeRole") -> ApiError:
                return ApiError(
                    "AccessDenied",
                    f"User: {who} is not authorized to perform: {action} on resource: {role_arn}",
                    403,
                )

            if trust is None:
                raise denied()
            if trust.external_id is not None and external_id != trust.external_id:
                raise denied()
            if tags and not trust.tag_session:
                raise denied("sts:TagSession")
            if any(key not in (tags or {}) for key in trust.required_tags):
                raise denied()
            tenant_id = trust.tenant_id
            account = self.tenants[tenant_id]
            akid = "ASIA" + "".join(secrets.choice(string.ascii_uppercase + "234567") for _ in range(16))
            principal = Principal(
                akid,
                secrets.token_urlsafe(30)[:40],
                tenant_id,
                session_token=secrets.token_urlsafe(96),
                expires_at=self.clock() + duration_s,
            )
            self.principals[akid] = principal
            return principal, account

    # ---------------------------------------------------------------------------------------- seeding

    def stamp(self) -> int:
        """A fresh LastModifiedDate (epoch µs, whole milliseconds), strictly later than any issued before."""
        with self.lock:
            now = int(self.clock() * 1000) * 1000
            self._last_stamp_us = max(now, self._last_stamp_us + 1000)
            return self._last_stamp_us

    def new_opportunity_id(self) -> str:
        with self.lock:
            self._next_opportunity += 1
            return f"O{self._next_opportunity}"

    def seed_tenant(
        self,
        tenant_id: str,
        *,
        opportunities: int = 50,
        catalog: str = "Sandbox",
        solutions: int = 4,
        invitations: int = 6,
        seed: int | None = None,
        with_fixture: bool = False,
        tie_rate: float = 0.1,
        leads: int = 0,
        customer_accounts: int = 0,
    ) -> TenantAccount:
        """Fill a tenant's catalog with realistic, deterministic data (``with_fixture`` adds the real sample;
        ``leads``: AWS-created engagements with a Lead context, a third of them converted to opportunities)."""
        with self.lock:
            account = self.add_tenant(tenant_id)
            rng = random.Random(seed if seed is not None else f"{tenant_id}:{catalog}")
            cat = account.catalog(catalog)
            now_us = int(self.clock()) * 1_000_000
            start_us = now_us - 180 * 86_400 * 1_000_000
            sol_ids = []
            for i in range(solutions):
                sol_id = f"S-{rng.randint(10**6, 10**7 - 1)}{i}"
                cat.solutions[sol_id] = D.solution_record(rng, sol_id, catalog, start_us + i * 3_600_000_000)
                sol_ids.append(sol_id)
            span_s = max(1, (now_us - 3_600_000_000 - start_us) // 1_000_000)
            offsets: list[int] = []
            for _ in range(opportunities):  # ties: bulk edits share one LastModifiedDate
                tie = offsets and rng.random() < tie_rate
                offsets.append(offsets[-1] if tie else rng.randint(0, span_s))
            offsets.sort()
            for offset in offsets:
                lmd = start_us + offset * 1_000_000
                created = lmd - rng.randint(0, 30) * 86_400 * 1_000_000
                opp_id = self.new_opportunity_id()
                chosen = [s for s in sol_ids if rng.random() < 0.2]
                record = D.opportunity_record(rng, opp_id, catalog, account.account_id, created, lmd, chosen)
                cat.put(OpportunityEntry(record))
                review = record["LifeCycle"]["ReviewStatus"]
                if review in ("Submitted", "In review", "Approved", "Action Required") or (
                    record.get("Origin") == "AWS Referral"
                ):  # everything submitted to AWS (or referred by AWS) has AWS's summary
                    origin = "AWS Referral" if record.get("Origin") == "AWS Referral" else "Partner Referral"
                    cat.aws_summaries[opp_id] = self._aws_summary(record, "Co-Sell", "Full", origin)
            for _ in range(invitations):
                inv_id = "engi-" + _rand_id(rng, 13)
                eng_id = "eng-" + _rand_id(rng, 14)
                status = rng.choice(("PENDING", "PENDING", "ACCEPTED", "REJECTED", "EXPIRED"))
                invited = start_us + rng.randint(0, 170) * 86_400 * 1_000_000
                cat.invitations[inv_id] = D.invitation_record(
                    rng, inv_id, eng_id, catalog, account.account_id, invited, status
                )
                cat.engagements[eng_id] = {
                    "Arn": f"arn:aws:partnercentral:us-east-1::catalog/{catalog}/engagement/{eng_id}",
                    "Id": eng_id,
                    "Title": cat.invitations[inv_id]["EngagementTitle"],
                    "CreatedAt": D.format_ts(invited),
                    "CreatedBy": "aws",
                    "MemberCount": 1 + (status == "ACCEPTED"),
                    "ModifiedAt": D.format_ts(invited),
                    "ModifiedBy": "aws",
                    "ContextTypes": ["CustomerProject"],
                }
            if cat.index:  # converted leads must sort after everything seeded
                self._last_stamp_us = max(self._last_stamp_us, cat.index[-1][0])
            if leads or customer_accounts:
                self.seed_engagements(account, cat, leads, customer_accounts)
            if with_fixture:
                self.load_fixture(tenant_id, catalog)
            if cat.index:  # later changes must sort after everything seeded
                self._last_stamp_us = max(self._last_stamp_us, cat.index[-1][0])
            return account

    def load_fixture(self, tenant_id: str, catalog: str | None = None) -> OpportunityEntry:
        """Seed the real GetOpportunity sample verbatim (its bytes are served unchanged until it is updated)."""
        with self.lock:
            raw = D.fixture_bytes("get_opportunity_response.json")
            record = json.loads(raw)
            listing = json.loads(D.fixture_bytes("list_opportunities_response.json"))
            summary = next(s for s in listing["OpportunitySummaries"] if s["Id"] == record["Id"])
            catalog = catalog or record["Catalog"]
            entry = OpportunityEntry(
                record, raw=raw if catalog == record["Catalog"] else None, summary=summary
            )
            self.add_tenant(tenant_id).catalog(catalog).put(entry)
            return entry

    # ---------------------------------------------------------------------------------------- helpers for tests

    def touch_opportunities(
        self, tenant_id: str, catalog: str, ids: Iterable[str] | None = None, count: int | None = None
    ) -> list[str]:
        """Change some opportunities as a Partner Central user would (new NextSteps, bumped LastModifiedDate)."""
        with self.lock:
            cat = self.tenants[tenant_id].catalog(catalog)
            chosen = list(ids) if ids is not None else self.rng.sample(sorted(cat.opportunities), count or 1)
            for opp_id in chosen:
                entry = cat.opportunities[opp_id]
                entry.record = copy.deepcopy(entry.record)
                entry.record["LifeCycle"] = dict(entry.record.get("LifeCycle") or {})
                entry.record["LifeCycle"]["NextSteps"] = f"Follow-up {self.rng.randint(1, 10**6)}"
                cat.bump(entry, self.stamp())
            return chosen

    def opportunity_ids(self, tenant_id: str, catalog: str) -> list[str]:
        with self.lock:
            return [i for _, i in self.tenants[tenant_id].catalog(catalog).index]

    def opportunity_body(self, tenant_id: str, catalog: str, opp_id: str) -> bytes:
        with self.lock:
            return self.tenants[tenant_id].catalog(catalog).opportunities[opp_id].body()

    # ---------------------------------------------------------------------------------------- dispatch

    def call(self, account: TenantAccount, operation: str, params: dict[str, Any]) -> bytes:
        """Run ``operation`` for ``account``; returns the JSON response body or raises ``ApiError``."""
        handler = getattr(self, f"op_{operation}", None)
        if handler is None:
            raise ApiError("UnknownOperationException", f"The sandbox does not implement {operation}", 400)
        with self.lock:
            catalog = account.catalog(params["Catalog"]) if "Catalog" in params else None
            result = handler(account, catalog, params)
        if isinstance(result, bytes):
            return result
        return _dumps(result).encode() if result is not None else b"{}"

    # ---------------------------------------------------------------------------------------- pagination

    @staticmethod
    def _token(payload: list[Any]) -> str:
        return base64.urlsafe_b64encode(_dumps(payload).encode()).decode()

    @staticmethod
    def _untoken(token: str | None, expect: str) -> list[Any] | None:
        if token is None:
            return None
        try:
            value = json.loads(base64.urlsafe_b64decode(token.encode()))
            if not isinstance(value, list) or value[0] != expect:
                raise ValueError
            return value
        except (ValueError, TypeError, IndexError):
            raise validation_error(
                "The NextToken is not valid for this request",
                [
                    {
                        "FieldName": "NextToken",
                        "Message": "The NextToken is not valid for this request",
                        "Code": "INVALID_VALUE",
                    }
                ],
            ) from None

    def _page(
        self,
        items: list[tuple[Any, str, Any]],
        params: dict[str, Any],
        kind: str,
        descending: bool,
        default_max: int = 20,
    ) -> tuple[list[Any], str | None]:
        """Keyset pagination over ``(sort_key, id, item)`` triples."""
        items.sort(key=lambda t: (t[0], t[1]), reverse=descending)
        token = self._untoken(params.get("NextToken"), kind)
        if token is not None:
            last = (token[1], token[2])
            items = [t for t in items if ((t[0], t[1]) < last if descending else (t[0], t[1]) > last)]
        size = params.get("MaxResults") or default_max
        page, rest = items[:size], items[size:]
        next_token = self._token([kind, page[-1][0], page[-1][1]]) if rest and page else None
        return [t[2] for t in page], next_token

    # ---------------------------------------------------------------------------------------- opportunities

    def op_ListOpportunities(self, account: TenantAccount, cat: CatalogData, params: dict[str, Any]) -> bytes:
        sort = params.get("Sort") or {"SortBy": "LastModifiedDate", "SortOrder": "DESCENDING"}
        descending = sort["SortOrder"] == "DESCENDING"
        kind = f"opp:{sort['SortBy']}:{sort['SortOrder']}"
        wanted = OpportunityFilter.of(params)
        page: list[OpportunityEntry]
        if sort["SortBy"] == "LastModifiedDate":  # straight off the index: a bisect, not a sort
            token = self._untoken(params.get("NextToken"), kind)
            after = (token[1], token[2]) if token is not None else None
            walk = (cat.opportunities[i] for i in _index_walk(cat.index, wanted, after, descending))
            page, more = _first(walk, wanted.keeps, params.get("MaxResults") or 20)
            next_token = self._token([kind, page[-1].lmd_us, page[-1].id]) if more else None
        else:
            sort_key = _SORT_KEYS[sort["SortBy"]]
            triples = [
                (sort_key(e), e.id, e)
                for e in cat.opportunities.values()
                if wanted.keeps(e) and wanted.modified_between(e)
            ]
            page, next_token = self._page(triples, params, kind, descending)
        summaries = ",".join(e.summary_json() for e in page)
        return f'{{"NextToken":{_dumps(next_token)},"OpportunitySummaries":[{summaries}]}}'.encode()

    def _opportunity(self, cat: CatalogData, opp_id: str) -> OpportunityEntry:
        entry = cat.opportunities.get(opp_id)
        if entry is None:
            raise not_found(f"Opportunity {opp_id} was not found in catalog {cat.name}")
        return entry

    def op_GetOpportunity(self, account: TenantAccount, cat: CatalogData, params: dict[str, Any]) -> bytes:
        return self._opportunity(cat, params["Identifier"]).body()

    _WRITABLE: ClassVar[tuple[str, ...]] = (
        "PrimaryNeedsFromAws",
        "NationalSecurity",
        "PartnerOpportunityIdentifier",
        "Customer",
        "Project",
        "OpportunityType",
        "Marketing",
        "SoftwareRevenue",
        "OpportunityTeam",
    )

    def _check_business_rules(self, record: dict[str, Any]) -> None:
        problems = []
        account = ((record.get("Customer") or {}).get("Account")) or {}
        if not account.get("CompanyName"):
            problems.append(("Customer.Account.CompanyName", "Customer company name is required"))
        project = record.get("Project") or {}
        if not project.get("Title"):
            problems.append(("Project.Title", "Project title is required"))
        if not project.get("CustomerBusinessProblem"):
            problems.append(("Project.CustomerBusinessProblem", "Customer business problem is required"))
        life = record.get("LifeCycle") or {}
        if life.get("Stage") == "Closed Lost" and not life.get("ClosedLostReason"):
            problems.append(
                ("LifeCycle.ClosedLostReason", "A Closed Lost opportunity needs a ClosedLostReason")
            )
        if problems:
            raise validation_error(
                f"{len(problems)} business validation error(s)",
                [{"FieldName": f, "Message": m, "Code": "REQUIRED_FIELD_MISSING"} for f, m in problems],
                reason="BUSINESS_VALIDATION_FAILED",
            )

    def op_CreateOpportunity(
        self, account: TenantAccount, cat: CatalogData, params: dict[str, Any]
    ) -> dict[str, Any]:
        token_key = ("CreateOpportunity", params["ClientToken"])
        if token_key in cat.client_tokens:
            return cat.client_tokens[token_key]
        now = self.stamp()
        opp_id = self.new_opportunity_id()
        record: dict[str, Any] = {k: copy.deepcopy(params[k]) for k in self._WRITABLE if k in params}
        life = dict(params.get("LifeCycle") or {})
        life["ReviewStatus"] = "Pending Submission"
        life.setdefault("Stage", "Prospect")
        record.update(
            {
                "Arn": f"arn:aws:partnercentral:us-east-1:{account.account_id}:catalog/{cat.name}/opportunity/{opp_id}",
                "Catalog": cat.name,
                "Id": opp_id,
                "CreatedDate": D.format_ts(now),
                "LastModifiedDate": D.format_ts(now),
                "LifeCycle": life,
                "RelatedEntityIdentifiers": {"AwsMarketplaceOffers": [], "AwsProducts": [], "Solutions": []},
            }
        )
        self._check_business_rules(record)
        cat.put(OpportunityEntry(D.complete_like(D.OPPORTUNITY_TEMPLATE, record)))
        result = {
            "Id": opp_id,
            "PartnerOpportunityIdentifier": params.get("PartnerOpportunityIdentifier"),
            "LastModifiedDate": D.format_ts(now),
        }
        cat.client_tokens[token_key] = result
        return result

    def op_UpdateOpportunity(
        self, account: TenantAccount, cat: CatalogData, params: dict[str, Any]
    ) -> dict[str, Any]:
        entry = self._opportunity(cat, params["Identifier"])
        if D.parse_ts(params["LastModifiedDate"]) != entry.lmd_us:
            raise ApiError(
                "ConflictException",
                f"Opportunity {entry.id} was modified at "
                f"{entry.record['LastModifiedDate']}, after the LastModifiedDate in the request",
                409,
            )
        life = entry.record.get("LifeCycle") or {}
        if life.get("ReviewStatus") in ("Submitted", "In review"):
            raise business_error(
                "LifeCycle.ReviewStatus",
                f"Opportunity {entry.id} cannot be updated while its review status is {life['ReviewStatus']}",
                "ACTION_NOT_PERMITTED",
            )
        record = copy.deepcopy(entry.record)
        for key in self._WRITABLE:
            if key in params:
                record[key] = copy.deepcopy(params[key])
        if "LifeCycle" in params:
            new_life = dict(record.get("LifeCycle") or {})
            for key, value in params["LifeCycle"].items():
                if key not in ("ReviewStatus", "ReviewComments", "ReviewStatusReason", "NextStepsHistory"):
                    new_life[key] = value
            if new_life.get("NextSteps") != life.get("NextSteps") and life.get("NextSteps"):
                history = list(new_life.get("NextStepsHistory") or [])
                history.append({"Value": life["NextSteps"], "Time": entry.record["LastModifiedDate"]})
                new_life["NextStepsHistory"] = history[-50:]
            record["LifeCycle"] = new_life
        self._check_business_rules(record)
        entry.record = D.complete_like(D.OPPORTUNITY_TEMPLATE, record)
        cat.bump(entry, self.stamp())
        return {"Id": entry.id, "LastModifiedDate": entry.record["LastModifiedDate"]}

    _RELATED: ClassVar[dict[str, str]] = {
        "Solutions": "Solutions",
        "AwsProducts": "AwsProducts",
        "AwsMarketplaceOffers": "AwsMarketplaceOffers",
        "AwsMarketplaceOfferSets": "AwsMarketplaceOfferSets",
        "AwsMarketplaceSolutions": "AwsMarketplaceSolutions",
        "AwsMarketplaceProducts": "AwsMarketplaceProducts",
    }

    def op_AssociateOpportunity(
        self, account: TenantAccount, cat: CatalogData, params: dict[str, Any]
    ) -> None:
        entry = self._opportunity(cat, params["OpportunityIdentifier"])
        kind, ident = params["RelatedEntityType"], params["RelatedEntityIdentifier"]
        if kind == "Solutions" and ident not in cat.solutions:
            raise not_found(f"Solution {ident} was not found in catalog {cat.name}")
        record = copy.deepcopy(entry.record)
        related = record.get("RelatedEntityIdentifiers") or {}
        values = list(related.get(self._RELATED[kind]) or [])
        if ident not in values:
            values.append(ident)
            related[self._RELATED[kind]] = values
            record["RelatedEntityIdentifiers"] = related
            entry.record = record
            cat.bump(entry, self.stamp())

    def _aws_summary(
        self, record: dict[str, Any], involvement: str, visibility: str | None, origin: str
    ) -> dict[str, Any]:
        return {
            "RelatedOpportunityId": record["Id"],
            "Origin": origin,
            "InvolvementType": involvement,
            "Visibility": visibility or "Full",
            "Catalog": record["Catalog"],
            "LifeCycle": {
                "Stage": ("Prospect", "Engaged", "Seller Engaged", "Qualify")[
                    int(record["Id"][1:]) % 4 if record["Id"][1:].isdigit() else 0
                ],
                "TargetCloseDate": (record.get("LifeCycle") or {}).get("TargetCloseDate"),
            },
            "OpportunityTeam": [
                {
                    "Email": "seller@amazon.com",
                    "FirstName": "Sam",
                    "LastName": "Seller",
                    "BusinessTitle": "AWSSalesRep",
                }
            ],
            "Insights": self._insights(record),
            "Project": {
                "ExpectedCustomerSpend": (record.get("Project") or {}).get("ExpectedCustomerSpend") or []
            },
            "CosellMotion": "Partner Led" if origin == "Partner Referral" else "AWS Led",
            "CosellMotionReason": None,
            "RelatedEntityIds": {"AwsProducts": [], "Solutions": []},
        }

    def _insights(self, record: dict[str, Any]) -> dict[str, Any]:
        """AWS's insights on an opportunity: engagement score, next best actions and spend insights (derived from
        the id so they are deterministic)."""
        n = int(record["Id"][1:]) if record["Id"][1:].isdigit() else 0
        spend = next(iter((record.get("Project") or {}).get("ExpectedCustomerSpend") or []), None)
        amount = str(spend.get("Amount") or "0").split(".")[0] if spend else "0"
        amount = amount if amount.isdigit() else "0"
        insights: dict[str, Any] = {
            "EngagementScore": ("High", "Medium", "Low")[n % 3],
            "NextBestActions": ("Add a solution", "Update the close date", "Engage the AWS seller")[n % 3],
            "AwsProductsSpendInsightsBySource": {
                "AWS": {
                    "CurrencyCode": "USD",
                    "Frequency": "Monthly",
                    "TotalAmount": amount,
                    "TotalOptimizedAmount": amount,
                    "TotalPotentialSavingsAmount": "0",
                    "TotalAmountByCategory": {"Compute": amount},
                    "AwsProducts": [],
                }
            },
        }
        return insights

    def _submit(
        self, cat: CatalogData, entry: OpportunityEntry, involvement: str, visibility: str | None
    ) -> None:
        status = (entry.record.get("LifeCycle") or {}).get("ReviewStatus")
        if status not in ("Pending Submission", "Action Required"):
            raise business_error(
                "LifeCycle.ReviewStatus",
                f"Opportunity {entry.id} cannot be submitted from review status {status}",
                "INVALID_RESOURCE_STATE",
            )
        record = copy.deepcopy(entry.record)
        record["LifeCycle"] = dict(record.get("LifeCycle") or {}, ReviewStatus="Submitted")
        entry.record = record
        cat.bump(entry, self.stamp())
        cat.aws_summaries[entry.id] = self._aws_summary(record, involvement, visibility, "Partner Referral")

    def op_SubmitOpportunity(self, account: TenantAccount, cat: CatalogData, params: dict[str, Any]) -> None:
        entry = self._opportunity(cat, params["Identifier"])
        self._submit(cat, entry, params["InvolvementType"], params.get("Visibility"))

    def op_StartEngagementFromOpportunityTask(
        self, account: TenantAccount, cat: CatalogData, params: dict[str, Any]
    ) -> dict[str, Any]:
        token_key = ("StartEngagementFromOpportunityTask", params["ClientToken"])
        if token_key in cat.client_tokens:
            return cat.client_tokens[token_key]
        entry = self._opportunity(cat, params["Identifier"])
        now = self.stamp()
        task_id = "task-" + _rand_id(self.rng, 13)
        task: dict[str, Any] = {
            "TaskId": task_id,
            "TaskArn": f"arn:aws:partnercentral:us-east-1:{account.account_id}:catalog/{cat.name}/"
            f"engagement-from-opportunity-task/{task_id}",
            "StartTime": D.format_ts(now),
            "OpportunityId": entry.id,
        }
        submission = params["AwsSubmission"]
        try:
            self._submit(cat, entry, submission["InvolvementType"], submission.get("Visibility"))
        except ApiError as exc:
            task.update(TaskStatus="FAILED", ReasonCode="OpportunitySubmissionFailed", Message=exc.message)
        else:
            eng_id = "eng-" + _rand_id(self.rng, 14)
            cat.engagements[eng_id] = {
                "Arn": f"arn:aws:partnercentral:us-east-1::catalog/{cat.name}/engagement/{eng_id}",
                "Id": eng_id,
                "Title": (((entry.record.get("Project") or {}).get("Title")) or entry.id)[:40],
                "CreatedAt": D.format_ts(now),
                "CreatedBy": account.account_id,
                "MemberCount": 1,
                "ModifiedAt": D.format_ts(now),
                "ModifiedBy": account.account_id,
                "ContextTypes": ["CustomerProject"],
            }
            task.update(
                TaskStatus="COMPLETE",
                EngagementId=eng_id,
                ResourceSnapshotJobId="job-" + _rand_id(self.rng, 13),
            )
        cat.tasks[task_id] = task
        cat.client_tokens[token_key] = task
        return task

    def op_ListEngagementFromOpportunityTasks(
        self, account: TenantAccount, cat: CatalogData, params: dict[str, Any]
    ) -> dict[str, Any]:
        wanted_tasks = set(params.get("TaskIdentifier") or ())
        wanted_opps = set(params.get("OpportunityIdentifier") or ())
        wanted_engs = set(params.get("EngagementIdentifier") or ())
        statuses = set(params.get("TaskStatus") or ())
        sort = params.get("Sort") or {"SortBy": "StartTime", "SortOrder": "DESCENDING"}
        triples = []
        for task in cat.tasks.values():
            if wanted_tasks and task["TaskId"] not in wanted_tasks and task["TaskArn"] not in wanted_tasks:
                continue
            if wanted_opps and task.get("OpportunityId") not in wanted_opps:
                continue
            if wanted_engs and task.get("EngagementId") not in wanted_engs:
                continue
            if statuses and task["TaskStatus"] not in statuses:
                continue
            triples.append((D.parse_ts(task["StartTime"]), task["TaskId"], task))
        page, token = self._page(triples, params, "tasks", sort["SortOrder"] == "DESCENDING")
        return {"TaskSummaries": page, "NextToken": token}

    def op_GetAwsOpportunitySummary(
        self, account: TenantAccount, cat: CatalogData, params: dict[str, Any]
    ) -> dict[str, Any]:
        opp_id = params["RelatedOpportunityIdentifier"]
        self._opportunity(cat, opp_id)
        summary = cat.aws_summaries.get(opp_id)
        if summary is None:
            raise not_found(f"No AWS opportunity summary for {opp_id}: it has not been submitted to AWS")
        return summary

    # ---------------------------------------------------------------------------------------- solutions

    def op_ListSolutions(
        self, account: TenantAccount, cat: CatalogData, params: dict[str, Any]
    ) -> dict[str, Any]:
        statuses = set(params.get("Status") or ())
        ids = set(params.get("Identifier") or ())
        categories = set(params.get("Category") or ())
        sort = params.get("Sort") or {"SortBy": "Identifier", "SortOrder": "ASCENDING"}
        field_of = {
            "Identifier": "Id",
            "Name": "Name",
            "Status": "Status",
            "Category": "Category",
            "CreatedDate": "CreatedDate",
        }[sort["SortBy"]]
        triples = [
            (s[field_of], s["Id"], s)
            for s in cat.solutions.values()
            if (not statuses or s["Status"] in statuses)
            and (not ids or s["Id"] in ids)
            and (not categories or s["Category"] in categories)
        ]
        page, token = self._page(triples, params, f"sol:{sort['SortBy']}", sort["SortOrder"] == "DESCENDING")
        return {"SolutionSummaries": page, "NextToken": token}

    # ---------------------------------------------------------------------------------------- invitations

    def _invitation(self, cat: CatalogData, ident: str) -> dict[str, Any]:
        inv = cat.invitations.get(ident) or next(
            (i for i in cat.invitations.values() if i["Arn"] == ident), None
        )
        if inv is None:
            raise not_found(f"Engagement invitation {ident} was not found in catalog {cat.name}")
        return inv

    def op_ListEngagementInvitations(
        self, account: TenantAccount, cat: CatalogData, params: dict[str, Any]
    ) -> dict[str, Any]:
        if (
            params["ParticipantType"] != "RECEIVER"
        ):  # the sandbox's invitations are all AWS referrals received
            return {"EngagementInvitationSummaries": [], "NextToken": None}
        payload_types = set(params.get("PayloadType") or ())
        statuses = set(params.get("Status") or ())
        engagements = set(params.get("EngagementIdentifier") or ())
        senders = set(params.get("SenderAwsAccountId") or ())
        sort = params.get("Sort") or {"SortBy": "InvitationDate", "SortOrder": "DESCENDING"}
        triples = [
            (D.parse_ts(i["InvitationDate"]), i["Id"], D.invitation_summary(i))
            for i in cat.invitations.values()
            if (not payload_types or i["PayloadType"] in payload_types)
            and (not statuses or i["Status"] in statuses)
            and (not engagements or i["EngagementId"] in engagements)
            and (not senders or i["SenderAwsAccountId"] in senders)
        ]
        page, token = self._page(triples, params, "inv", sort["SortOrder"] == "DESCENDING")
        return {"EngagementInvitationSummaries": page, "NextToken": token}

    def op_GetEngagementInvitation(
        self, account: TenantAccount, cat: CatalogData, params: dict[str, Any]
    ) -> dict[str, Any]:
        return self._invitation(cat, params["Identifier"])

    def _decide(self, cat: CatalogData, ident: str, status: str) -> dict[str, Any]:
        inv = self._invitation(cat, ident)
        if inv["Status"] != "PENDING":
            raise business_error(
                "Identifier",
                f"Engagement invitation {inv['Id']} is {inv['Status']}, not PENDING",
                "INVALID_RESOURCE_STATE",
            )
        inv["Status"] = status
        return inv

    def op_AcceptEngagementInvitation(
        self, account: TenantAccount, cat: CatalogData, params: dict[str, Any]
    ) -> None:
        inv = self._decide(cat, params["Identifier"], "ACCEPTED")
        self._create_from_invitation(account, cat, inv)

    def _create_from_invitation(self, account: TenantAccount, cat: CatalogData, inv: dict[str, Any]) -> None:
        """Accepting an AWS referral creates the partner's copy of the opportunity (and AWS's summary of it)."""
        payload = (inv.get("Payload") or {}).get("OpportunityInvitation")
        if payload:
            now = self.stamp()
            opp_id = self.new_opportunity_id()
            customer, project = payload["Customer"], payload["Project"]
            record = D.complete_like(
                D.OPPORTUNITY_TEMPLATE,
                {
                    "Arn": f"arn:aws:partnercentral:us-east-1:{account.account_id}:catalog/{cat.name}/opportunity/{opp_id}",
                    "Catalog": cat.name,
                    "Id": opp_id,
                    "CreatedDate": D.format_ts(now),
                    "LastModifiedDate": D.format_ts(now),
                    "Customer": {
                        "Account": {
                            "CompanyName": customer["CompanyName"],
                            "Industry": customer["Industry"],
                            "WebsiteUrl": customer["WebsiteUrl"],
                            "Address": {"CountryCode": customer["CountryCode"]},
                        },
                        "Contacts": [],
                    },
                    "LifeCycle": {
                        "Stage": "Prospect",
                        "ReviewStatus": "Approved",
                        "TargetCloseDate": project["TargetCompletionDate"],
                    },
                    "OpportunityType": payload.get("OpportunityType"),
                    "Project": {
                        "Title": project["Title"],
                        "CustomerBusinessProblem": project["BusinessProblem"],
                        "ExpectedCustomerSpend": project["ExpectedCustomerSpend"],
                    },
                    "RelatedEntityIdentifiers": {
                        "AwsMarketplaceOffers": [],
                        "AwsProducts": [],
                        "Solutions": [],
                    },
                },
            )
            cat.put(OpportunityEntry(record))
            cat.aws_summaries[opp_id] = self._aws_summary(record, "Co-Sell", "Full", "AWS Referral")

    def op_RejectEngagementInvitation(
        self, account: TenantAccount, cat: CatalogData, params: dict[str, Any]
    ) -> None:
        inv = self._decide(cat, params["Identifier"], "REJECTED")
        inv["RejectionReason"] = params.get("RejectionReason")

    # ---------------------------------------------------------------------------------------- engagements

    _ENGAGEMENT_SUMMARY: ClassVar[tuple[str, ...]] = (
        "Arn", "Id", "Title", "CreatedAt", "CreatedBy", "MemberCount", "ModifiedAt", "ModifiedBy", "ContextTypes",
    )  # fmt: skip

    def op_ListEngagements(
        self, account: TenantAccount, cat: CatalogData, params: dict[str, Any]
    ) -> dict[str, Any]:
        created_by = set(params.get("CreatedBy") or ())
        excluded = set(params.get("ExcludeCreatedBy") or ())
        contexts = set(params.get("ContextTypes") or ())
        excluded_contexts = set(params.get("ExcludeContextTypes") or ())
        wanted = set(params.get("EngagementIdentifier") or ())
        sort = params.get("Sort") or {"SortBy": "CreatedDate", "SortOrder": "DESCENDING"}
        triples = []
        for eng in cat.engagements.values():
            types = set(eng.get("ContextTypes") or ())
            if (created_by and eng["CreatedBy"] not in created_by) or eng["CreatedBy"] in excluded:
                continue
            if (contexts and not types & contexts) or types & excluded_contexts:
                continue
            if wanted and eng["Id"] not in wanted and eng["Arn"] not in wanted:
                continue
            summary = {k: eng[k] for k in self._ENGAGEMENT_SUMMARY if k in eng}
            triples.append((D.parse_ts(eng["CreatedAt"]), eng["Id"], summary))
        page, token = self._page(triples, params, "eng", sort["SortOrder"] == "DESCENDING")
        return {"EngagementSummaryList": page, "NextToken": token}
