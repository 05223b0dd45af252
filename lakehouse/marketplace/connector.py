"""AWS Marketplace connector over boto3: catalog / agreement / entitlement reads, metering, and change sets.

* Reads: ``ListEntities`` (SaaSProduct, Offer, ResaleAuthorization) + ``BatchDescribeEntities`` (20 per call);
  ``SearchAgreements`` (seller view, by offer / status / ``AfterLastUpdateTime``) + ``GetAgreementTerms``;
  ``GetEntitlements`` (by ``CUSTOMER_AWS_ACCOUNT_ID`` / ``LICENSE_ARN``, paginated); ``ResolveCustomer``.
  Payloads are kept whole (canonical JSON of the parsed response, timestamps ISO-8601) with their SHA-256.
* Transport retries (throttling, 5xx, dropped connections) are botocore's ``standard`` retry mode on every client
  (``build_client``); a retry re-sends the identical request. Each HTTP attempt waits for an optional client-side
  rate limit (``guardrails.TokenBucket``) and is counted (``calls`` per operation, ``retries``).
* Metering: ``MeteringSender.send`` sends one ``BatchMeterUsage`` of at most 25 records of one product (the
  service dedupes identical records, so a transport retry is safe), re-sends ``UnprocessedRecords`` alone (a
  domain retry, ours), and returns every record's result. A request-level 4xx
  (``TimestampOutOfBoundsException``, ``InvalidUsageDimensionException``, ...) raises ``MeteringRejected``.
* Change sets: ``ChangeSets.validate`` starts an ``Intent=VALIDATE`` change set and polls it to SUCCEEDED / FAILED
  with each change's error list; ``ChangeSets.apply`` is the only way to APPLY: it needs an approval that the
  ``ApprovalGate`` confirms for exactly this change set, validates first, derives the ``ClientRequestToken`` from
  the approval id (a retry or re-run can't create a second change set), retries ``ResourceInUseException``
  (an entity locked by another change set) with backoff and, if still locked, defers without consuming the
  approval, and marks the approval executed once the change set ends.

This module never imports the emulator (``sandboxes.marketplace``): the emulator is the check.
"""

from __future__ import annotations

import hashlib
import json
import logging
import random
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, Literal

from lakehouse.aws_operations import Declaration
from lakehouse.errors import BadInput, LakehouseError
from lakehouse.guardrails import TokenBucket
from lakehouse.marketplace.interfaces import ApprovalGate, payload_digest

log = logging.getLogger(__name__)

SERVICES = {
    "catalog": "marketplace-catalog",
    "agreement": "marketplace-agreement",
    "entitlement": "marketplace-entitlement",
    "metering": "meteringmarketplace",
}
CATALOG = "AWSMarketplace"
CATALOG_ENTITY_TYPES = ("SaaSProduct", "Offer", "ResaleAuthorization")
MAX_METERING_RECORDS = 25
DESCRIBE_BATCH = 20
APPLY_ACTION = "marketplace.change_set.apply"
_RETRYABLE = {
    "ThrottlingException",
    "Throttling",
    "TooManyRequestsException",
    "InternalServiceErrorException",
    "InternalServiceException",
    "InternalServerException",
    "InternalFailure",
    "ServiceUnavailable",
}
TERMINAL_STATUSES = ("SUCCEEDED", "FAILED", "CANCELLED")
# What the Marketplace clients may call, per IAM role (tests/infra checks the IAM policies): the metering job's
# MeteringSender and resolve_customer; catalog reads and approved change sets for the reader and ChangeSets.
AWS_OPERATIONS: tuple[Declaration, ...] = (
    Declaration("metering", SERVICES["metering"], ("BatchMeterUsage", "ResolveCustomer")),
    Declaration(
        "catalog",
        SERVICES["catalog"],
        ("BatchDescribeEntities", "DescribeChangeSet", "ListChangeSets", "ListEntities", "StartChangeSet"),
    ),
    Declaration("catalog", SERVICES["agreement"], ("GetAgreementTerms", "SearchAgreements")),
    Declaration("catalog", SERVICES["entitlement"], ("GetEntitlements",)),
)


