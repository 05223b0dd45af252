"""Runs over several tenants use each tenant's own verified role; tenants without one are skipped and named."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from lakehouse.errors import BadInput, QualityGateFailed, Refused
from lakehouse.linked_accounts import config_for, execution_input, run_for_tenants
from lakehouse.partner_central.connector import ConnectorConfig


@dataclass(frozen=True)
class Role:
    tenant_id: str
    role_arn: str
    external_id: str


class Directory:
    """Roles by tenant; any other tenant has no verified connector."""

    def __init__(self, roles: dict[str, Role], reasons: dict[str, str] | None = None) -> None:
        self.roles, self.reasons, self.asked = roles, reasons or {}, []

    def linked_role(self, tenant_id: str, service_name: str) -> Role | str:
        self.asked.append((tenant_id, service_name))
        return self.roles.get(tenant_id) or self.reasons.get(tenant_id, f"no connector for {tenant_id}")


def _role(tenant: str) -> Role:
    return Role(tenant, f"arn:aws:iam::{'1' * 12}:role/{tenant}", f"lh-{tenant}")


def test_each_tenant_runs_with_its_own_role_and_one_without_is_skipped_with_the_reason():
    directory = Directory(
        {"acme": _role("acme"), "initech": _role("initech")},
        {"globex": "connector con-1 for partner-central-selling is failed, not verified"},
    )
    used = []
    run = run_for_tenants(["acme", "globex", "initech"], directory, lambda r: used.append(r) or r.role_arn)
    assert used == [_role("acme"), _role("initech")]
    assert run.summary() == [
        {"tenant_id": "acme", "status": "succeeded", "reason": None},
        {
            "tenant_id": "globex",
            "status": "skipped",
            "reason": "connector con-1 for partner-central-selling is failed, not verified",
        },
        {"tenant_id": "initech", "status": "succeeded", "reason": None},
    ]
    assert [o.result for o in run.by_status("succeeded")] == [
        _role("acme").role_arn,
        _role("initech").role_arn,
    ]
    assert run.exit_code == Refused.exit_code == 4
    assert {service for _, service in directory.asked} == {"partner-central-selling"}


def test_a_failing_tenant_is_recorded_and_the_others_carry_on():
    def one(role: Role) -> str:
        if role.tenant_id == "acme":
            raise QualityGateFailed("gate failed for acme")
        return role.tenant_id

    run = run_for_tenants(
        ["acme", "globex"], Directory({"acme": _role("acme"), "globex": _role("globex")}), one
    )
    assert [(o.tenant_id, o.status) for o in run.outcomes] == [("acme", "failed"), ("globex", "succeeded")]
    assert run.outcomes[0].reason == "QualityGateFailed: gate failed for acme"
    assert run.exit_code == 3  # the failure's own code wins over a skip


def test_all_verified_exits_zero_and_a_tenant_named_twice_runs_once():
    calls = []
    run = run_for_tenants(["acme", "acme"], Directory({"acme": _role("acme")}), calls.append)
    assert len(calls) == 1 and run.exit_code == 0


def test_a_malformed_tenant_id_is_refused_before_anything_runs():
    calls = []
    with pytest.raises(BadInput, match="invalid tenant id"):
        run_for_tenants(["acme", "../etc"], Directory({"acme": _role("acme")}), calls.append)
    assert calls == []


def test_a_directory_answering_another_tenants_role_is_refused():
    with pytest.raises(Refused, match="'globex'"):
        run_for_tenants(["acme"], Directory({"acme": _role("globex")}), lambda r: r)


def test_the_connector_config_takes_the_tenants_role_and_external_id():
    base = ConnectorConfig(endpoint_url="http://127.0.0.1:9", aws_access_key_id="AKIAPLATFORM")
    config = config_for(_role("acme"), base)
    assert (config.role_arn, config.external_id, config.session_name) == (
        _role("acme").role_arn,
        "lh-acme",
        "lakehouse-ingest-acme",
    )
    assert config.sts_endpoint_url == "http://127.0.0.1:9" and config.aws_access_key_id == "AKIAPLATFORM"


def test_execution_input_carries_each_verified_role_and_lists_the_skipped():
    answer = execution_input(["acme", "globex"], Directory({"acme": _role("acme")}))
    assert answer == {
        "tenants": [{"tenant_id": "acme", "role_arn": _role("acme").role_arn, "external_id": "lh-acme"}],
        "skipped": [{"tenant_id": "globex", "reason": "no connector for globex"}],
    }
