"""Exports: a tenant's marts (and, through a registered source, metric results) as Parquet and CSV files.

Files go under the tenant's export prefix ``{export_root}/tenant_id=<tenant>/`` (``LAKEHOUSE_EXPORT_ROOT``,
default ``{lake_root}/exports``: the prefix tenant provisioning creates), on S3 or a local path. A destination
outside that prefix (another tenant's, or anything reached with ``..``) is refused before anything is read or
written (``TenantViolation``, exit 4).

Layout: ``<prefix>/<source>/<version>/<table>.parquet|.csv`` and ``_manifest.json`` (rows, columns, each file's
size and SHA-256). As in the lake, the tenant is the ``tenant_id=`` segment of the path, not a column of the
files: hive-style readers (Athena, Spark, pyarrow datasets) take it from the path, and would refuse a file
carrying the same column again. The version is the mart's Delta version, so exporting an unchanged mart again rewrites the
same bytes at the same keys, and a new version lands beside the old ones: nothing exported earlier is lost.

Sources: every served gold mart by its name (``gold.ace_pipeline``). Metric results plug in through
``register_source("metric", factory)``: ``metric.<name>`` is then resolved by the factory (the metrics layer
registers it when it lands; nothing here knows how metrics are computed). Scheduling: there is no orchestrator
in this project yet, so exports run from the command line (``lakehouse export``) or a job calling ``export``.
"""

from __future__ import annotations

import hashlib
import io as _io
import json
import posixpath
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, Protocol

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from lakehouse import io
from lakehouse.catalog import TENANT_COLUMN
from lakehouse.errors import BadInput
from lakehouse.settings import get_settings
from lakehouse.tenancy import TenantScope, TenantViolation, validate_tenant_id

ExportFormat = Literal["parquet", "csv"]
FORMATS: tuple[ExportFormat, ...] = ("parquet", "csv")
_SOURCE_NAME = re.compile(r"[a-z][a-z0-9_]*\.[a-z0-9_]+")


class ExportSettings(BaseSettings):
    """Where exports go (env prefix ``LAKEHOUSE_EXPORT_``)."""

    model_config = SettingsConfigDict(env_prefix="LAKEHOUSE_EXPORT_", extra="ignore")

    root: str | None = Field(
        None, description="Export root (s3://bucket/prefix or a path); default {lake_root}/exports"
    )


class ExportSource(Protocol):
    """Something a tenant can export: a name (``layer.table`` / ``metric.name``) and a versioned snapshot."""

    @property
    def name(self) -> str: ...

    def read(self, scope: TenantScope) -> tuple[Any, str]:
        """The scope's rows (a pyarrow Table) and a version tag naming that snapshot (``v12``)."""
        ...


@dataclass(frozen=True)
class MartSource:
    """A gold mart at its current Delta version."""

    name: str

    def read(self, scope: TenantScope) -> tuple[Any, str]:
        version = io.table_version(self.name)
        if version is None:
            raise BadInput(f"{self.name} has not been written yet: nothing to export")
        return io.read_arrow(self.name, scope, version=version), f"v{version}"


_FACTORIES: dict[str, Callable[[str], ExportSource]] = {}


def register_source(kind: str, factory: Callable[[str], ExportSource]) -> None:
    """Let ``<kind>.<name>`` resolve through ``factory(name)`` (the hook for metric results: kind ``metric``)."""
    if kind == "gold":
        raise ValueError("gold marts are built in; register another kind")
    _FACTORIES[kind] = factory


def source(name: str) -> ExportSource:
    """The export source called ``name``; a served gold mart or a registered kind, else BadInput."""
    from lakehouse.warehouse.model import SERVED_MARTS

    if _SOURCE_NAME.fullmatch(name) is None:
        raise BadInput(f"export source {name!r} must look like layer.table or metric.name")
    kind, _, rest = name.partition(".")
    if kind == "gold":
        if name not in SERVED_MARTS:
            raise BadInput(f"{name} is not an exportable mart; choose one of {list(SERVED_MARTS)}")
        return MartSource(name)
    factory = _FACTORIES.get(kind)
    if factory is None:
        hint = (
            " (metric results become exportable when the metrics layer registers them)"
            if kind == "metric"
            else ""
        )
        raise BadInput(
            f"no export source of kind {kind!r}{hint}; exportable: {sorted(['gold', *_FACTORIES])}"
        )
    return factory(rest)


# ------------------------------------------------------------------------------------------- destinations


def export_root(settings: ExportSettings | None = None) -> str:
    root = (settings or ExportSettings()).root or f"{get_settings().lake_root}/exports"
    return _normalise(root)


def tenant_prefix(tenant_id: str, root: str | None = None) -> str:
    """The tenant's own export prefix (with a trailing slash)."""
    validate_tenant_id(tenant_id)
    return f"{root or export_root()}/tenant_id={tenant_id}/"