class MarketplaceError(LakehouseError):
    """A Marketplace call failed for good (after retries, or with an error that retrying can't fix)."""

    def __init__(self, message: str, code: str | None = None) -> None:
        super().__init__(message)
        self.code = code


class MeteringRejected(MarketplaceError):
    """BatchMeterUsage refused the whole request (a 4xx such as TimestampOutOfBoundsException)."""

    exit_code = 2


class EntityLocked(MarketplaceError):
    """An entity of the change set is locked by another running change set (ResourceInUseException)."""


class ChangeSetFailed(MarketplaceError):
    """A change set ended FAILED or CANCELLED; ``result.errors`` lists what the service reported."""

    exit_code = 2

    def __init__(self, message: str, result: ChangeSetResult) -> None:
        super().__init__(message, result.failure_code)
        self.result = result


# ----------------------------------------------------------------------------------------------- clients


@dataclass(frozen=True)
class MarketplaceConfig:
    """How to reach the four Marketplace services (one seller account)."""

    region: str = "us-east-1"
    endpoint_url: str | None = (
        None  # one URL for all four (the sandbox); None: boto3's defaults / AWS_ENDPOINT_URL_*
    )
    aws_access_key_id: str | None = None
    aws_secret_access_key: str | None = None
    aws_session_token: str | None = None
    profile_name: str | None = None
    max_attempts: int = 6  # HTTP attempts per call, the first included (botocore's total_max_attempts)
    retry_mode: Literal["standard", "adaptive"] = "standard"
    backoff_base_s: float = 0.2  # pacing of the domain retries (UnprocessedRecords, ResourceInUse)
    backoff_cap_s: float = 10.0
    rate_per_second: float | None = None  # client-side limit on HTTP attempts; None: none
    connect_timeout_s: float = 10.0
    read_timeout_s: float = 30.0


_SESSIONS: dict[tuple[Any, ...], Any] = {}
_SESSIONS_LOCK = threading.Lock()


def _session(config: MarketplaceConfig) -> Any:
    """One boto3 Session per explicit credential set (a Session caches the service models its clients load);
    ambient credentials (environment, profile, role) get a fresh Session so a change is always seen."""
    import boto3

    if not config.aws_access_key_id:
        return boto3.Session(region_name=config.region, profile_name=config.profile_name)
    key = (
        config.region,
        config.profile_name,
        config.aws_access_key_id,
        config.aws_secret_access_key,
        config.aws_session_token,
    )
    with _SESSIONS_LOCK:
        if key not in _SESSIONS:
            _SESSIONS[key] = boto3.Session(
                region_name=config.region,
                profile_name=config.profile_name,
                aws_access_key_id=config.aws_access_key_id,
                aws_secret_access_key=config.aws_secret_access_key,
                aws_session_token=config.aws_session_token,
            )
        return _SESSIONS[key]


def build_client(service: str, config: MarketplaceConfig, *, session: Any = None) -> Any:
    """A boto3 client for ``service`` (key of ``SERVICES`` or the boto3 name) with botocore's retry mode."""
    from botocore.config import Config

    name = SERVICES.get(service, service)
    session = session or _session(config)
    with _SESSIONS_LOCK:  # creating clients from one Session is not thread-safe
        return session.client(
            name,
            region_name=config.region,
            endpoint_url=config.endpoint_url,
            config=Config(
                retries={"mode": config.retry_mode, "total_max_attempts": max(1, config.max_attempts)},
                connect_timeout=config.connect_timeout_s,
                read_timeout=config.read_timeout_s,
                tcp_keepalive=True,
            ),
        )


