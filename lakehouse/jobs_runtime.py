"""Shared plumbing for every ``jobs/`` entry point: arguments -> frozen JobContext, errors -> exit codes.

A job script stays thin::

    def main(argv: Sequence[str] | None = None) -> None:
        ctx = parse_job_args(argv, job_name="gold_ace")
        ...extract(ctx) -> transform(...) -> check(...) -> load(ctx, ...)

    if __name__ == "__main__":
        run_job(main)

The same script runs from a shell (``--tenant-id T --run-id R``), under ``spark-submit``, and on AWS Glue,
which passes every job parameter as separate ``--key value`` tokens (``--JOB_NAME x --tenant_id T
--run_id R --TempDir s3://… --job-bookmark-option …``). Glue cannot set environment variables, so settings
travel as ``--lakehouse_<field> value`` (``--lakehouse_lake_root s3://bucket/lake``): they override the
``LAKEHOUSE_*`` environment in the run's ``Settings``, which are installed as the process settings
(``lakehouse.settings.install_settings``) so ``get_settings()`` agrees everywhere; ``os.environ`` is never written.
"""

from __future__ import annotations

import re
import sys
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import MappingProxyType
from typing import Any

from lakehouse.errors import BadInput, LakehouseError
from lakehouse.settings import Settings, get_settings, install_settings
from lakehouse.tenancy import TenantScope, validate_tenant_id

_RUN_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$")
_SETTING_PREFIX = "lakehouse_"
# Parameters Glue adds to every run; they are accepted and ignored.
_GLUE_MARKERS = ("JOB_NAME", "JOB_ID", "JOB_RUN_ID")


@dataclass(frozen=True)
class JobContext:
    """Everything a job run knows about itself: whose data, which run, which settings, and extra args."""

    tenant_id: str
    run_id: str
    settings: Settings
    job_name: str
    extra: Mapping[str, str | None] = field(default_factory=lambda: MappingProxyType({}))

    @property
    def scope(self) -> TenantScope:
        """The tenant scope every read and write of this run uses."""
        return TenantScope.for_tenant(self.tenant_id)


def _canonical(key: str) -> str:
    """``--Tenant-Id`` / ``--tenant_id`` -> ``tenant_id``; Glue's upper-case markers stay as they are."""
    key = key.lstrip("-")
    return key if key in _GLUE_MARKERS else key.replace("-", "_").lower()


def _tokenize(argv: Sequence[str]) -> list[tuple[str, str | None]]:
    """Split ``argv`` into (key, value) pairs; ``--k=v`` and ``--k v`` both work; a bare ``--flag`` has None."""
    pairs: list[tuple[str, str | None]] = []
    i = 0
    while i < len(argv):
        token = argv[i]
        if not token.startswith("--") or token == "--":
            raise BadInput(f"unexpected argument {token!r}: job arguments are --name value pairs")
        if "=" in token:
            key, value = token.split("=", 1)
            pairs.append((_canonical(key), value))
            i += 1
        elif i + 1 < len(argv) and not argv[i + 1].startswith("--"):
            pairs.append((_canonical(token), argv[i + 1]))
            i += 2
        else:
            pairs.append((_canonical(token), None))
            i += 1
    return pairs


def _default_run_id() -> str:
    return f"local-{datetime.now(UTC):%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:8]}"


def _usage(job_name: str, extra: Mapping[str, str | None]) -> str:
    extras = "".join(f" [--{k.replace('_', '-')} VALUE]" for k in extra)
    return (
        f"usage: {job_name} --tenant-id TENANT [--run-id RUN_ID]{extras} [--lakehouse-<setting> VALUE]\n"
        "       (Glue style also accepted: --JOB_NAME NAME --tenant_id TENANT --run_id RUN_ID ...)"
    )