def _normalise(location: str) -> str:
    """A canonical location without a trailing slash; refuses ``..`` and empty segments on S3."""
    location = location.strip()
    if location.startswith(("s3://", "s3a://")):
        bucket, _, key = location.split("://", 1)[1].partition("/")
        parts = [p for p in key.split("/") if p]
        if ".." in parts or "." in parts:
            raise TenantViolation(f"export destination {location!r} may not contain '.' or '..' segments")
        return f"s3://{bucket}" + ("/" + "/".join(parts) if parts else "")
    if ".." in Path(location).parts:
        raise TenantViolation(f"export destination {location!r} may not contain '..' segments")
    return str(Path(location).expanduser().absolute()).rstrip("/") or "/"


def destination(tenant_id: str, dest: str | None = None, *, root: str | None = None) -> str:
    """Where the tenant's export goes: ``dest`` if it lies inside the tenant's prefix, else TenantViolation."""
    prefix = tenant_prefix(tenant_id, root)
    if dest is None:
        return prefix.rstrip("/")
    target = _normalise(dest)
    if (target + "/").startswith(prefix):
        return target
    other = re.search(r"tenant_id=([^/]+)", target)
    if other and other.group(1) != tenant_id:
        raise TenantViolation(
            f"export destination {dest!r} is tenant {other.group(1)!r}'s prefix; tenant {tenant_id} exports "
            f"only under {prefix}"
        )
    raise TenantViolation(
        f"export destination {dest!r} is outside tenant {tenant_id}'s export prefix {prefix}"
    )


# ------------------------------------------------------------------------------------------------ writing


@dataclass(frozen=True)
class ExportedFile:
    location: str
    format: str
    bytes: int
    sha256: str


@dataclass(frozen=True)
class ExportResult:
    tenant_id: str
    source: str
    version: str
    rows: int
    files: list[ExportedFile] = field(default_factory=list)
    manifest: str = ""


def _csv_ready(data: Any) -> Any:
    """Nested columns as JSON text (CSV has no nested values); everything else as Arrow writes it."""
    import pyarrow as pa

    columns = []
    for name in data.column_names:
        column = data.column(name)
        if pa.types.is_nested(column.type):
            column = pa.array(
                [
                    None if v is None else json.dumps(v, default=str, sort_keys=True)
                    for v in column.to_pylist()
                ],
                pa.string(),
            )
        columns.append(column)
    return pa.Table.from_arrays(columns, names=data.column_names)


def _encode(data: Any, fmt: ExportFormat) -> bytes:
    import pyarrow.csv as pcsv
    import pyarrow.parquet as pq

    buffer = _io.BytesIO()
    if fmt == "parquet":
        pq.write_table(data, buffer)
    else:
        pcsv.write_csv(_csv_ready(data), buffer)
    return buffer.getvalue()


def _put(location: str, body: bytes, s3: Any) -> None:
    if location.startswith("s3://"):
        bucket, _, key = location.removeprefix("s3://").partition("/")
        s3.put_object(Bucket=bucket, Key=key, Body=body)
        return
    path = Path(location)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    partial.write_bytes(body)
    partial.replace(path)  # a reader never sees half a file


def export(
    src: ExportSource,
    scope: TenantScope,
    *,
    formats: Sequence[ExportFormat] = FORMATS,
    dest: str | None = None,
    root: str | None = None,
    s3_client: Any = None,
) -> ExportResult:
    """Write the scope's snapshot of ``src`` in each format under the tenant's export prefix (or ``dest`` in it)."""
    tenant = scope.require_single("an export")
    unknown = [f for f in formats if f not in FORMATS]
    if unknown or not formats:
        raise BadInput(f"export formats must be some of {FORMATS}, not {list(formats)}")
    base = destination(tenant, dest, root=root)
    data, version = src.read(scope)
    foreign = (
        set(data.column(TENANT_COLUMN).to_pylist()) - {tenant}
        if TENANT_COLUMN in data.column_names
        else set()
    )
    if foreign:
        raise TenantViolation(
            f"export source {src.name} returned rows of other tenants {sorted(map(str, foreign))}"
        )
    if TENANT_COLUMN in data.column_names:
        data = data.drop_columns([TENANT_COLUMN])
    s3 = s3_client
    if base.startswith("s3://") and s3 is None:
        import boto3

        s3 = boto3.client("s3")
    folder = (
        posixpath.join(base, src.name, version)
        if base.startswith("s3://")
        else str(Path(base, src.name, version))
    )
    stem = src.name.split(".", 1)[1]
    files = []
    for fmt in dict.fromkeys(formats):
        body = _encode(data, fmt)
        location = f"{folder}/{stem}.{fmt}"
        _put(location, body, s3)
        files.append(ExportedFile(location, fmt, len(body), hashlib.sha256(body).hexdigest()))
    manifest = {
        "tenant_id": tenant,
        "source": src.name,
        "version": version,
        "rows": data.num_rows,
        "columns": [{"name": f.name, "type": str(f.type)} for f in data.schema],
        "files": [f.__dict__ for f in files],
        "exported_at": datetime.now(UTC).isoformat(),
    }
    manifest_location = f"{folder}/_manifest.json"
    _put(manifest_location, json.dumps(manifest, indent=2).encode(), s3)
    return ExportResult(tenant, src.name, version, data.num_rows, files, manifest_location)