def _plain(value: Any) -> Any:
    """A parsed boto3 structure as JSON-ready data (datetimes ISO-8601 UTC, ResponseMetadata dropped)."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items() if k != "ResponseMetadata"}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
    if isinstance(value, (date, Decimal)):
        return str(value)
    return value


def canonical_json(value: Any) -> str:
    """Deterministic JSON text (sorted keys) of a parsed response fragment."""
    return json.dumps(_plain(value), sort_keys=True, separators=(",", ":"))


def _transient(exc: Exception) -> bool:
    """Whether a ClientError is throttling or a server fault (worth retrying later, never a rejection)."""
    response = getattr(exc, "response", None) or {}
    code = response.get("Error", {}).get("Code", "")
    status = response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
    return code in _RETRYABLE or status >= 500 or status == 429


def _configured(config: MarketplaceConfig, options: dict[str, Any]) -> MarketplaceConfig:
    """``config`` with the caller's ``max_attempts`` (the clients' transport attempts); fills ``options``'
    domain-retry pacing and rate from ``config`` where the caller gave none."""
    options.setdefault("max_attempts", config.max_attempts)
    options.setdefault("backoff_base_s", config.backoff_base_s)
    options.setdefault("backoff_cap_s", config.backoff_cap_s)
    if options.get("limiter") is None and config.rate_per_second:
        options["limiter"] = TokenBucket(config.rate_per_second)
    return replace(config, max_attempts=options["max_attempts"])


class _Caller:
    """Calls over boto3 clients whose transport retries are botocore's retry mode (see ``build_client``).

    The first call on a client hooks it: every HTTP attempt, retries included, waits for ``limiter`` (if any)
    and is counted in ``calls``; the attempts botocore made beyond the first are added to ``retries``.
    ``max_attempts`` and ``backoff`` pace the domain retries that are ours (UnprocessedRecords, locked entities).
    """

    def __init__(
        self,
        *,
        max_attempts: int = 6,
        backoff_base_s: float = 0.2,
        backoff_cap_s: float = 10.0,
        limiter: TokenBucket | None = None,
        sleep: Callable[[float], None] = time.sleep,
        seed: int | None = None,
    ) -> None:
        self.max_attempts = max(1, max_attempts)
        self.backoff_base_s, self.backoff_cap_s = backoff_base_s, backoff_cap_s
        self.limiter = limiter
        self.sleep = sleep
        self.calls: Counter[str] = Counter()
        self.retries = 0
        self._rng = random.Random(seed)
        self._hooked: set[int] = set()
        self._lock = threading.Lock()

    def backoff(self, attempt: int) -> float:
        """Capped exponential backoff with full jitter for the ``attempt``-th domain retry."""
        return self._rng.random() * min(self.backoff_cap_s, self.backoff_base_s * (2.0 ** (attempt - 1)))

    def _hook(self, client: Any) -> Any:
        """Register the limiter and the counters on ``client``'s events (once per client); returns it."""
        with self._lock:
            if id(client) in self._hooked:
                return client
            self._hooked.add(id(client))
        events = client.meta.events
        name = client.meta.service_model.service_id.hyphenize()
        uid = f"lakehouse-mp-{id(self)}"
        events.register(f"before-send.{name}", self._before_send, unique_id=f"{uid}-send")
        events.register(f"after-call.{name}", self._count_retries, unique_id=f"{uid}-retries")
        events.register(f"after-call-error.{name}", self._count_retries, unique_id=f"{uid}-retries-error")
        return client

    def _before_send(self, event_name: str = "", **kwargs: Any) -> None:
        """Every HTTP attempt: wait for the limiter, count it under its operation."""
        if self.limiter is not None:
            self.limiter.acquire()
        with self._lock:
            self.calls[event_name.rsplit(".", 1)[-1]] += 1

    def _count_retries(self, context: Any = None, **kwargs: Any) -> None:
        """After a call: the attempts botocore made beyond the first are its retries."""
        attempt = ((context or {}).get("retries") or {}).get("attempt", 1)
        if attempt > 1:
            with self._lock:
                self.retries += attempt - 1

    def call(self, client: Any, operation: str, **params: Any) -> dict[str, Any]:
        """``client.<operation>(**params)``; an error that outlasted the retry mode raises ``MarketplaceError``."""
        from botocore.exceptions import ClientError, ConnectionClosedError, ReadTimeoutError
        from botocore.exceptions import ConnectionError as BotoConnectionError

        method = getattr(self._hook(client), _snake(operation))
        try:
            result: dict[str, Any] = method(**params)
            return result
        except ClientError as exc:
            error = exc.response.get("Error", {})
            raise self.error(operation, error.get("Code", ""), error.get("Message", str(exc)), exc) from exc
        except (BotoConnectionError, ConnectionClosedError, ReadTimeoutError) as exc:
            raise MarketplaceError(f"Marketplace {operation} failed: {exc}", "ConnectionError") from exc

    def error(self, operation: str, code: str, message: str, exc: Exception) -> MarketplaceError:
        """The typed error for a failed call (subclasses map their operations' codes)."""
        return MarketplaceError(f"Marketplace {operation} failed: {code}: {message}", code)


