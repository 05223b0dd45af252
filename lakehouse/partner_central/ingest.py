"""Bronze landing for Partner Central: API syncs, EventBridge events and bulk files, each recorded as a run.

* ``BronzeSink`` implements the connector's ``Sink`` on the lake: payloads land in
  ``bronze.partner_central_<entity>`` (exact text + SHA-256; a payload already stored for that entity is not
  appended again), and the sync watermark lives in ``ops.sync_watermark``, appended only *after* the bronze
  append it covers has committed. A crash between the two leaves the watermark behind, never ahead: the rerun
  re-lists from the older watermark and skips, without API calls, every version bronze already holds.
* ``sync_partner_central`` runs one incremental sync and writes an ``ops.ingestion_run`` row; the API calls it
  spent are what the rolling 24-hour per-tenant call budget is computed from.
* ``ingest_file`` loads a JSON Lines file or a JSON array of GetOpportunity-shaped objects; every line that is not
  such an object lands in ``bronze.partner_central_opportunity_rejected`` with its line number and reason.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from lakehouse import io
from lakehouse.errors import BadInput
from lakehouse.partner_central.connector import (
    CATALOGS,
    DAILY_CALL_QUOTA,
    ENTITIES,
    CallBudget,
    EventLedger,
    EventResult,
    LandResult,
    PartnerCentralReader,
    PartnerCentralSync,
    ProgressFn,
    RawRecord,
    from_us,
    handle_event,
    handle_events,
    parse_timestamp,
    to_us,
    validate_catalog,
)
from lakehouse.partner_central.entities import bronze as tables
from lakehouse.settings import get_settings
from lakehouse.tenancy import TenantScope

log = logging.getLogger(__name__)

SOURCE = "partner-central"
BRONZE = {
    "opportunity": tables.OPPORTUNITY,
    "solution": tables.SOLUTION,
    "engagement_invitation": tables.ENGAGEMENT_INVITATION,
    "aws_opportunity_summary": tables.AWS_OPPORTUNITY_SUMMARY,
    "engagement": tables.ENGAGEMENT,
    "customer_account": tables.CUSTOMER_ACCOUNT,
}


def _now() -> datetime:
    return datetime.now(UTC)


def new_run_id(tenant_id: str, kind: str = "pc") -> str:
    """A unique, sortable ingestion run id."""
    return f"{kind}-{tenant_id}-{_now().strftime('%Y%m%dT%H%M%SZ')}-{uuid.uuid4().hex[:8]}"


@dataclass
class IngestionRun:
    """One ingestion run as recorded in ``ops.ingestion_run``."""

    tenant_id: str
    ingestion_run_id: str
    source: str
    catalog: str | None
    status: str
    started_at: datetime
    finished_at: datetime | None = None
    fetched: int = 0
    landed: int = 0
    duplicates: int = 0
    rejected: int = 0
    api_calls: int = 0
    watermark_before: datetime | None = None
    watermark_after: datetime | None = None
    error: str | None = None
    details: dict[str, Any] = field(default_factory=dict)

    def row(self) -> tuple[Any, ...]:
        return (
            self.tenant_id,
            self.ingestion_run_id,
            self.source,
            self.catalog,
            self.status,
            self.started_at,
            self.finished_at,
            self.fetched,
            self.landed,
            self.duplicates,
            self.rejected,
            self.api_calls,
            self.watermark_before,
            self.watermark_after,
            self.error,
            json.dumps(self.details, sort_keys=True),
        )


def record_run(spark: SparkSession, scope: TenantScope, run: IngestionRun) -> None:
    """Append the run to ``ops.ingestion_run``."""
    df = spark.createDataFrame([run.row()], tables.INGESTION_RUN.schema)
    io.append(spark, tables.INGESTION_RUN, df, scope)


def calls_in_last_day(spark: SparkSession, scope: TenantScope, now: datetime | None = None) -> int:
    """API calls the tenant's Partner Central runs spent in the rolling 24 hours before ``now``."""
    if not io.exists(tables.INGESTION_RUN):
        return 0
    since = (now or _now()) - timedelta(days=1)
    row = (
        io.read(spark, tables.INGESTION_RUN, scope)
        .where((F.col("source") == SOURCE) & (F.col("started_at") >= F.lit(since)))
        .agg(F.sum("api_calls").alias("calls"))
        .collect()
    )
    return int(row[0]["calls"] or 0) if row else 0


