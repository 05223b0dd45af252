"""The ingest job reads each tenant's own linked-account role from the control plane's connector directory."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import ClassVar

import pytest

from jobs import ingest_partner_central as job
from lakehouse.jobs_runtime import parse_job_args
from lakehouse.linked_accounts import PARTNER_CENTRAL

DIRECTORY = "python:tests.partner_central.test_ingest_job_roles:FakeDirectory"


@dataclass(frozen=True)
class Role:
    tenant_id: str
    role_arn: str
    external_id: str


class FakeDirectory:
    """acme has a verified connector; every other tenant has none."""

    asked: ClassVar[list[tuple[str, str]]] = []

    def linked_role(self, tenant_id: str, service_name: str) -> Role | str:
        FakeDirectory.asked.append((tenant_id, service_name))
        if tenant_id == "acme":
            return Role("acme", "arn:aws:iam::111122223333:role/acme-pc-read", "lh-acme-external-id")
        return f"no {service_name} connector registered for tenant {tenant_id!r}"


def _resolve(*argv: str) -> job.SyncOptions | str:
    ctx = parse_job_args(list(argv), job_name=job.JOB_NAME, extra=job.EXTRA)
    return job.linked_role(ctx, job.options(ctx))


def test_the_tenants_own_verified_role_and_external_id_are_used() -> None:
    FakeDirectory.asked.clear()
    opts = _resolve("--tenant-id", "acme", "--connector-directory", DIRECTORY)
    assert isinstance(opts, job.SyncOptions)
    assert (opts.role_arn, opts.external_id) == (
        "arn:aws:iam::111122223333:role/acme-pc-read",
        "lh-acme-external-id",
    )
    assert FakeDirectory.asked == [("acme", PARTNER_CENTRAL)]


def test_an_explicit_role_wins_and_the_directory_is_not_asked() -> None:
    FakeDirectory.asked.clear()
    opts = _resolve(
        "--tenant-id", "acme", "--connector-directory", DIRECTORY, "--role-arn", "arn:aws:iam::1:role/x",
        "--external-id", "given",
    )  # fmt: skip
    assert isinstance(opts, job.SyncOptions) and opts.role_arn == "arn:aws:iam::1:role/x"
    assert FakeDirectory.asked == []


def test_a_tenant_without_a_verified_connector_is_skipped_with_the_reason(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = job.main(["--tenant-id", "globex", "--connector-directory", DIRECTORY])
    assert code == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["status"] == "skipped" and summary["tenant_id"] == "globex"
    assert "no partner-central-selling connector registered" in summary["reason"]


def test_the_glue_job_gets_the_control_planes_directory() -> None:
    from lakehouse import pipeline_steps

    arguments = dict(pipeline_steps.get("ingest_partner_central").arguments)
    assert arguments["--connector_directory"] == "python:control_plane.costs.providers:connector_directory"
