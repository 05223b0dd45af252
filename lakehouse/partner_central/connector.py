"""Partner Central (``partnercentral-selling``) reader, incremental sync and EventBridge event handler.

The API quota is the bottleneck (10 reads/s, 100,000 calls per rolling day per account), so the sync spends calls
only on change:

* opportunities are listed with ``LastModifiedDate.AfterLastModifiedDate = watermark - overlap``, sorted
  ascending, 100 per page; a listed ``(Id, LastModifiedDate)`` already in the lake is skipped without a
  ``GetOpportunity``; every new version costs exactly one ``GetOpportunity``;
* the watermark only moves after the data it covers has landed (``Sink.land`` before
  ``Sink.advance_watermark``), and only over a contiguous prefix of the ascending listing, so a crash, a failure
  or a spent daily budget resumes without gaps; the overlap re-lists ties and late arrivals, never re-fetches them;
* solutions (no Get operation) and engagement invitations (no modified date: a version is ``(Id, Status)``) are
  fully listed, which costs ``ceil(n/100)`` calls.

Transport retries (throttling, 5xx, dropped connections) are botocore's ``standard`` (or ``adaptive``) retry mode,
configured on the client. What botocore cannot do is ours and small: every HTTP attempt, retries included, first
spends the per-tenant daily call budget and waits for the client-side rate limit (``guardrails.TokenBucket``, 10/s
by default, ``None`` disables it), and is counted (attempts, retries, throttles, server errors) for the sync
stats. Payloads are kept exactly as received (the raw response bytes), hashed with SHA-256.

This module never imports the emulator (``sandboxes.partner_central``); the emulator is the independent check.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, Protocol

from lakehouse.aws_operations import Declaration
from lakehouse.errors import BadInput, LakehouseError
from lakehouse.guardrails import TokenBucket

log = logging.getLogger(__name__)

SERVICE = "partnercentral-selling"
EVENT_SOURCE = "aws.partnercentral-selling"
CATALOGS = ("AWS", "Sandbox")
READ_QUOTA_PER_SECOND = 10.0
DAILY_CALL_QUOTA = 100_000
PAGE_SIZE = 100
ENTITIES = ("opportunity", "solution", "engagement_invitation")
# Synced when asked for (``entities=ALL_ENTITIES``): engagements (leads are engagements with a Lead context) and
# customer accounts; each is listed in full and fetched only for a new or changed modified date.
OPTIONAL_ENTITIES = ("engagement", "customer_account")
ALL_ENTITIES = (*ENTITIES, *OPTIONAL_ENTITIES)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# What PartnerCentralReader may call, under the Partner Central read role (tests/infra checks the IAM policy),
# and the sts:AssumeRole build_client sends with the caller's credentials to get that role's session.
# Every read operation of the Selling API (Get*, List*, Search*): the reader serves each of them.
READ_OPERATIONS: tuple[str, ...] = (
    "GetAwsOpportunitySummary",
    "GetCustomerAccount",
    "GetCustomerAccountBulkJob",
    "GetCustomerAccountBulkJobReportUrl",
    "GetCustomerAccountStatistics",
    "GetEngagement",
    "GetEngagementInvitation",
    "GetOpportunity",
    "GetOpportunityBulkJobReportUrl",
    "GetProspectingFromEngagementTask",
    "GetResourceSnapshot",
    "GetResourceSnapshotJob",
    "GetSellingSystemSettings",
    "ListCustomerAccountBulkJobResults",
    "ListCustomerAccountBulkJobs",
    "ListEngagementByAcceptingInvitationTasks",
    "ListEngagementFromOpportunityTasks",
    "ListEngagementGroups",
    "ListEngagementInvitations",
    "ListEngagementMembers",
    "ListEngagementResourceAssociations",
    "ListEngagements",
    "ListOpportunities",
    "ListOpportunityBulkJobResults",
    "ListOpportunityBulkJobs",
    "ListOpportunityFromEngagementTasks",
    "ListProspectingFromEngagementTasks",
    "ListResourceSnapshotJobs",
    "ListResourceSnapshots",
    "ListSolutions",
    "ListTagsForResource",
    "SearchCustomerAccounts",
    "SearchEngagements",
    "SearchOpportunities",
)
AWS_OPERATIONS: tuple[Declaration, ...] = (
    Declaration("assume", "sts", ("AssumeRole",)),
    Declaration("read", SERVICE, READ_OPERATIONS),
)
# Error codes botocore's retry modes treat as throttling; counted separately from server errors in the stats.
_THROTTLING_CODES = {
    "ThrottlingException",
    "Throttling",
    "TooManyRequestsException",
    "RequestLimitExceeded",
    "ProvisionedThroughputExceededException",
    "RequestThrottled",
    "RequestThrottledException",
    "SlowDown",
    "ThrottledException",
    "BandwidthLimitExceeded",
    "EC2ThrottledException",
    "PriorRequestNotComplete",
    "TransactionInProgressException",
}
RetryMode = Literal["standard", "adaptive"]


class PartnerCentralError(LakehouseError):
    """A Partner Central call failed for good (after retries, or with a non-retryable error)."""


class BudgetExhausted(LakehouseError):
    """The tenant's daily call budget is spent; the sync stops cleanly and resumes from its watermark."""

    exit_code = 4