# ----------------------------------------------------------------------------------------------- the sink


class BronzeSink:
    """The connector's ``Sink`` on the lake, for one tenant and one ingestion run."""

    def __init__(self, spark: SparkSession, scope: TenantScope, run_id: str) -> None:
        self.spark, self.scope, self.run_id = spark, scope, run_id
        self.tenant_id = scope.require_single("Partner Central ingestion")

    def watermark(self, catalog: str, entity: str) -> int | None:
        td = tables.SYNC_WATERMARK
        if not io.exists(td):
            return None
        row = (
            io.read(self.spark, td, self.scope)
            .where((F.col("source") == SOURCE) & (F.col("catalog") == catalog) & (F.col("entity") == entity))
            .agg(F.max(F.unix_micros("watermark_at")).alias("wm"))
            .collect()
        )
        value = row[0]["wm"] if row else None
        return int(value) if value is not None else None

    def known_versions(self, catalog: str, entity: str, since_us: int | None) -> set[tuple[str, Any]]:
        td = BRONZE[entity]
        if not io.exists(td):
            return set()
        df = io.read(self.spark, td, self.scope).where(F.col("catalog") == catalog)
        if entity == "engagement_invitation":
            rows = (
                df.select("entity_id", F.get_json_object("payload", "$.Status").alias("v"))
                .distinct()
                .collect()
            )
            return {(r["entity_id"], r["v"]) for r in rows}
        if since_us is not None:
            df = df.where(F.unix_micros("last_modified_at") >= F.lit(since_us))
        rows = df.select("entity_id", F.unix_micros("last_modified_at").alias("v")).distinct().collect()
        return {(r["entity_id"], r["v"]) for r in rows}

    def known_states(
        self, catalog: str, since_us: int | None
    ) -> set[tuple[str, int, tuple[str | None, str | None]]]:
        """``(id, LastModifiedDate µs, (Stage, ReviewStatus))`` of the opportunity payloads in bronze."""
        td = BRONZE["opportunity"]
        if not io.exists(td):
            return set()
        df = io.read(self.spark, td, self.scope).where(F.col("catalog") == catalog)
        if since_us is not None:
            df = df.where(F.unix_micros("last_modified_at") >= F.lit(since_us))
        rows = (
            df.select(
                "entity_id",
                F.unix_micros("last_modified_at").alias("v"),
                F.get_json_object("payload", "$.LifeCycle.Stage").alias("stage"),
                F.get_json_object("payload", "$.LifeCycle.ReviewStatus").alias("review"),
            )
            .distinct()
            .collect()
        )
        return {(r["entity_id"], r["v"], (r["stage"], r["review"])) for r in rows}

    def stored_hashes(self, entity: str, catalog: str, keys: set[tuple[str, str]]) -> set[tuple[str, str]]:
        """Which of the ``(entity_id, payload_sha256)`` keys bronze already holds."""
        td = BRONZE[entity]
        if not keys or not io.exists(td):
            return set()
        wanted = self.spark.createDataFrame(sorted(keys), "entity_id string, payload_sha256 string")
        existing = (
            io.read(self.spark, td, self.scope)
            .where(F.col("catalog") == catalog)
            .select("entity_id", "payload_sha256")
        )
        rows = existing.join(wanted, ["entity_id", "payload_sha256"], "left_semi").distinct().collect()
        return {(r["entity_id"], r["payload_sha256"]) for r in rows}

    def land(self, catalog: str, entity: str, records: Sequence[RawRecord]) -> LandResult:
        unique: dict[tuple[str, str], RawRecord] = {}
        for record in records:
            unique.setdefault((record.entity_id, record.payload_sha256), record)
        stored = self.stored_hashes(entity, catalog, set(unique))
        new = [r for key, r in unique.items() if key not in stored]
        if new:
            now = _now()
            columns: dict[str, list[Any]] = {
                "tenant_id": [self.tenant_id] * len(new),
                "catalog": [catalog] * len(new),
                "entity_id": [r.entity_id for r in new],
                "last_modified_at": [
                    from_us(r.last_modified_us) if r.last_modified_us is not None else None for r in new
                ],
                "payload": [r.payload for r in new],
                "payload_sha256": [r.payload_sha256 for r in new],
                "ingestion_run_id": [self.run_id] * len(new),
                "ingested_at": [now] * len(new),
            }
            with _staged(self.spark, BRONZE[entity], columns) as df:
                io.append(self.spark, BRONZE[entity], df, self.scope)
        return LandResult(len(new), len(records) - len(new))

    def advance_watermark(self, catalog: str, entity: str, watermark_us: int) -> None:
        row = [(self.tenant_id, SOURCE, catalog, entity, from_us(watermark_us), self.run_id, _now())]
        io.append(
            self.spark,
            tables.SYNC_WATERMARK,
            self.spark.createDataFrame(row, tables.SYNC_WATERMARK.schema),
            self.scope,
        )


