"""Anchoring the audit chain heads outside the database.

An anchor is a small JSON document ``{"anchored_at", "heads": {chain: [seq, hash]}, "mac"}`` (the MAC with the
audit key over the rest). In production it is an S3 object written with object lock (COMPLIANCE mode and a
retention date), so nobody, the database owner and the bucket owner included, can change or delete it before
the retention ends; locally it is a file in a directory. ``GET /audit/verify`` checks each chain against the
newest anchor: the anchored entry must still be there with the same hash, which catches a chain cut back to an
earlier genuine entry (a change the keyed MACs alone cannot reveal).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import threading
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

from control_plane.audit.service import canonical, heads
from control_plane.db import Database, DbScope, utcnow
from control_plane.settings import ControlPlaneSettings


class AnchorStore(Protocol):
    """Where anchors are written (never rewritten) and the newest one is read back."""

    def put(self, name: str, body: bytes) -> None: ...

    def latest(self) -> bytes | None: ...


class FileAnchorStore:
    """Anchors as files ``<dir>/<name>.json`` (local development; one writer per file, never overwritten)."""

    def __init__(self, directory: str | Path) -> None:
        self.directory = Path(directory)

    def put(self, name: str, body: bytes) -> None:
        """Write a new anchor file (refuses to overwrite one)."""
        self.directory.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.directory / f"{name}.json", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o444)
        with os.fdopen(fd, "wb") as out:
            out.write(body)

    def latest(self) -> bytes | None:
        """The newest anchor's body (names sort by time), or None."""
        if not self.directory.is_dir():
            return None
        names = sorted(p.name for p in self.directory.glob("*.json"))
        return (self.directory / names[-1]).read_bytes() if names else None


class S3AnchorStore:
    """Anchors as S3 objects under ``prefix`` with object lock (COMPLIANCE, ``retention_days``).

    The bucket must have object lock enabled (Terraform: ``object_lock_enabled = true``); S3 then refuses to
    delete or overwrite a locked version until its retention date, whoever asks.
    """

    def __init__(self, bucket: str, prefix: str, *, retention_days: int, client: Any = None) -> None:
        import boto3

        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.retention_days = retention_days
        self.client = client or boto3.client("s3")

    def _key(self, name: str) -> str:
        return f"{self.prefix}/{name}.json" if self.prefix else f"{name}.json"

    def put(self, name: str, body: bytes) -> None:
        """Write the anchor object, locked until the retention date."""
        self.client.put_object(
            Bucket=self.bucket,
            Key=self._key(name),
            Body=body,
            ContentType="application/json",
            ChecksumAlgorithm="SHA256",
            ObjectLockMode="COMPLIANCE",
            ObjectLockRetainUntilDate=datetime.now(UTC) + timedelta(days=self.retention_days),
        )

    def latest(self) -> bytes | None:
        """The newest anchor object's body (keys sort by time), or None."""
        newest: str | None = None
        paginator = self.client.get_paginator("list_objects_v2")
        prefix = f"{self.prefix}/" if self.prefix else ""
        for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix):
            for obj in page.get("Contents", []):
                if obj["Key"].endswith(".json") and (newest is None or obj["Key"] > newest):
                    newest = obj["Key"]
        if newest is None:
            return None
        body: bytes = self.client.get_object(Bucket=self.bucket, Key=newest)["Body"].read()
        return body


def store_from_settings(settings: ControlPlaneSettings) -> AnchorStore | None:
    """The configured store: ``s3://bucket/prefix``, a directory, or ``{lake_root}/_audit_anchors`` for a local
    lake (None for an S3 lake without ``LAKEHOUSE_AUDIT_ANCHOR_URI``: anchoring is then off)."""
    uri = settings.audit_anchor_uri
    if uri is None:
        root = settings.lake_root or "./.lake"
        if "://" in root:
            return None
        uri = str(Path(root) / "_audit_anchors")
    if uri.startswith("s3://"):
        bucket, _, prefix = uri[len("s3://") :].partition("/")
        return S3AnchorStore(bucket, prefix, retention_days=settings.audit_anchor_retention_days)
    return FileAnchorStore(uri)


def _mac(key: bytes, document: dict[str, Any]) -> str:
    return hmac.new(key, canonical(document).encode(), hashlib.sha256).hexdigest()


def anchor_heads(db: Database, store: AnchorStore, key: bytes) -> dict[str, Any]:
    """Read every chain head (platform scope) and write them as a new anchor; returns the document."""
    with db.session(DbScope.for_platform()) as session:
        current = heads(session)
    now = utcnow()
    document: dict[str, Any] = {
        "anchored_at": now.isoformat(timespec="microseconds"),
        "heads": {chain: [seq, digest] for chain, (seq, digest) in sorted(current.items())},
    }
    document["mac"] = _mac(key, document)
    name = f"{now.strftime('%Y%m%dT%H%M%S%fZ')}-{uuid.uuid4().hex[:8]}"
    store.put(name, json.dumps(document, sort_keys=True).encode())
    return document


class AnchorError(ValueError):
    """The newest anchor cannot be trusted (unreadable, or its MAC does not match)."""


def latest_anchor(store: AnchorStore, key: bytes) -> dict[str, Any] | None:
    """The newest anchor, its MAC checked; raises AnchorError when it is not genuine."""
    body = store.latest()
    if body is None:
        return None
    try:
        document = json.loads(body)
        mac = document.pop("mac")
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise AnchorError(f"the newest audit anchor is unreadable: {exc}") from None
    if not isinstance(mac, str) or not hmac.compare_digest(mac, _mac(key, document)):
        raise AnchorError("the newest audit anchor's MAC does not match: it was not written by this platform")
    result: dict[str, Any] = document
    return result


class PeriodicAnchor:
    """A daemon thread that anchors the heads every ``interval`` seconds (failures are logged, then retried)."""

    def __init__(self, db: Database, store: AnchorStore, key: bytes, interval: float) -> None:
        self.db, self.store, self.key, self.interval = db, store, key, interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="audit-anchor", daemon=True)

    def start(self) -> None:
        """Start anchoring in the background."""
        self._thread.start()

    def stop(self) -> None:
        """Stop after the current anchor."""
        self._stop.set()

    def _run(self) -> None:
        import logging

        log = logging.getLogger("control_plane.audit")
        while not self._stop.wait(self.interval):
            try:
                anchor_heads(self.db, self.store, self.key)
            except Exception:
                log.exception("anchoring the audit chain heads failed; retrying in %.0f s", self.interval)