def parse_job_args(
    argv: Sequence[str] | None = None,
    *,
    extra: Mapping[str, str | None] | Sequence[str] = (),
    job_name: str | None = None,
) -> JobContext:
    """Parse CLI- or Glue-style job arguments into a JobContext; BadInput names what was wrong.

    ``extra`` declares job-specific arguments: a mapping ``name -> default`` (or a sequence of names, default
    None). Unknown arguments are refused on the command line but ignored under Glue (marked by
    ``--JOB_NAME``), which adds parameters of its own. ``--help`` raises SystemExit(0) after printing usage.
    """
    args = list(sys.argv[1:] if argv is None else argv)
    declared: dict[str, str | None] = (
        {_canonical(k): v for k, v in extra.items()}
        if isinstance(extra, Mapping)
        else {_canonical(k): None for k in extra}
    )
    for reserved in ("tenant_id", "run_id", "job_name"):
        if reserved in declared:
            raise ValueError(f"extra argument {reserved!r} is reserved by parse_job_args")
    name = job_name or Path(sys.argv[0] or "job").stem
    if any(a in ("-h", "--help") for a in args):
        print(_usage(name, declared))
        raise SystemExit(0)

    pairs = _tokenize(args)
    glue_mode = any(k == "JOB_NAME" for k, _ in pairs)
    values: dict[str, str | None] = {}
    settings_overrides: dict[str, str] = {}
    unknown: list[str] = []
    for key, value in pairs:
        if key == "JOB_NAME":
            name = value or name
            continue
        if key in _GLUE_MARKERS:
            continue
        if key.startswith(_SETTING_PREFIX):
            field_name = key[len(_SETTING_PREFIX) :]
            if field_name not in Settings.model_fields:
                raise BadInput(
                    f"unknown setting argument --{key}: settings are {', '.join(sorted(Settings.model_fields))}"
                )
            if value is None:
                raise BadInput(f"argument --{key} needs a value")
            settings_overrides[field_name] = value
            continue
        if key in ("tenant_id", "run_id", "job_name") or key in declared:
            if value is None:
                raise BadInput(f"argument --{key.replace('_', '-')} needs a value")
            if key in values and values[key] != value:
                raise BadInput(f"argument --{key.replace('_', '-')} given twice with different values")
            values[key] = value
            continue
        unknown.append("--" + key)
    if unknown and not glue_mode:
        raise BadInput(f"unknown argument(s) {', '.join(unknown)}\n{_usage(name, declared)}")

    tenant_id = values.get("tenant_id")
    if not tenant_id:
        raise BadInput(f"missing --tenant-id (Glue: --tenant_id)\n{_usage(name, declared)}")
    try:
        validate_tenant_id(tenant_id)
    except ValueError as exc:
        raise BadInput(str(exc)) from None
    run_id = values.get("run_id") or _default_run_id()
    if not _RUN_ID.match(run_id):
        raise BadInput(
            f"invalid run id {run_id!r}: use 1-128 characters of letters, digits, '_', '.', ':' or '-'"
        )
    name = values.get("job_name") or name

    settings = _settings(settings_overrides)

    extras = {k: values.get(k, default) for k, default in declared.items()}
    return JobContext(
        tenant_id=tenant_id,
        run_id=run_id,
        settings=settings,
        job_name=name,
        extra=MappingProxyType(extras),
    )


def _settings(overrides: Mapping[str, Any]) -> Settings:
    """The run's settings: the environment's, with ``--lakehouse_<field>`` arguments taking precedence.

    With overrides, the result is installed as the process settings (arguments beat environment variables:
    pydantic-settings gives constructor values priority over ``LAKEHOUSE_*``).
    """
    try:
        if not overrides:
            return get_settings()
        settings = Settings(**overrides)
    except ValueError as exc:  # pydantic ValidationError is a ValueError
        raise BadInput(f"invalid settings: {exc}") from None
    install_settings(settings)
    return settings


def run_job(main_fn: Callable[[list[str]], object], argv: Sequence[str] | None = None) -> None:
    """Run a job's ``main(argv)``; a LakehouseError prints its message and exits with its code (2/3/4).

    A ``main`` that returns a non-zero int exits with it; success returns normally (Glue treats an explicit
    exit as the run's status, so nothing is raised on success). Unexpected exceptions propagate with their
    traceback (exit 1), which is what Glue and spark-submit report as a failed run.
    """
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        result = main_fn(args)
    except LakehouseError as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise SystemExit(exc.exit_code) from None
    if isinstance(result, int) and not isinstance(result, bool) and result != 0:
        raise SystemExit(result)