@contextmanager
def _staged(spark: SparkSession, td: Any, columns: dict[str, list[Any]]) -> Iterator[Any]:
    """A DataFrame of ``columns`` that is cheap to evaluate more than once.

    ``io.append`` runs several actions (tenant check, count, write); on Spark Connect each one would ship a local
    relation of the whole batch (megabytes of payload text) again. On a local lake the batch is written once as a
    Parquet file under ``_staging/`` and read back as a file scan; elsewhere a plain local DataFrame is used.
    """
    settings = get_settings()
    if settings.is_s3:
        rows = list(zip(*columns.values(), strict=False))
        yield spark.createDataFrame(rows, td.schema)
        return
    import pyarrow as pa
    import pyarrow.parquet as pq

    staging = Path(settings.lake_root) / "_staging" / "partner_central"
    staging.mkdir(parents=True, exist_ok=True)
    path = staging / f"{td.name}-{uuid.uuid4().hex}.parquet"
    schema = pa.schema(
        [
            (f.name, pa.timestamp("us", tz="UTC") if f.dataType.typeName() == "timestamp" else pa.string())
            for f in td.schema.fields
        ]
    )
    pq.write_table(pa.table(columns, schema=schema), path)
    try:
        yield spark.read.parquet(str(path))
    finally:
        path.unlink(missing_ok=True)


# ----------------------------------------------------------------------------------------------- API sync


def sync_partner_central(
    spark: SparkSession,
    scope: TenantScope,
    client: Any,
    catalog: str = "Sandbox",
    since: datetime | None = None,
    progress: ProgressFn | None = None,
    *,
    daily_call_budget: int | None = DAILY_CALL_QUOTA,
    rate_per_second: float | None = 10.0,
    land_batch: int = 2000,
    overlap: timedelta = timedelta(minutes=5),
    entities: Sequence[str] = ENTITIES,
    run_id: str | None = None,
    aws_summaries: bool = False,
) -> IngestionRun:
    """Sync one tenant's Partner Central catalog into bronze and record the run.

    ``client`` is a boto3 ``partnercentral-selling`` client (its retry mode as configured; wrapped with the
    default limiter and the budget) or a
    ready ``PartnerCentralReader``. The run stops cleanly (status ``partial``) when the tenant's rolling-day call
    budget is spent; the next run resumes from the watermark.
    """
    tenant = scope.require_single("a Partner Central sync")
    validate_catalog(catalog)
    run_id = run_id or new_run_id(tenant)
    started = _now()
    budget = CallBudget(
        daily_call_budget, calls_in_last_day(spark, scope, started) if daily_call_budget else 0
    )
    if isinstance(client, PartnerCentralReader):
        reader = client
        reader.budget = budget
    else:
        reader = PartnerCentralReader(client, rate_per_second=rate_per_second, budget=budget)
    calls_before = reader.stats.total
    sink = BronzeSink(spark, scope, run_id)
    result = PartnerCentralSync(
        reader,
        sink,
        catalog=catalog,
        since=since,
        overlap=overlap,
        land_batch=land_batch,
        progress=progress,
        entities=entities,
        aws_summaries=aws_summaries,
    ).run()
    run = IngestionRun(
        tenant_id=tenant,
        ingestion_run_id=run_id,
        source=SOURCE,
        catalog=catalog,
        status=result.status,
        started_at=started,
        finished_at=_now(),
        fetched=_payloads_received(result),
        landed=result.total("landed"),
        duplicates=result.total("duplicates"),
        api_calls=reader.stats.total - calls_before,
        watermark_before=from_us(result.watermark_before_us)
        if result.watermark_before_us is not None
        else None,
        watermark_after=from_us(result.watermark_after_us) if result.watermark_after_us is not None else None,
        error=result.error,
        details={
            "entities": {k: asdict(v) for k, v in result.entities.items()},
            "api_calls": result.api_calls,
            "retries": result.retries,
            "throttled": result.throttled,
            "server_errors": result.server_errors,
            "budget": {
                "limit": budget.limit,
                "used_before": budget.used - (reader.stats.total - calls_before),
            },
            "plan": result.plan.summary(started) if result.plan is not None else None,
        },
    )
    record_run(spark, scope, run)
    return run