def to_us(value: datetime) -> int:
    """Epoch microseconds of a datetime (naive values are taken as UTC)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return (value - _EPOCH) // timedelta(microseconds=1)


def from_us(us: int) -> datetime:
    """An aware UTC datetime from epoch microseconds."""
    return _EPOCH + timedelta(microseconds=us)


def parse_timestamp(text: str) -> int:
    """Epoch microseconds of an ISO-8601 timestamp as the API writes it (``Z``, offsets, fractions)."""
    from botocore.utils import parse_timestamp as _parse

    return to_us(_parse(text))


def validate_catalog(catalog: str) -> str:
    if catalog not in CATALOGS:
        raise BadInput(f"unknown Partner Central catalog {catalog!r}: use one of {', '.join(CATALOGS)}")
    return catalog


# ----------------------------------------------------------------------------------------------- quota controls


class CallBudget:
    """A per-tenant call allowance for the rolling day: ``used`` calls already spent, at most ``limit``."""

    def __init__(self, limit: int | None, used: int = 0) -> None:
        self.limit, self.used = limit, used
        self._lock = threading.Lock()

    @property
    def remaining(self) -> int | None:
        return None if self.limit is None else max(0, self.limit - self.used)

    def take(self) -> None:
        """Spend one call, or raise ``BudgetExhausted`` when none is left."""
        with self._lock:
            if self.limit is not None and self.used >= self.limit:
                raise BudgetExhausted(
                    f"daily Partner Central call budget of {self.limit} calls is spent; the sync stopped at its "
                    "watermark and resumes there on the next run"
                )
            self.used += 1


@dataclass
class CallStats:
    """Calls this reader sent: HTTP attempts per operation, retries, throttles, server errors."""

    attempts: Counter[str] = field(default_factory=Counter)
    retries: int = 0
    throttled: int = 0
    server_errors: int = 0
    waited_s: float = 0.0

    @property
    def total(self) -> int:
        return sum(self.attempts.values())


# ----------------------------------------------------------------------------------------------- client


@dataclass(frozen=True)
class ConnectorConfig:
    """How to reach Partner Central for one tenant."""

    region: str = "us-east-1"
    endpoint_url: str | None = None  # None: boto3's default (honours AWS_ENDPOINT_URL_PARTNERCENTRAL_SELLING)
    role_arn: str | None = None  # the tenant's linked-account role; None: ambient credentials
    external_id: str | None = None
    sts_endpoint_url: str | None = None
    session_name: str = "lakehouse-partner-central"
    # Session tags sent with sts:AssumeRole (the write role's trust policy requires approval_id); all transitive.
    session_tags: tuple[tuple[str, str], ...] = ()
    aws_access_key_id: str | None = None  # explicit credentials (otherwise the standard chain)
    aws_secret_access_key: str | None = None
    aws_session_token: str | None = None
    profile_name: str | None = None
    rate_per_second: float | None = READ_QUOTA_PER_SECOND  # None disables the client-side limiter
    max_attempts: int = 8  # HTTP attempts per call, the first included (botocore's total_max_attempts)
    retry_mode: RetryMode = "standard"
    workers: int = 4
    connect_timeout_s: float = 10.0
    read_timeout_s: float = 60.0


def build_client(config: ConnectorConfig, *, session: Any = None) -> Any:
    """A boto3 ``partnercentral-selling`` client; assumes ``config.role_arn`` (with ExternalId) when set."""
    import boto3
    from botocore.config import Config

    session = session or boto3.Session(
        botocore_session=_core_session(),
        region_name=config.region,
        profile_name=config.profile_name,
        aws_access_key_id=config.aws_access_key_id,
        aws_secret_access_key=config.aws_secret_access_key,
        aws_session_token=config.aws_session_token,
    )
    if config.role_arn:
        session = _assumed_session(session, config)
    return session.client(
        SERVICE,
        region_name=config.region,
        endpoint_url=config.endpoint_url,
        config=Config(
            retries={"mode": config.retry_mode, "total_max_attempts": max(1, config.max_attempts)},
            max_pool_connections=max(10, 2 * config.workers),
            connect_timeout=config.connect_timeout_s,
            read_timeout=config.read_timeout_s,
            tcp_keepalive=True,
        ),
    )


def _fast_timestamp(value: Any) -> datetime:
    """ISO-8601 timestamps via ``datetime.fromisoformat`` (dateutil, botocore's default, costs ~10x more)."""
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            parsed = None
        if parsed is not None:
            return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    from botocore.utils import parse_timestamp as _parse

    moment: datetime = _parse(value)
    return moment


def _core_session() -> Any:
    """A botocore session of our own (its response parsers use the fast timestamp parser)."""
    import botocore.session

    core = botocore.session.Session()
    core.get_component("response_parser_factory").set_parser_defaults(timestamp_parser=_fast_timestamp)
    return core


def _assumed_session(base: Any, config: ConnectorConfig) -> Any:
    """A boto3 session whose credentials come from ``sts:AssumeRole`` on the tenant's role, refreshed on expiry."""
    import boto3
    from botocore.credentials import RefreshableCredentials

    sts = base.client("sts", region_name=config.region, endpoint_url=config.sts_endpoint_url)

    def fetch() -> dict[str, str]:
        kwargs: dict[str, Any] = {"RoleArn": config.role_arn, "RoleSessionName": config.session_name}
        if config.external_id:
            kwargs["ExternalId"] = config.external_id
        if config.session_tags:
            kwargs["Tags"] = [{"Key": k, "Value": v} for k, v in config.session_tags]
            kwargs["TransitiveTagKeys"] = [k for k, _ in config.session_tags]
        creds = sts.assume_role(**kwargs)["Credentials"]
        return {
            "access_key": creds["AccessKeyId"],
            "secret_key": creds["SecretAccessKey"],
            "token": creds["SessionToken"],
            "expiry_time": creds["Expiration"].isoformat(),
        }

    try:
        credentials = RefreshableCredentials.create_from_metadata(
            metadata=fetch(), refresh_using=fetch, method="sts-assume-role"
        )
    except Exception as exc:
        from lakehouse.errors import Refused

        raise Refused(f"could not assume Partner Central role {config.role_arn}: {exc}") from exc
    core = _core_session()
    core._credentials = credentials  # the usual way to hand refreshable credentials to a session
    return boto3.Session(botocore_session=core, region_name=config.region)


@dataclass(frozen=True, slots=True)
class RawRecord:
    """One fetched payload version, exactly as received."""

    entity_id: str
    last_modified_us: int | None
    payload: str
    payload_sha256: str

    @classmethod
    def from_bytes(cls, entity_id: str, last_modified_us: int | None, raw: bytes) -> RawRecord:
        return cls(entity_id, last_modified_us, raw.decode("utf-8"), hashlib.sha256(raw).hexdigest())


@dataclass(frozen=True, slots=True)
class Listed:
    """One listed item: its id, the marker of its version (LastModifiedDate µs, or a status) and, for
    opportunities, the lifecycle ``(Stage, ReviewStatus)`` the listing shows."""

    entity_id: str
    version: Any
    state: tuple[str | None, str | None] | None = None


_RAW = "__raw_body__"


def _api_error(exc: Any) -> PartnerCentralError:
    err = exc.response.get("Error", {})
    detail = ""
    if exc.response.get("ErrorList"):
        detail = (
            " ("
            + "; ".join(f"{e.get('FieldName')}: {e.get('Code')}" for e in exc.response["ErrorList"])
            + ")"
        )
    return PartnerCentralError(
        f"Partner Central {exc.operation_name} failed: {err.get('Code')}: {err.get('Message')}{detail}"
    )


class PartnerCentralReader:
    """Read operations over one boto3 client, with rate limiting, budget, counted retries and raw payloads.

    The client carries the transport retries (``build_client``: botocore's retry mode); the reader hooks into
    its events so every attempt spends budget, waits for ``limiter`` and is counted in ``stats``.
    """

    def __init__(
        self,
        client: Any,
        *,
        rate_per_second: float | None = READ_QUOTA_PER_SECOND,
        budget: CallBudget | None = None,
        page_size: int = PAGE_SIZE,
        workers: int = 4,
        limiter: TokenBucket | None = None,
    ) -> None:
        self.client = client
        self.limiter = limiter or (TokenBucket(rate_per_second) if rate_per_second else None)
        self.budget = budget or CallBudget(None)
        self.page_size = page_size
        self.workers = max(1, workers)
        self.stats = CallStats()
        self._stats_lock = threading.Lock()
        events = client.meta.events
        event_name = client.meta.service_model.service_id.hyphenize()
        uid = f"lakehouse-pc-{id(self)}"
        events.register(f"before-send.{event_name}", self._before_send, unique_id=f"{uid}-send")
        # first, so it sees every attempt's outcome before botocore's retry handler decides (it never decides)
        events.register_first(f"needs-retry.{event_name}", self._observe_attempt, unique_id=f"{uid}-observe")
        events.register(f"after-call.{event_name}", self._count_retries, unique_id=f"{uid}-retries")
        events.register(
            f"after-call-error.{event_name}", self._count_retries, unique_id=f"{uid}-retries-error"
        )
        for op in (*(o for o in READ_OPERATIONS if o.startswith("Get")), "ListSolutions"):
            events.register(f"after-call.{event_name}.{op}", self._keep_raw, unique_id=f"{uid}-raw-{op}")

    @classmethod
    def from_config(
        cls, config: ConnectorConfig, *, budget: CallBudget | None = None, session: Any = None
    ) -> PartnerCentralReader:
        """A reader over a client built from ``config`` (retry mode, attempts, rate and workers from it)."""
        return cls(
            build_client(config, session=session),
            rate_per_second=config.rate_per_second,
            budget=budget,
            workers=config.workers,
        )

    # ------------------------------------------------------------------------------------- botocore hooks

    def _before_send(self, request: Any = None, **kwargs: Any) -> None:
        """Every HTTP attempt: spend budget, wait for the limiter, count it."""
        self.budget.take()
        waited = self.limiter.acquire() if self.limiter is not None else 0.0
        target = request.headers.get("X-Amz-Target") if request is not None else None
        op = target.decode() if isinstance(target, bytes) else (target or "unknown")
        with self._stats_lock:
            self.stats.attempts[op.rsplit(".", 1)[-1]] += 1
            self.stats.waited_s += waited

    def _observe_attempt(self, response: Any = None, **kwargs: Any) -> None:
        """Count a throttled or 5xx answer (whether botocore retries it is its retry mode's decision)."""
        if response is None:
            return
        http, parsed = response
        code = (parsed or {}).get("Error", {}).get("Code")
        throttled = http.status_code == 429 or code in _THROTTLING_CODES
        if throttled or http.status_code >= 500:
            with self._stats_lock:
                if throttled:
                    self.stats.throttled += 1
                else:
                    self.stats.server_errors += 1

    def _count_retries(self, context: Any = None, **kwargs: Any) -> None:
        """After a call: the attempts botocore made beyond the first are its retries."""
        attempt = ((context or {}).get("retries") or {}).get("attempt", 1)
        if attempt > 1:
            with self._stats_lock:
                self.stats.retries += attempt - 1

    @staticmethod
    def _keep_raw(http_response: Any = None, parsed: Any = None, **kwargs: Any) -> None:
        if isinstance(parsed, dict) and http_response is not None and http_response.status_code < 300:
            parsed[_RAW] = http_response.content

    # ------------------------------------------------------------------------------------- calls

    def _call(self, operation: str, **params: Any) -> dict[str, Any]:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            response: dict[str, Any] = getattr(self.client, operation)(**params)
            return response
        except ClientError as exc:
            raise _api_error(exc) from exc
        except BotoCoreError as exc:
            raise PartnerCentralError(f"Partner Central {operation} failed: {exc}") from exc

    def _pages(self, operation: str, **params: Any) -> Iterator[dict[str, Any]]:
        from botocore.exceptions import BotoCoreError, ClientError

        paginator = self.client.get_paginator(operation)
        try:
            yield from paginator.paginate(**params, PaginationConfig={"PageSize": self.page_size})
        except ClientError as exc:
            raise _api_error(exc) from exc
        except BotoCoreError as exc:
            raise PartnerCentralError(f"Partner Central {operation} failed: {exc}") from exc

    def list_opportunities(self, catalog: str, after_us: int | None = None) -> Iterator[list[Listed]]:
        """Pages of ``(Id, LastModifiedDate µs)`` modified after ``after_us``, oldest first."""
        params: dict[str, Any] = {
            "Catalog": catalog,
            "Sort": {"SortBy": "LastModifiedDate", "SortOrder": "ASCENDING"},
        }
        if after_us is not None:
            params["LastModifiedDate"] = {"AfterLastModifiedDate": from_us(after_us)}
        for page in self._pages("list_opportunities", **params):
            yield [
                Listed(s["Id"], to_us(s["LastModifiedDate"]), lifecycle_state(s))
                for s in page.get("OpportunitySummaries", [])
            ]

    def get_opportunity(self, catalog: str, opportunity_id: str) -> RawRecord:
        response = self._call("get_opportunity", Catalog=catalog, Identifier=opportunity_id)
        return RawRecord.from_bytes(response["Id"], to_us(response["LastModifiedDate"]), response[_RAW])

    def list_solutions(self, catalog: str) -> Iterator[list[RawRecord]]:
        """Pages of solutions; each item's payload is its JSON object from the response (compact form)."""
        for page in self._pages("list_solutions", Catalog=catalog):
            items = json.loads(page[_RAW]).get("SolutionSummaries") or []
            out = []
            for item in items:
                text = json.dumps(item, separators=(",", ":"), ensure_ascii=False).encode()
                created = item.get("CreatedDate")
                out.append(
                    RawRecord.from_bytes(item["Id"], parse_timestamp(created) if created else None, text)
                )
            yield out

    def list_engagement_invitations(
        self, catalog: str, participant: str = "RECEIVER"
    ) -> Iterator[list[Listed]]:
        """Pages of ``(Id, Status)`` of the invitations where the partner is ``participant``."""
        for page in self._pages("list_engagement_invitations", Catalog=catalog, ParticipantType=participant):
            yield [Listed(s["Id"], s.get("Status")) for s in page.get("EngagementInvitationSummaries", [])]

    def get_engagement_invitation(self, catalog: str, invitation_id: str) -> RawRecord:
        response = self._call("get_engagement_invitation", Catalog=catalog, Identifier=invitation_id)
        invited = response.get("InvitationDate")
        return RawRecord.from_bytes(response["Id"], to_us(invited) if invited else None, response[_RAW])

    # ------------------------------------------------------------------------------------- any read operation

    def read(self, operation: str, **params: Any) -> dict[str, Any]:
        """One call of any Selling API read operation (``READ_OPERATIONS``), without the raw body."""
        if operation not in READ_OPERATIONS:
            raise BadInput(
                f"{operation} is not a Partner Central read operation: use one of {', '.join(READ_OPERATIONS)}"
            )
        response = self._call(_snake(operation), **params)
        response.pop("ResponseMetadata", None)
        response.pop(_RAW, None)
        return response

    def read_raw(self, operation: str, entity_id: str, **params: Any) -> RawRecord:
        """A ``Get*`` payload exactly as received (for bronze), keyed by ``entity_id``."""
        if not operation.startswith("Get") or operation not in READ_OPERATIONS:
            raise BadInput(f"{operation} is not a Partner Central Get operation")
        response = self._call(_snake(operation), **params)
        stamp = next(
            (
                response[k]
                for k in ("LastModifiedDate", "ModifiedAt", "CreatedAt", "CreatedDate")
                if response.get(k)
            ),
            None,
        )
        return RawRecord.from_bytes(
            entity_id, to_us(stamp) if isinstance(stamp, datetime) else None, response[_RAW]
        )

    def read_all(self, operation: str, **params: Any) -> Iterator[dict[str, Any]]:
        """Every item of a ``List*``/``Search*`` operation, following ``NextToken`` (one call per page)."""
        if operation not in READ_OPERATIONS or operation.startswith("Get"):
            raise BadInput(f"{operation} is not a Partner Central List or Search operation")
        key = _items_member(self.client.meta.service_model, operation)
        token: str | None = None
        while True:
            page = self._call(_snake(operation), **params, **({"NextToken": token} if token else {}))
            yield from page.get(key) or []
            token = page.get("NextToken")
            if not token:
                return

    def get_engagement(self, catalog: str, engagement_id: str) -> RawRecord:
        """An engagement with its contexts (leads are contexts of type ``Lead``), exactly as received."""
        return self.read_raw("GetEngagement", engagement_id, Catalog=catalog, Identifier=engagement_id)

    def list_engagement_members(self, catalog: str, engagement_id: str) -> list[dict[str, Any]]:
        """The members of one engagement (at most 10)."""
        return list(self.read_all("ListEngagementMembers", Catalog=catalog, Identifier=engagement_id))

    def search_customer_accounts(self, catalog: str) -> Iterator[dict[str, Any]]:
        """Summaries of every customer account of the catalog."""
        return self.read_all("SearchCustomerAccounts", Catalog=catalog)

    def get_customer_account(self, catalog: str, account_id: str) -> RawRecord:
        """One customer account exactly as received."""
        return self.read_raw("GetCustomerAccount", account_id, Catalog=catalog, Identifier=account_id)

    def list_engagements(self, catalog: str) -> Iterator[list[dict[str, Any]]]:
        for page in self._pages("list_engagements", Catalog=catalog):
            yield page.get("EngagementSummaryList", [])

    def get_aws_opportunity_summary_raw(self, catalog: str, opportunity_id: str) -> RawRecord | None:
        """AWS's summary of an opportunity exactly as received, or None when AWS has none."""
        try:
            return self.read_raw(
                "GetAwsOpportunitySummary",
                opportunity_id,
                Catalog=catalog,
                RelatedOpportunityIdentifier=opportunity_id,
            )
        except PartnerCentralError as exc:
            if "ResourceNotFoundException" in str(exc):
                return None
            raise

    def get_aws_opportunity_summary(self, catalog: str, opportunity_id: str) -> dict[str, Any] | None:
        """AWS's view of a submitted opportunity, or None when AWS has none (not submitted)."""
        from botocore.exceptions import ClientError

        try:
            response: dict[str, Any] = self.client.get_aws_opportunity_summary(
                Catalog=catalog, RelatedOpportunityIdentifier=opportunity_id
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ResourceNotFoundException":
                return None
            raise _api_error(exc) from exc
        response.pop("ResponseMetadata", None)
        return response


def _snake(operation: str) -> str:
    """``ListEngagementMembers`` -> ``list_engagement_members`` (boto3's method name)."""
    from botocore import xform_name

    name: str = xform_name(operation)
    return name


def _items_member(model: Any, operation: str) -> str:
    """The list member that carries a List/Search operation's items (from the client's botocore model)."""
    output = model.operation_model(operation).output_shape
    name: str = next(k for k, v in output.members.items() if v.type_name == "list")
    return name


# ----------------------------------------------------------------------------------------------- sinks


@dataclass(frozen=True)
class LandResult:
    landed: int
    duplicates: int


class Sink(Protocol):
    """Where synced payloads go (the bronze tables in production; ``MemorySink`` in unit tests)."""

    def watermark(self, catalog: str, entity: str) -> int | None:
        """The stored watermark (epoch µs of LastModifiedDate), or None before the first sync."""

    def known_versions(self, catalog: str, entity: str, since_us: int | None) -> set[tuple[str, Any]]:
        """Versions already landed: ``(id, LastModifiedDate µs)`` for opportunities (at or after ``since_us``),
        ``(id, Status)`` for engagement invitations."""

    def land(self, catalog: str, entity: str, records: Sequence[RawRecord]) -> LandResult:
        """Append the records whose payload is not yet stored; identical payloads add nothing."""

    def advance_watermark(self, catalog: str, entity: str, watermark_us: int) -> None:
        """Record that everything listed up to ``watermark_us`` has landed."""


class StateAwareSink(Sink, Protocol):
    """A sink that can also say which lifecycle states it holds per opportunity version (the tie-break re-fetch)."""

    def known_states(
        self, catalog: str, since_us: int | None
    ) -> set[tuple[str, int, tuple[str | None, str | None]]]:
        """``(id, LastModifiedDate µs, (Stage, ReviewStatus))`` of the opportunity payloads landed."""


def lifecycle_state(record: Any) -> tuple[str | None, str | None]:
    """``(Stage, ReviewStatus)`` of an opportunity payload or list summary."""
    life = (record.get("LifeCycle") if isinstance(record, dict) else None) or {}
    return (life.get("Stage"), life.get("ReviewStatus"))


class MemorySink:
    """An in-memory ``Sink`` (one tenant): what bronze would hold, for tests and dry runs."""

    def __init__(self) -> None:
        self.rows: dict[tuple[str, str], list[RawRecord]] = {}
        self.watermarks: dict[tuple[str, str], int] = {}
        self.land_calls = 0

    def watermark(self, catalog: str, entity: str) -> int | None:
        return self.watermarks.get((catalog, entity))

    def known_versions(self, catalog: str, entity: str, since_us: int | None) -> set[tuple[str, Any]]:
        rows = self.rows.get((catalog, entity), [])
        if entity == "engagement_invitation":
            return {(r.entity_id, json.loads(r.payload).get("Status")) for r in rows}
        return {
            (r.entity_id, r.last_modified_us)
            for r in rows
            if since_us is None or (r.last_modified_us is not None and r.last_modified_us >= since_us)
        }

    def known_states(
        self, catalog: str, since_us: int | None
    ) -> set[tuple[str, int, tuple[str | None, str | None]]]:
        return {
            (r.entity_id, r.last_modified_us, lifecycle_state(json.loads(r.payload)))
            for r in self.rows.get((catalog, "opportunity"), [])
            if r.last_modified_us is not None and (since_us is None or r.last_modified_us >= since_us)
        }

    def land(self, catalog: str, entity: str, records: Sequence[RawRecord]) -> LandResult:
        self.land_calls += 1
        rows = self.rows.setdefault((catalog, entity), [])
        seen = {(r.entity_id, r.payload_sha256) for r in rows}
        landed = 0
        for record in records:
            key = (record.entity_id, record.payload_sha256)
            if key not in seen:
                seen.add(key)
                rows.append(record)
                landed += 1
        return LandResult(landed, len(records) - landed)

    def advance_watermark(self, catalog: str, entity: str, watermark_us: int) -> None:
        current = self.watermarks.get((catalog, entity))
        if current is None or watermark_us > current:
            self.watermarks[(catalog, entity)] = watermark_us


# ----------------------------------------------------------------------------------------------- the call plan

ENGAGED_REVIEW_STATUSES = ("Submitted", "In review", "Approved", "Action Required")
DAY = timedelta(days=1)


def aws_engaged(payload: Any) -> bool:
    """Whether AWS engaged on an opportunity (it was submitted to AWS, or AWS referred it): only then does AWS keep
    an opportunity summary worth a ``GetAwsOpportunitySummary`` call."""
    if not isinstance(payload, dict):
        return False
    life = payload.get("LifeCycle") or {}
    return life.get("ReviewStatus") in ENGAGED_REVIEW_STATUSES or payload.get("Origin") == "AWS Referral"


@dataclass(frozen=True)
class SyncPlan:
    """The calls a sync will make, planned from the listing before any Get, and when it will be done.

    Opportunities: ``ceil(listed / page)`` ListOpportunities calls, one GetOpportunity per new or changed version,
    one GetAwsOpportunitySummary per fetched opportunity AWS engaged on (``engaged`` is an estimate until the Gets
    return: the share of engaged among what was listed). Solutions and invitations add ``other_calls``. Calls
    beyond what is left of the rolling-day quota run on the following days (the sync stops with ``partial`` and the
    next run resumes from its watermark), so completion is ``days`` whole quota days plus the rest at ``rate``.
    """

    listed: int
    to_fetch: int
    engaged: int
    other_calls: int = 0
    page_size: int = PAGE_SIZE
    daily_quota: int = DAILY_CALL_QUOTA
    used_today: int = 0
    rate_per_second: float = READ_QUOTA_PER_SECOND

    @property
    def list_calls(self) -> int:
        """ListOpportunities pages."""
        return max(1, -(-self.listed // self.page_size))

    @property
    def total_calls(self) -> int:
        """Every call of the sync."""
        return self.list_calls + self.to_fetch + self.engaged + self.other_calls

    @property
    def calls_per_changed_record(self) -> float:
        """Calls per new or changed opportunity, list pages included (the economics the bench reports)."""
        return self.total_calls / self.to_fetch if self.to_fetch else float(self.total_calls)

    @property
    def remaining_today(self) -> int:
        return max(0, self.daily_quota - self.used_today)

    @property
    def days(self) -> int:
        """How many rolling-day quotas beyond today's remainder the sync needs (0: it finishes today)."""
        beyond = self.total_calls - self.remaining_today
        return 0 if beyond <= 0 else -(-beyond // self.daily_quota)

    @property
    def fits_today(self) -> bool:
        return self.days == 0

    @property
    def wall_seconds_today(self) -> float:
        """Time spent calling today at the rate limit (the quota's 10/s, not local speed)."""
        return min(self.total_calls, self.remaining_today) / self.rate_per_second

    def completion(self, start: datetime) -> datetime:
        """When the last call is expected: today's share at the rate, then whole quota days, then the rest."""
        if self.fits_today:
            return start + timedelta(seconds=self.total_calls / self.rate_per_second)
        rest = self.total_calls - self.remaining_today - (self.days - 1) * self.daily_quota
        return start + self.days * DAY + timedelta(seconds=rest / self.rate_per_second)

    def summary(self, start: datetime) -> dict[str, Any]:
        """The plan as plain values (what the run records in its details and the CLI prints)."""
        return {
            "listed": self.listed,
            "list_calls": self.list_calls,
            "to_fetch": self.to_fetch,
            "aws_summaries": self.engaged,
            "other_calls": self.other_calls,
            "total_calls": self.total_calls,
            "remaining_today": self.remaining_today,
            "days_beyond_today": self.days,
            "expected_completion": self.completion(start).isoformat(),
        }


# ----------------------------------------------------------------------------------------------- sync


@dataclass
class EntityStats:
    listed: int = 0
    fetched: int = 0
    skipped_known: int = 0
    landed: int = 0
    duplicates: int = 0
    refetched_ties: int = 0  # known (id, LastModifiedDate) fetched again: the listing showed another state


@dataclass
class SyncResult:
    """What one sync did; ``status`` is ``succeeded``, ``partial`` (budget spent) or ``failed``."""

    catalog: str
    status: str = "succeeded"
    entities: dict[str, EntityStats] = field(default_factory=dict)
    watermark_before_us: int | None = None
    watermark_after_us: int | None = None
    api_calls: dict[str, int] = field(default_factory=dict)
    retries: int = 0
    throttled: int = 0
    server_errors: int = 0
    error: str | None = None
    plan: SyncPlan | None = None

    def total(self, attr: str) -> int:
        return sum(getattr(s, attr) for s in self.entities.values())


ProgressFn = Callable[[str, int, int], None]  # (entity, listed so far, fetched so far)


class PartnerCentralSync:
    """Incremental sync of one tenant's catalog into a ``Sink``."""

    def __init__(
        self,
        reader: PartnerCentralReader,
        sink: Sink,
        *,
        catalog: str = "Sandbox",
        since: datetime | None = None,
        overlap: timedelta = timedelta(minutes=5),
        land_batch: int = 2000,
        progress: ProgressFn | None = None,
        entities: Sequence[str] = ENTITIES,
        aws_summaries: bool = False,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        unknown = [e for e in entities if e not in ALL_ENTITIES]
        if unknown:
            raise BadInput(f"unknown Partner Central entities {unknown}: use {', '.join(ALL_ENTITIES)}")
        self.reader, self.sink = reader, sink
        self.catalog = validate_catalog(catalog)
        self.since_us = to_us(since) if since is not None else None
        self.overlap_us = overlap // timedelta(microseconds=1)
        self.land_batch = max(1, land_batch)
        self.progress = progress
        self.entities = tuple(entities)
        self.aws_summaries = (
            aws_summaries  # also fetch AWS's summary of each fetched opportunity AWS engaged on
        )
        self.clock = clock
        self._summaries: dict[str, RawRecord] = {}

    def run(self) -> SyncResult:
        result = SyncResult(self.catalog)
        steps: dict[str, Callable[[SyncResult, EntityStats], None]] = {
            "opportunity": self._sync_opportunities,
            "solution": self._sync_solutions,
            "engagement_invitation": self._sync_invitations,
            "engagement": lambda r, st: self._sync_versioned(
                "engagement", "ListEngagements", "Id", "ModifiedAt", "GetEngagement", "Identifier", st
            ),
            "customer_account": lambda r, st: self._sync_versioned(
                "customer_account",
                "SearchCustomerAccounts",
                "Id",
                "LastModifiedDate",
                "GetCustomerAccount",
                "Identifier",
                st,
            ),
        }
        try:
            for entity in self.entities:
                result.entities[entity] = EntityStats()
                steps[entity](result, result.entities[entity])
        except BudgetExhausted as exc:
            result.status, result.error = "partial", str(exc)
            log.warning("partner central sync stopped: %s", exc)
        except LakehouseError as exc:
            result.status, result.error = "failed", str(exc)
            log.error("partner central sync failed: %s", exc)
        finally:
            stats = self.reader.stats
            result.api_calls = dict(stats.attempts)
            result.retries, result.throttled, result.server_errors = (
                stats.retries,
                stats.throttled,
                stats.server_errors,
            )
        return result

    def _tick(self, entity: str, stats: EntityStats) -> None:
        if self.progress is not None:
            self.progress(entity, stats.listed, stats.fetched)

    def _fetch(
        self, fetch: Callable[[str], RawRecord], ids: Sequence[str]
    ) -> tuple[list[RawRecord | None], BaseException | None]:
        """Fetch ``ids`` (in parallel, in order); results past the first failure may be None."""
        if not ids:
            return [], None
        if self.reader.workers == 1 or len(ids) == 1:
            out: list[RawRecord | None] = []
            for i in ids:
                try:
                    out.append(fetch(i))
                except LakehouseError as exc:
                    return out + [None] * (len(ids) - len(out)), exc
            return out, None
        with ThreadPoolExecutor(max_workers=min(self.reader.workers, len(ids))) as pool:
            futures = [pool.submit(fetch, i) for i in ids]
            results: list[RawRecord | None] = []
            first_error: BaseException | None = None
            for future in futures:
                try:
                    results.append(future.result())
                except LakehouseError as exc:
                    results.append(None)
                    first_error = first_error or exc
            return results, first_error

    def _sync_opportunities(self, result: SyncResult, stats: EntityStats) -> None:
        stored = self.sink.watermark(self.catalog, "opportunity")
        start = self.since_us if self.since_us is not None else stored
        result.watermark_before_us = stored
        result.watermark_after_us = stored
        after = None if start is None else start - self.overlap_us
        known = self.sink.known_versions(self.catalog, "opportunity", after)
        states_of = getattr(self.sink, "known_states", None)
        states = states_of(self.catalog, after) if states_of is not None else None

        def is_known(item: Listed) -> bool:
            """Known when bronze holds this (id, LastModifiedDate) and, if the listing shows a lifecycle state, a
            payload of that version in that state (two versions can share a LastModifiedDate: ReviewStatus moves
            without it, so the listing's state is the tie-break's evidence that a newer payload exists)."""
            if (item.entity_id, item.version) not in known:
                return False
            return (
                states is None or item.state is None or (item.entity_id, item.version, item.state) in states
            )

        pending: list[RawRecord] = []
        covered: int | None = None  # LastModifiedDate up to which every listed item is done

        def flush() -> None:
            if pending:
                summaries = [
                    self._summaries.pop(r.entity_id) for r in pending if r.entity_id in self._summaries
                ]
                if (
                    summaries
                ):  # AWS's view lands before the opportunity it belongs to, never after the watermark
                    summary_landed = self.sink.land(self.catalog, "aws_opportunity_summary", summaries)
                    summary_stats = result.entities.setdefault("aws_opportunity_summary", EntityStats())
                    summary_stats.fetched += len(summaries)
                    summary_stats.landed += summary_landed.landed
                    summary_stats.duplicates += summary_landed.duplicates
                landed = self.sink.land(self.catalog, "opportunity", pending)
                stats.landed += landed.landed
                stats.duplicates += landed.duplicates
                pending.clear()
            if covered is not None and (
                result.watermark_after_us is None or covered > result.watermark_after_us
            ):
                self.sink.advance_watermark(self.catalog, "opportunity", covered)
                result.watermark_after_us = covered

        chunk = max(1, min(self.land_batch, self.reader.page_size))
        # List every summary first (1 call per 100), so the Gets are planned against the budget before any is made.
        pages = list(self.reader.list_opportunities(self.catalog, after))
        listed = [item for page in pages for item in page]
        to_fetch = sum(not is_known(item) for item in listed)
        engaged = sum(
            1 for item in listed if item.state is not None and item.state[1] in ENGAGED_REVIEW_STATUSES
        )
        budget = self.reader.budget
        result.plan = SyncPlan(
            listed=len(listed),
            to_fetch=to_fetch,
            engaged=round(to_fetch * engaged / len(listed)) if self.aws_summaries and listed else 0,
            page_size=self.reader.page_size,
            daily_quota=budget.limit or DAILY_CALL_QUOTA,
            used_today=budget.used - len(pages),
            rate_per_second=self.reader.limiter.rate
            if self.reader.limiter is not None
            else READ_QUOTA_PER_SECOND,
        )
        if not result.plan.fits_today:
            log.warning(
                "partner central sync needs %d calls, %d left today: it resumes over %d more day(s), expected done %s",
                result.plan.total_calls,
                result.plan.remaining_today,
                result.plan.days,
                result.plan.completion(self.clock()).isoformat(),
            )
        try:
            for page in pages:
                stats.listed += len(page)
                for start_at in range(0, len(page), chunk):  # land within long pages too
                    part = page[start_at : start_at + chunk]
                    todo = [item for item in part if not is_known(item)]
                    stats.skipped_known += len(part) - len(todo)
                    stats.refetched_ties += sum((i.entity_id, i.version) in known for i in todo)
                    records, error = self._fetch(self._get_opportunity, [item.entity_id for item in todo])
                    fetched = {
                        item.entity_id: rec
                        for item, rec in zip(todo, records, strict=False)
                        if rec is not None
                    }
                    for (
                        item
                    ) in part:  # the watermark covers the contiguous done prefix of the ascending listing
                        if is_known(item) or item.entity_id in fetched:
                            covered = item.version if covered is None else max(covered, item.version)
                        else:
                            break
                    for item in todo:
                        rec = fetched.get(item.entity_id)
                        if rec is not None:
                            known.add((item.entity_id, item.version))
                            known.add((rec.entity_id, rec.last_modified_us))
                            if states is not None and item.state is not None:
                                states.add(
                                    (item.entity_id, item.version, item.state)
                                )  # once per run, at most
                            pending.append(rec)
                    stats.fetched += len(fetched)
                    self._tick("opportunity", stats)
                    if error is not None:
                        raise error
                    if len(pending) >= self.land_batch:
                        flush()
        finally:
            flush()

    def _get_opportunity(self, opportunity_id: str) -> RawRecord:
        """One GetOpportunity, plus AWS's summary when asked for and AWS engaged on it (both or neither count)."""
        record = self.reader.get_opportunity(self.catalog, opportunity_id)
        if self.aws_summaries and aws_engaged(json.loads(record.payload)):
            summary = self.reader.get_aws_opportunity_summary_raw(self.catalog, opportunity_id)
            if summary is not None:
                self._summaries[opportunity_id] = summary
        return record

    def _sync_versioned(
        self,
        entity: str,
        list_operation: str,
        id_key: str,
        modified_key: str,
        get_operation: str,
        get_key: str,
        stats: EntityStats,
    ) -> None:
        """List an entity in full (no modified-date filter exists) and Get only new or changed versions."""
        known = self.sink.known_versions(self.catalog, entity, None)
        pending: list[RawRecord] = []
        todo: list[str] = []
        try:
            for item in self.reader.read_all(
                list_operation, Catalog=self.catalog, MaxResults=self.reader.page_size
            ):
                stats.listed += 1
                modified = item.get(modified_key)
                version = to_us(modified) if isinstance(modified, datetime) else None
                if (item[id_key], version) in known:
                    stats.skipped_known += 1
                else:
                    todo.append(item[id_key])
            records, error = self._fetch(
                lambda i: self.reader.read_raw(get_operation, i, Catalog=self.catalog, **{get_key: i}), todo
            )
            pending += [r for r in records if r is not None]
            stats.fetched += len(pending)
            self._tick(entity, stats)
            if error is not None:
                raise error
        finally:
            if pending:
                landed = self.sink.land(self.catalog, entity, pending)
                stats.landed += landed.landed
                stats.duplicates += landed.duplicates

    def _sync_solutions(self, result: SyncResult, stats: EntityStats) -> None:
        records: list[RawRecord] = []
        try:
            for page in self.reader.list_solutions(self.catalog):
                stats.listed += len(page)
                records.extend(page)
                self._tick("solution", stats)
        finally:
            if records:
                landed = self.sink.land(self.catalog, "solution", records)
                stats.landed += landed.landed
                stats.duplicates += landed.duplicates

    def _sync_invitations(self, result: SyncResult, stats: EntityStats) -> None:
        known = self.sink.known_versions(self.catalog, "engagement_invitation", None)
        pending: list[RawRecord] = []
        try:
            for participant in ("RECEIVER", "SENDER"):
                for page in self.reader.list_engagement_invitations(self.catalog, participant):
                    stats.listed += len(page)
                    todo = [item for item in page if (item.entity_id, item.version) not in known]
                    stats.skipped_known += len(page) - len(todo)
                    records, error = self._fetch(
                        lambda i: self.reader.get_engagement_invitation(self.catalog, i),
                        [item.entity_id for item in todo],
                    )
                    for item, rec in zip(todo, records, strict=False):
                        if rec is not None:
                            known.add((item.entity_id, item.version))
                            pending.append(rec)
                            stats.fetched += 1
                    self._tick("engagement_invitation", stats)
                    if error is not None:
                        raise error
        finally:
            if pending:
                landed = self.sink.land(self.catalog, "engagement_invitation", pending)
                stats.landed += landed.landed
                stats.duplicates += landed.duplicates


# ----------------------------------------------------------------------------------------------- events


_OPPORTUNITY_EVENTS = {
    "Opportunity Created",
    "Opportunity Updated",
    "Opportunity Accepted",
    "Opportunity Rejected",
}
_INVITATION_EVENTS = {
    "Engagement Invitation Created",
    "Engagement Invitation Accepted",
    "Engagement Invitation Rejected",
    "Engagement Invitation Expired",
}


@dataclass(frozen=True)
class EventResult:
    """What handling one EventBridge event did: ``action`` is ``landed``, ``duplicate`` (fetched, payload already
    stored), ``duplicate_event`` (its event id was handled before: no call), ``coalesced`` (another event of the same
    burst fetched the resource: no call) or ``ignored``."""

    detail_type: str
    action: str
    entity: str | None = None
    entity_id: str | None = None
    catalog: str | None = None
    event_id: str | None = None


class EventLedger:
    """Event ids already handled, oldest forgotten first: Partner Central often delivers an event twice (same id),
    and each copy would otherwise cost a Get. Bounded so a long-lived process does not grow without limit."""

    def __init__(self, capacity: int = 100_000) -> None:
        self.capacity = max(1, capacity)
        self._ids: dict[str, None] = {}
        self._lock = threading.Lock()

    def first_time(self, event_id: str | None) -> bool:
        """Record ``event_id``; False when it was seen before (an event without an id is always new)."""
        if not event_id:
            return True
        with self._lock:
            if event_id in self._ids:
                return False
            self._ids[event_id] = None
            if len(self._ids) > self.capacity:
                del self._ids[next(iter(self._ids))]
            return True


@dataclass(frozen=True)
class _Target:
    detail_type: str
    entity: str | None
    ident: str | None
    catalog: str | None
    event_id: str | None


def _event_target(event: Any) -> _Target:
    """Which resource an ``aws.partnercentral-selling`` event names (entity None: a type we ignore)."""
    if not isinstance(event, dict) or event.get("source") != EVENT_SOURCE:
        raise BadInput(
            f"not a Partner Central event: source is {event.get('source') if isinstance(event, dict) else event!r}"
        )
    detail_type = event.get("detail-type") or ""
    detail = event.get("detail") or {}
    catalog = detail.get("catalog")
    event_id = str(event["id"]) if event.get("id") else None
    if detail_type in _OPPORTUNITY_EVENTS:
        entity, ident = "opportunity", (detail.get("opportunity") or {}).get("identifier")
    elif detail_type in _INVITATION_EVENTS:
        inv = detail.get("engagementInvitation") or detail.get("invitation") or {}
        entity, ident = "engagement_invitation", inv.get("id") or inv.get("identifier") or inv.get("arn")
    else:
        return _Target(detail_type, None, None, catalog, event_id)
    if not ident or catalog not in CATALOGS:
        raise BadInput(f"Partner Central event {detail_type!r} lacks a catalog or an identifier: {detail}")
    return _Target(detail_type, entity, ident, catalog, event_id)


def _fetch_and_land(target: _Target, reader: PartnerCentralReader, sink: Sink) -> EventResult:
    assert target.entity is not None and target.ident is not None and target.catalog is not None
    record = (
        reader.get_opportunity(target.catalog, target.ident)
        if target.entity == "opportunity"
        else reader.get_engagement_invitation(target.catalog, target.ident)
    )
    landed = sink.land(target.catalog, target.entity, [record])
    return EventResult(
        target.detail_type,
        "landed" if landed.landed else "duplicate",
        target.entity,
        record.entity_id,
        target.catalog,
        target.event_id,
    )


def handle_event(
    event: dict[str, Any], reader: PartnerCentralReader, sink: Sink, *, ledger: EventLedger | None = None
) -> EventResult:
    """Fetch just the opportunity / invitation an ``aws.partnercentral-selling`` event names and land it.

    The watermark is not touched (events arrive out of order); the landed version is skipped by the next sync
    as already known. With a ``ledger``, a redelivered event (same id) costs no call at all; without one, a
    duplicate event is fetched again and lands nothing (same payload hash).
    """
    target = _event_target(event)
    if target.entity is None:
        return EventResult(target.detail_type, "ignored", catalog=target.catalog, event_id=target.event_id)
    if ledger is not None and not ledger.first_time(target.event_id):
        return EventResult(
            target.detail_type,
            "duplicate_event",
            target.entity,
            target.ident,
            target.catalog,
            target.event_id,
        )
    return _fetch_and_land(target, reader, sink)


def handle_events(
    events: Sequence[dict[str, Any]],
    reader: PartnerCentralReader,
    sink: Sink,
    *,
    ledger: EventLedger | None = None,
) -> list[EventResult]:
    """Handle a burst of events (an SQS / EventBridge batch) with one Get per resource.

    Events are first de-duplicated by event id (against ``ledger`` and within the batch), then coalesced per
    resource: a Get returns the resource's current state, which already reflects every event of the burst, so
    the first event of each ``(catalog, entity, id)`` fetches and the others are ``coalesced``. Results come back
    in input order. A malformed event raises ``BadInput`` before any call is made.
    """
    ledger = ledger or EventLedger()
    targets = [_event_target(e) for e in events]
    results: list[EventResult | None] = [None] * len(targets)
    fetched: dict[tuple[str, str, str], EventResult] = {}
    for i, target in enumerate(targets):
        if target.entity is None:
            results[i] = EventResult(
                target.detail_type, "ignored", catalog=target.catalog, event_id=target.event_id
            )
            continue
        assert target.ident is not None and target.catalog is not None
        if not ledger.first_time(target.event_id):
            results[i] = EventResult(
                target.detail_type,
                "duplicate_event",
                target.entity,
                target.ident,
                target.catalog,
                target.event_id,
            )
            continue
        key = (target.catalog, target.entity, target.ident)
        if key in fetched:
            results[i] = EventResult(
                target.detail_type, "coalesced", target.entity, target.ident, target.catalog, target.event_id
            )
            continue
        fetched[key] = results[i] = _fetch_and_land(target, reader, sink)
    return [r for r in results if r is not None]


def iter_ids(pages: Iterable[list[Listed]]) -> Iterator[str]:
    """The ids of listed pages, flattened (a convenience for callers and tests)."""
    for page in pages:
        for item in page:
            yield item.entity_id