def _snake(operation: str) -> str:
    """``BatchMeterUsage`` -> ``batch_meter_usage`` (boto3's method name)."""
    from botocore import xform_name

    name: str = xform_name(operation)
    return name


# ----------------------------------------------------------------------------------------------- reads


@dataclass(frozen=True, slots=True)
class RawEntity:
    """One fetched Marketplace object version, kept whole: catalog entity, agreement or entitlement."""

    entity_type: str
    entity_id: str
    entity_arn: str | None
    last_modified: datetime | None
    payload: str
    payload_sha256: str

    @classmethod
    def of(
        cls,
        entity_type: str,
        entity_id: str,
        entity_arn: str | None,
        last_modified: datetime | None,
        payload: Any,
    ) -> RawEntity:
        text = canonical_json(payload)
        return cls(
            entity_type, entity_id, entity_arn, last_modified, text, hashlib.sha256(text.encode()).hexdigest()
        )


def parse_iso(text: str | None) -> datetime | None:
    """A catalog DateTimeISO8601 (``2024-05-01T10:00:00Z``) as an aware UTC datetime."""
    if not text:
        return None
    return datetime.fromisoformat(text).astimezone(UTC)


def iso_z(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class MarketplaceReader(_Caller):
    """Catalog, agreement and entitlement reads for one seller account."""

    def __init__(
        self,
        catalog: Any = None,
        agreement: Any = None,
        entitlement: Any = None,
        metering: Any = None,
        *,
        factory: Callable[[str], Any] | None = None,
        **retry: Any,
    ) -> None:
        super().__init__(**retry)
        self._clients = {
            "catalog": catalog,
            "agreement": agreement,
            "entitlement": entitlement,
            "metering": metering,
        }
        self._factory = factory

    def _client(self, service: str) -> Any:
        client = self._clients.get(service)
        if client is None:
            if self._factory is None:
                raise MarketplaceError(f"this reader has no {service} client", "NoClient")
            client = self._clients[service] = self._factory(service)
        return client

    catalog = property(lambda self: self._client("catalog"))
    agreement = property(lambda self: self._client("agreement"))
    entitlement = property(lambda self: self._client("entitlement"))
    metering = property(lambda self: self._client("metering"))

    @classmethod
    def from_config(
        cls, config: MarketplaceConfig, *, session: Any = None, **retry: Any
    ) -> MarketplaceReader:
        """A reader whose clients are built on first use."""
        configured = _configured(config, retry)
        return cls(factory=lambda service: build_client(service, configured, session=session), **retry)

    # catalog ------------------------------------------------------------------------------------------

    def list_entity_ids(
        self, entity_type: str, *, page_size: int = 50
    ) -> Iterator[tuple[str, datetime | None]]:
        """``(EntityId, LastModifiedDate)`` of every entity of ``entity_type`` the seller owns."""
        if entity_type not in CATALOG_ENTITY_TYPES:
            raise BadInput(f"unknown catalog entity type {entity_type!r}: use one of {CATALOG_ENTITY_TYPES}")
        token: str | None = None
        while True:
            params: dict[str, Any] = {"Catalog": CATALOG, "EntityType": entity_type, "MaxResults": page_size}
            if token:
                params["NextToken"] = token
            page = self.call(self.catalog, "ListEntities", **params)
            for summary in page.get("EntitySummaryList", []):
                yield summary["EntityId"], parse_iso(summary.get("LastModifiedDate"))
            token = page.get("NextToken")
            if not token:
                return

    def describe_entities(self, entity_ids: Sequence[str]) -> tuple[list[RawEntity], dict[str, str]]:
        """Details of ``entity_ids`` (20 per BatchDescribeEntities call); also returns ``id -> error``."""
        records: list[RawEntity] = []
        errors: dict[str, str] = {}
        for start in range(0, len(entity_ids), DESCRIBE_BATCH):
            chunk = entity_ids[start : start + DESCRIBE_BATCH]
            response = self.call(
                self.catalog,
                "BatchDescribeEntities",
                EntityRequestList=[{"Catalog": CATALOG, "EntityId": i} for i in chunk],
            )
            for entity_id, detail in response.get("EntityDetails", {}).items():
                records.append(
                    RawEntity.of(
                        detail.get("EntityType", "").split("@")[0],
                        entity_id,
                        detail.get("EntityArn"),
                        parse_iso(detail.get("LastModifiedDate")),
                        detail,
                    )
                )
            for entity_id, error in response.get("Errors", {}).items():
                errors[entity_id] = f"{error.get('ErrorCode')}: {error.get('ErrorMessage')}"
        return records, errors

    # agreements ---------------------------------------------------------------------------------------

    def search_agreements(
        self,
        *,
        after: datetime | None = None,
        offer_id: str | None = None,
        status: str | None = None,
        page_size: int = 50,
    ) -> Iterator[dict[str, Any]]:
        """The seller's purchase agreements, oldest ``lastUpdateTime`` first, updated after ``after``."""
        filters = [
            {"name": "PartyType", "values": ["Proposer"]},
            {"name": "AgreementType", "values": ["PurchaseAgreement"]},
        ]
        if after is not None:
            filters.append({"name": "AfterLastUpdateTime", "values": [iso_z(after)]})
        if offer_id:
            filters.append({"name": "OfferId", "values": [offer_id]})
        if status:
            filters.append({"name": "Status", "values": [status]})
        token: str | None = None
        while True:
            params: dict[str, Any] = {
                "catalog": CATALOG,
                "filters": filters,
                "maxResults": page_size,
                "sort": {"sortBy": "LastUpdateTime", "sortOrder": "ASCENDING"},
            }
            if token:
                params["nextToken"] = token
            page = self.call(self.agreement, "SearchAgreements", **params)
            yield from page.get("agreementViewSummaries", [])
            token = page.get("nextToken")
            if not token:
                return

    def agreement_terms(self, agreement_id: str) -> list[dict[str, Any]]:
        """Every accepted term of an agreement (GetAgreementTerms, all pages)."""
        terms: list[dict[str, Any]] = []
        token: str | None = None
        while True:
            params: dict[str, Any] = {"agreementId": agreement_id, "maxResults": 50}
            if token:
                params["nextToken"] = token
            page = self.call(self.agreement, "GetAgreementTerms", **params)
            terms.extend(page.get("acceptedTerms", []))
            token = page.get("nextToken")
            if not token:
                return terms

    def agreement_record(self, summary: Mapping[str, Any]) -> RawEntity:
        """An agreement summary plus its terms as one raw record."""
        terms = self.agreement_terms(summary["agreementId"])
        return RawEntity.of(
            "Agreement",
            summary["agreementId"],
            None,
            summary.get("lastUpdateTime"),
            {"agreement": summary, "acceptedTerms": terms},
        )

    # entitlements -------------------------------------------------------------------------------------

    def entitlements(
        self,
        product_code: str,
        *,
        customer_aws_account_id: str | None = None,
        license_arn: str | None = None,
        dimension: str | None = None,
    ) -> list[dict[str, Any]]:
        """GetEntitlements of a product, filtered by customer account / license / dimension, all pages."""
        filters: dict[str, list[str]] = {}
        if customer_aws_account_id:
            filters["CUSTOMER_AWS_ACCOUNT_ID"] = [customer_aws_account_id]
        if license_arn:
            filters["LICENSE_ARN"] = [license_arn]
        if dimension:
            filters["DIMENSION"] = [dimension]
        out: list[dict[str, Any]] = []
        token: str | None = None
        while True:
            params: dict[str, Any] = {"ProductCode": product_code, "MaxResults": 25}
            if filters:
                params["Filter"] = filters
            if token:
                params["NextToken"] = token
            page = self.call(self.entitlement, "GetEntitlements", **params)
            out.extend(page.get("Entitlements", []))
            token = page.get("NextToken")
            if not token:
                return out

    @staticmethod
    def entitlement_record(entitlement: Mapping[str, Any]) -> RawEntity:
        who = (
            entitlement.get("LicenseArn")
            or entitlement.get("CustomerAWSAccountId")
            or entitlement.get("CustomerIdentifier")
        )
        entity_id = f"{entitlement.get('ProductCode')}/{who}/{entitlement.get('Dimension')}"
        return RawEntity.of("Entitlement", entity_id, entitlement.get("LicenseArn"), None, entitlement)

    # registration -------------------------------------------------------------------------------------

    def resolve_customer(self, registration_token: str) -> dict[str, Any]:
        """ResolveCustomer: the buyer behind an ``x-amzn-marketplace-token``."""
        if not registration_token or not registration_token.strip():
            raise BadInput("the x-amzn-marketplace-token is empty")
        response = self.call(self.metering, "ResolveCustomer", RegistrationToken=registration_token)
        response.pop("ResponseMetadata", None)
        return response


# ----------------------------------------------------------------------------------------------- metering


@dataclass
class BatchOutcome:
    """What one logical BatchMeterUsage send produced: a result per processed record, and what stayed unprocessed."""

    results: list[dict[str, Any]] = field(default_factory=list)
    unprocessed: list[dict[str, Any]] = field(default_factory=list)
    calls: int = 0


class MeteringSender(_Caller):
    """Sends usage records with BatchMeterUsage: ≤25 records and one product per call, identical retries."""

    def __init__(self, client: Any, **retry: Any) -> None:
        super().__init__(**retry)
        self.client = client

    @classmethod
    def from_config(cls, config: MarketplaceConfig, *, session: Any = None, **retry: Any) -> MeteringSender:
        """A sender over a metering client built from ``config`` (``retry`` overrides attempts and pacing)."""
        configured = _configured(config, retry)
        return cls(build_client("metering", configured, session=session), **retry)

    def error(self, operation: str, code: str, message: str, exc: Exception) -> MarketplaceError:
        if operation == "BatchMeterUsage" and not _transient(exc):
            return MeteringRejected(f"BatchMeterUsage refused the request: {code}: {message}", code)
        return super().error(operation, code, message, exc)

    def send(self, records: Sequence[Mapping[str, Any]], *, product_code: str | None) -> BatchOutcome:
        """Send one batch; ``product_code`` None means the records carry LicenseArn (concurrent agreements)."""
        if not records:
            return BatchOutcome()
        if len(records) > MAX_METERING_RECORDS:
            raise BadInput(
                f"a BatchMeterUsage call takes at most {MAX_METERING_RECORDS} records, got {len(records)}"
            )
        outcome = BatchOutcome()
        pending = [dict(r) for r in records]
        for attempt in range(1, self.max_attempts + 1):
            params: dict[str, Any] = {"UsageRecords": pending}
            if product_code:
                params["ProductCode"] = product_code
            before = self.calls["BatchMeterUsage"]
            response = self.call(self.client, "BatchMeterUsage", **params)
            outcome.calls += self.calls["BatchMeterUsage"] - before
            outcome.results.extend(response.get("Results", []))
            pending = list(response.get("UnprocessedRecords", []))
            if not pending:
                return outcome
            if attempt < self.max_attempts:
                self.retries += 1
                self.sleep(self.backoff(attempt))
        outcome.unprocessed = pending
        return outcome


# ----------------------------------------------------------------------------------------------- change sets


@dataclass(frozen=True)
class ChangeError:
    """One error the service reported on one change of a change set."""

    change_type: str
    entity: str | None
    code: str
    message: str


@dataclass(frozen=True)
class ChangeSetResult:
    """A change set's end state."""

    change_set_id: str
    intent: str
    status: str
    failure_code: str | None = None
    failure_description: str | None = None
    errors: tuple[ChangeError, ...] = ()
    entities: tuple[tuple[str, str], ...] = ()  # (entity type, identifier) the changes resolved to

    def as_dict(self) -> dict[str, Any]:
        return {
            "change_set_id": self.change_set_id,
            "intent": self.intent,
            "status": self.status,
            "failure_code": self.failure_code,
            "failure_description": self.failure_description,
            "errors": [e.__dict__ for e in self.errors],
            "entities": [list(e) for e in self.entities],
        }


def change_set_payload(
    changes: Sequence[Mapping[str, Any]], *, catalog: str = CATALOG, name: str | None = None
) -> dict[str, Any]:
    """What an APPLY approval is bound to: the catalog, the change set name and the exact changes."""
    return {"catalog": catalog, "change_set_name": name, "changes": _plain(list(changes))}


def client_request_token(approval_id: str) -> str:
    """The ClientRequestToken of the APPLY for ``approval_id`` (deterministic: retries are the same request)."""
    return "apply-" + hashlib.sha256(approval_id.encode()).hexdigest()[:48]


def apply_change_set_name(name: str | None, approval_id: str) -> str:
    """The ChangeSetName of the APPLY for ``approval_id`` (how a re-run finds an APPLY already started)."""
    text = f"{(name or 'lakehouse')[:60]} approval {approval_id}"
    return "".join(ch if ch.isalnum() or ch in " _+=.:@-" else "-" for ch in text)[:100]


class ChangeSets(_Caller):
    """Catalog change sets: VALIDATE freely, APPLY only through an approval."""

    def __init__(
        self,
        client: Any,
        *,
        poll_interval_s: float = 5.0,
        poll_timeout_s: float = 900.0,
        lock_retries: int = 8,
        **retry: Any,
    ) -> None:
        super().__init__(**retry)
        self.client = client
        self.poll_interval_s, self.poll_timeout_s, self.lock_retries = (
            poll_interval_s,
            poll_timeout_s,
            lock_retries,
        )

    @classmethod
    def from_config(cls, config: MarketplaceConfig, *, session: Any = None, **options: Any) -> ChangeSets:
        """Change sets over a catalog client built from ``config`` (``options`` override attempts and pacing)."""
        configured = _configured(config, options)
        return cls(build_client("catalog", configured, session=session), **options)

    def error(self, operation: str, code: str, message: str, exc: Exception) -> MarketplaceError:
        if code == "ResourceInUseException":
            return EntityLocked(f"{operation}: {message}", code)
        return super().error(operation, code, message, exc)

    def validate(
        self, changes: Sequence[Mapping[str, Any]], *, name: str | None = None, catalog: str = CATALOG
    ) -> ChangeSetResult:
        """Run the change set with ``Intent=VALIDATE`` and wait for its verdict (nothing changes)."""
        change_set_id = self._start(changes, intent="VALIDATE", name=name, catalog=catalog, token=None)
        return self.wait(change_set_id, catalog=catalog)

    def apply(
        self,
        changes: Sequence[Mapping[str, Any]],
        *,
        approval_id: str,
        gate: ApprovalGate,
        name: str | None = None,
        catalog: str = CATALOG,
    ) -> ChangeSetResult:
        """APPLY an approved change set exactly once; raises ``ApprovalRefused`` / ``ChangeSetFailed`` /
        ``EntityLocked`` (deferred: the approval stays unexecuted, re-run later)."""
        if not approval_id:
            from lakehouse.marketplace.interfaces import ApprovalRefused

            raise ApprovalRefused("APPLY needs an approval id; request an approval for this change set first")
        digest = payload_digest(change_set_payload(changes, catalog=catalog, name=name))
        gate.verify(approval_id, action=APPLY_ACTION, payload_sha256=digest)
        apply_name = apply_change_set_name(name, approval_id)
        # a previous run may have started the APPLY and died before recording it: finish that one instead
        started = self._find(apply_name, catalog=catalog)
        if started is None:
            checked = self.validate(changes, name=name, catalog=catalog)
            if checked.status != "SUCCEEDED":
                raise ChangeSetFailed(_failure_text("VALIDATE", checked), checked)
            started = self._start(
                changes,
                intent="APPLY",
                name=apply_name,
                catalog=catalog,
                token=client_request_token(approval_id),
            )
        result = self.wait(started, catalog=catalog)
        gate.mark_executed(approval_id, result=result.as_dict())
        if result.status != "SUCCEEDED":
            raise ChangeSetFailed(_failure_text("APPLY", result), result)
        return result

    def _find(self, change_set_name: str, *, catalog: str) -> str | None:
        """The id of the change set called ``change_set_name``, if one was started."""
        listed = self.call(
            self.client,
            "ListChangeSets",
            Catalog=catalog,
            FilterList=[{"Name": "ChangeSetName", "ValueList": [change_set_name]}],
        )
        found = listed.get("ChangeSetSummaryList", [])
        return found[0]["ChangeSetId"] if found else None

    def _start(
        self,
        changes: Sequence[Mapping[str, Any]],
        *,
        intent: str,
        name: str | None,
        catalog: str,
        token: str | None,
    ) -> str:
        params: dict[str, Any] = {"Catalog": catalog, "ChangeSet": list(changes), "Intent": intent}
        if name:
            params["ChangeSetName"] = name
        if token:
            params["ClientRequestToken"] = token
        for attempt in range(1, self.lock_retries + 1):
            try:
                change_set_id: str = self.call(self.client, "StartChangeSet", **params)["ChangeSetId"]
                return change_set_id
            except EntityLocked:
                if attempt == self.lock_retries:
                    raise EntityLocked(
                        f"StartChangeSet ({intent}): an entity is still locked by another change set "
                        f"after {attempt} attempts; nothing was started, retry later",
                        "ResourceInUseException",
                    ) from None
                self.sleep(self.backoff(attempt + 2))
        raise AssertionError("unreachable")

    def wait(self, change_set_id: str, *, catalog: str = CATALOG) -> ChangeSetResult:
        """Poll DescribeChangeSet until SUCCEEDED, FAILED or CANCELLED."""
        deadline = time.monotonic() + self.poll_timeout_s
        delay = min(0.05, self.poll_interval_s)
        while True:
            described = self.call(
                self.client, "DescribeChangeSet", Catalog=catalog, ChangeSetId=change_set_id
            )
            status = described.get("Status", "")
            if status in TERMINAL_STATUSES:
                return _result(described)
            if time.monotonic() > deadline:
                raise MarketplaceError(
                    f"change set {change_set_id} still {status} after {self.poll_timeout_s}s; "
                    "poll it again later",
                    "Timeout",
                )
            self.sleep(delay)
            delay = min(
                self.poll_interval_s, delay * 1.5
            )  # quick for the sandbox, gentle for real change sets


def _result(described: Mapping[str, Any]) -> ChangeSetResult:
    errors: list[ChangeError] = []
    entities: list[tuple[str, str]] = []
    for change in described.get("ChangeSet", []):
        entity = change.get("Entity") or {}
        if entity.get("Identifier"):
            entities.append((entity.get("Type", ""), entity["Identifier"]))
        for error in change.get("ErrorDetailList", []) or []:
            errors.append(
                ChangeError(
                    change.get("ChangeType", ""),
                    entity.get("Identifier"),
                    error.get("ErrorCode", ""),
                    error.get("ErrorMessage", ""),
                )
            )
    return ChangeSetResult(
        described["ChangeSetId"],
        described.get("Intent", ""),
        described["Status"],
        described.get("FailureCode"),
        described.get("FailureDescription"),
        tuple(errors),
        tuple(entities),
    )


def _failure_text(step: str, result: ChangeSetResult) -> str:
    lines = [
        f"{step} change set {result.change_set_id} ended {result.status}"
        + (f" ({result.failure_code}: {result.failure_description})" if result.failure_code else "")
    ]
    lines += [f"  - {e.change_type}: {e.code}: {e.message}" for e in result.errors]
    return "\n".join(lines)