def _payloads_received(result: Any) -> int:
    """Payload versions received: one per Get, plus each listed solution (solutions have no Get)."""
    solutions = result.entities.get("solution")
    received: int = result.total("fetched") + (solutions.listed if solutions is not None else 0)
    return received


def handle_partner_central_event(
    spark: SparkSession,
    scope: TenantScope,
    event: dict[str, Any],
    client: Any,
    *,
    ledger: EventLedger | None = None,
) -> EventResult:
    """Land the one opportunity / invitation an EventBridge event names (a redelivered event id costs no call
    when a ``ledger`` is kept across calls; otherwise it lands nothing new)."""
    tenant = scope.require_single("a Partner Central event")
    reader = client if isinstance(client, PartnerCentralReader) else PartnerCentralReader(client)
    event_id = str(event.get("id") or uuid.uuid4().hex)[:64]
    run_id = f"event-{tenant}-{event_id}"
    return handle_event(event, reader, BronzeSink(spark, scope, run_id), ledger=ledger)


def handle_partner_central_events(
    spark: SparkSession,
    scope: TenantScope,
    events: list[dict[str, Any]],
    client: Any,
    *,
    ledger: EventLedger | None = None,
) -> list[EventResult]:
    """Land a batch of events with one Get per resource (de-duplicated by event id, coalesced per resource)."""
    tenant = scope.require_single("Partner Central events")
    reader = client if isinstance(client, PartnerCentralReader) else PartnerCentralReader(client)
    first = str((events[0].get("id") if events and isinstance(events[0], dict) else None) or uuid.uuid4().hex)
    run_id = f"events-{tenant}-{first[:56]}"
    return handle_events(events, reader, BronzeSink(spark, scope, run_id), ledger=ledger)


# ----------------------------------------------------------------------------------------------- file ingest


def _read_lines(path: Path) -> Iterator[tuple[int, bytes]]:
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            yield number, raw.rstrip(b"\r\n")


def _array_items(text: str) -> Iterator[tuple[int, str, Any, str | None]]:
    """(line number, exact text, parsed value or None, error) for each element of a JSON array document."""
    decoder = json.JSONDecoder()
    i = text.index("[") + 1
    n = len(text)

    def line_of(pos: int) -> int:
        return text.count("\n", 0, pos) + 1

    while True:
        while i < n and text[i] in " \t\r\n":
            i += 1
        if i < n and text[i] == "]":
            return
        start = i
        try:
            value, end = decoder.raw_decode(text, i)
        except json.JSONDecodeError as exc:
            reason = f"invalid JSON: {exc.msg} (the rest of the array is unreadable)"
            yield line_of(start), text[start:].strip(), None, reason
            return
        yield line_of(start), text[start:end], value, None
        i = end
        while i < n and text[i] in " \t\r\n":
            i += 1
        if i < n and text[i] == ",":
            i += 1
        elif i < n and text[i] == "]":
            return
        else:
            yield (
                line_of(i),
                text[i:].strip(),
                None,
                "invalid JSON: expected ',' or ']' after an array element",
            )
            return


def _check_opportunity(value: Any) -> tuple[str | None, str, int | None, str]:
    """(reason or None, id, LastModifiedDate µs, catalog) for a parsed line."""
    if not isinstance(value, dict):
        return f"not a JSON object (a JSON {type(value).__name__})", "", None, ""
    opp_id = value.get("Id")
    if not isinstance(opp_id, str) or not opp_id.startswith("O") or not opp_id[1:].isdigit():
        return (
            "not a GetOpportunity object: Id is missing or not an opportunity id (O followed by digits)",
            "",
            None,
            "",
        )
    catalog = value.get("Catalog")
    if catalog not in CATALOGS:
        return (
            f"not a GetOpportunity object: Catalog {catalog!r} is not one of {', '.join(CATALOGS)}",
            "",
            None,
            "",
        )
    modified = value.get("LastModifiedDate")
    try:
        lmd = parse_timestamp(modified) if isinstance(modified, str) else None
    except (ValueError, TypeError, OverflowError):
        lmd = None
    if lmd is None:
        return "not a GetOpportunity object: LastModifiedDate is missing or not a timestamp", "", None, ""
    return None, opp_id, lmd, catalog


_BOM = b"\xef\xbb\xbf"


@dataclass(frozen=True)
class _FileItem:
    """One element of an input file: the line it starts on, its exact text, and its value or why it is unreadable."""

    line: int
    text: str
    value: Any = None
    error: str | None = None


def _file_items(path: Path) -> Iterator[_FileItem]:
    """Every element of a JSON array document, or every non-blank line of a JSON Lines file, in file order."""
    with path.open("rb") as handle:
        head = handle.read(4096).lstrip()
    if head.startswith(_BOM):
        head = head[3:].lstrip()
    return _json_array_items(path) if head.startswith(b"[") else _json_lines_items(path)


def _json_array_items(path: Path) -> Iterator[_FileItem]:
    """The elements of a JSON array document (read whole: an array has no line boundaries to stream by)."""
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise BadInput(f"{path} is not UTF-8 text: {exc}") from exc
    for number, item_text, value, error in _array_items(text):
        yield _FileItem(number, item_text, value, error)


def _json_lines_items(path: Path) -> Iterator[_FileItem]:
    """The non-blank lines of a JSON Lines file, each decoded and parsed on its own."""
    for number, raw_line in _read_lines(path):
        if number == 1 and raw_line.startswith(_BOM):
            raw_line = raw_line[3:]
        if not raw_line.strip():
            continue
        try:
            line = raw_line.decode("utf-8")
        except UnicodeDecodeError as exc:
            reason = f"not UTF-8 text: {exc.reason} at byte {exc.start}"
            yield _FileItem(number, raw_line.decode("utf-8", "replace"), error=reason)
            continue
        try:
            value = json.loads(line)
        except json.JSONDecodeError as exc:
            yield _FileItem(number, line, error=f"invalid JSON: {exc.msg} at column {exc.colno}")
            continue
        yield _FileItem(number, line, value)


class _FileLanding:
    """Lands one file's items in batches: GetOpportunity objects into bronze, every other item (with its line
    number and reason) into ``bronze.partner_central_opportunity_rejected``; counts what it did."""

    def __init__(
        self,
        spark: SparkSession,
        scope: TenantScope,
        *,
        run_id: str,
        source_file: str,
        batch_size: int,
        progress: Callable[[int], None] | None,
    ) -> None:
        self.spark, self.scope, self.run_id, self.source_file = spark, scope, run_id, source_file
        self.tenant = scope.require_single("a file ingest")
        self.batch_size, self.progress = batch_size, progress
        self.sink = BronzeSink(spark, scope, run_id)
        self.accepted: dict[str, list[RawRecord]] = {}
        self.rejected: list[tuple[Any, ...]] = []
        self.counts = {"lines": 0, "landed": 0, "duplicates": 0, "rejected": 0, "fetched": 0}

    def add(self, item: _FileItem) -> None:
        """Keep the item for bronze when it is a GetOpportunity object, else for the rejected table."""
        self.counts["lines"] += 1
        reason, opp_id, lmd, catalog = (
            (item.error, "", None, "") if item.error else _check_opportunity(item.value)
        )
        if reason:
            row = (self.tenant, self.source_file, item.line, reason, item.text, self.run_id, _now())
            self.rejected.append(row)
        else:
            self.counts["fetched"] += 1
            record = RawRecord.from_bytes(opp_id, lmd, item.text.encode("utf-8"))
            self.accepted.setdefault(catalog, []).append(record)
        self.flush()

    def flush(self, final: bool = False) -> None:
        """Write what is pending once a batch is full (everything when ``final``), then report progress."""
        pending = sum(len(v) for v in self.accepted.values())
        if pending and (final or pending >= self.batch_size):
            for catalog, records in self.accepted.items():
                landed = self.sink.land(catalog, "opportunity", records)
                self.counts["landed"] += landed.landed
                self.counts["duplicates"] += landed.duplicates
            self.accepted.clear()
        if self.rejected and (final or len(self.rejected) >= self.batch_size):
            self.counts["rejected"] += _land_rejected(self.spark, self.scope, self.rejected)
            self.rejected.clear()
        if self.progress is not None:
            self.progress(self.counts["lines"])


def ingest_file(
    spark: SparkSession,
    scope: TenantScope,
    path: str | Path,
    *,
    source: str = SOURCE,
    entity: str = "opportunity",
    run_id: str | None = None,
    batch_size: int = 5000,
    progress: Callable[[int], None] | None = None,
) -> IngestionRun:
    """Load GetOpportunity-shaped JSON objects (JSON Lines or a JSON array) into bronze; reject the rest."""
    tenant = scope.require_single("a file ingest")
    if source != SOURCE or entity != "opportunity":
        raise BadInput(f"file ingest supports --source {SOURCE} --entity opportunity, not {source}/{entity}")
    file_path = Path(path)
    if not file_path.is_file():
        raise BadInput(f"no such file: {path}")
    run_id = run_id or new_run_id(tenant, "file")
    started = _now()
    source_file = str(file_path.resolve())
    landing = _FileLanding(
        spark, scope, run_id=run_id, source_file=source_file, batch_size=batch_size, progress=progress
    )
    for item in _file_items(file_path):
        landing.add(item)
    landing.flush(final=True)
    counts = landing.counts
    run = IngestionRun(
        tenant_id=tenant,
        ingestion_run_id=run_id,
        source=f"{source}:file",
        catalog=None,
        status="succeeded",
        started_at=started,
        finished_at=_now(),
        fetched=counts["fetched"],
        landed=counts["landed"],
        duplicates=counts["duplicates"],
        rejected=counts["rejected"],
        details={"file": source_file, "lines": counts["lines"]},
    )
    record_run(spark, scope, run)
    return run


def _land_rejected(spark: SparkSession, scope: TenantScope, rows: list[tuple[Any, ...]]) -> int:
    """Append rejected lines; a line already rejected from the same file with the same text is not repeated."""
    td = tables.OPPORTUNITY_REJECTED
    unique = {(r[1], r[2], r[4]): r for r in rows}
    if io.exists(td):
        keys = spark.createDataFrame(
            [(k[0], k[1], k[2]) for k in unique], "source_file string, line_number long, raw_text string"
        )
        existing = (
            io.read(spark, td, scope)
            .select("source_file", "line_number", "raw_text")
            .join(keys, ["source_file", "line_number", "raw_text"], "left_semi")
            .collect()
        )
        for r in existing:
            unique.pop((r["source_file"], r["line_number"], r["raw_text"]), None)
    if unique:
        io.append(spark, td, spark.createDataFrame(list(unique.values()), td.schema), scope)
    return len(rows)


def read_bronze(spark: SparkSession, scope: TenantScope, entity: str = "opportunity") -> DataFrame:
    """The scope's rows of ``bronze.partner_central_<entity>``."""
    if entity not in BRONZE:
        raise BadInput(f"unknown Partner Central entity {entity!r}: use {', '.join(BRONZE)}")
    return io.read(spark, BRONZE[entity], scope)


__all__ = [
    "BRONZE",
    "SOURCE",
    "BronzeSink",
    "IngestionRun",
    "calls_in_last_day",
    "handle_partner_central_event",
    "ingest_file",
    "new_run_id",
    "read_bronze",
    "record_run",
    "sync_partner_central",
    "to_us",
]
