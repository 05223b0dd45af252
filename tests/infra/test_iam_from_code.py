"""IAM from code: each role's policy grants exactly the AWS operations its clients declare, and they declare
every operation the code really sends.

The declarations are ``AWS_OPERATIONS`` beside each client (collected by ``lakehouse.aws_operations``). The first
tests compare them with the Terraform policy documents of each role, in both directions, and name the role and
the action on a mismatch (proved by mutating a copy of the parsed documents). The last test runs the connector
and writer tests against the emulators in a child pytest that records, through botocore, every operation the
library sends, and requires each one to be declared: a runtime record rather than a scan of the source, because
the clients choose operation names at run time (``getattr(client, _snake(operation))``, paginators by name).
"""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import botocore.session
import pytest

from lakehouse.aws_operations import ROLES, Declaration, actions_by_role, declarations, operations_by_service
from tests.infra.hcl import MODULES, ROOT, Module, module, module_dirs

# The Terraform policy document(s) that carry each declared role's grants.
# The read role exists twice: in the platform account, and in each tenant's linked account.
ROLE_DOCUMENTS: dict[str, tuple[tuple[Path, str], ...]] = {
    # The Glue job role assumes the read role (and tenants' linked-account roles); the approval executor that
    # assumes the write role is outside this stack (approved_action_principal_arns) and needs sts:TagSession.
    "assume": ((MODULES / "iam", "glue_job"),),
    "read": (
        (MODULES / "iam", "partner_central_read"),
        (MODULES / "iam" / "tenant_linked_account", "read"),
    ),
    "write": ((MODULES / "iam", "partner_central_write"),),
    "metering": ((MODULES / "iam", "marketplace_metering"),),
    "catalog": ((MODULES / "services", "marketplace_catalog"),),
}
# IAM prefixes whose actions only the declared roles may grant; a role's sts: grants are compared as well.
DECLARED_PREFIXES = ("partnercentral:", "aws-marketplace:")
ROLE_PREFIXES = (*DECLARED_PREFIXES, "sts:")

Documents = Mapping[tuple[Path, str], Mapping[str, Any]]


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _statements(doc: Mapping[str, Any]) -> list[dict[str, Any]]:
    statements = _as_list(doc.get("statement"))
    for dynamic in _as_list(doc.get("dynamic")):
        for block in _as_list(dynamic.get("statement")):
            statements += _as_list(block["content"])
    return statements


def _allowed_actions(mod: Module, doc: Mapping[str, Any]) -> set[str]:
    actions: set[str] = set()
    for statement in _statements(doc):
        if statement.get("effect", "Allow") != "Allow":
            continue
        actions.update(str(a) for a in _as_list(mod.resolve(statement.get("actions"))) if a)
    return actions


def policy_documents() -> dict[tuple[Path, str], dict[str, Any]]:
    """Every aws_iam_policy_document under terraform/, keyed by (directory, name)."""
    return {
        (directory, name): body
        for directory in module_dirs()
        for (kind, name), body in module(directory).data.items()
        if kind == "aws_iam_policy_document"
    }


def _granted(
    key: tuple[Path, str], documents: Documents, prefixes: tuple[str, ...] = ROLE_PREFIXES
) -> set[str]:
    actions = _allowed_actions(module(key[0]), documents[key])
    return {a for a in actions if a.startswith(prefixes)}


def _where(key: tuple[Path, str]) -> str:
    return f"{key[0].relative_to(MODULES)}/{key[1]}"


def mismatches(declared: Mapping[str, frozenset[str]], documents: Documents) -> list[str]:
    """Every difference between the declared actions and the policies, naming the role and the action."""
    problems: list[str] = []
    for role in ROLES:
        for key in ROLE_DOCUMENTS[role]:
            granted = _granted(key, documents)
            for action in sorted(declared[role] - granted):
                problems.append(
                    f"role {role} ({_where(key)}): policy does not grant {action}, which the code declares it calls"
                )
            for action in sorted(granted - declared[role]):
                problems.append(
                    f"role {role} ({_where(key)}): policy grants {action}, which no client declares"
                )
    role_docs = {key for keys in ROLE_DOCUMENTS.values() for key in keys}
    for directory, name in documents:
        if (directory, name) in role_docs:
            continue
        for action in sorted(_granted((directory, name), documents, DECLARED_PREFIXES)):
            problems.append(
                f"{_where((directory, name))}: grants {action} outside the declared roles {sorted(ROLE_DOCUMENTS)}"
            )
    return problems


def test_every_declared_role_has_policy_documents() -> None:
    assert set(ROLE_DOCUMENTS) == set(ROLES)
    documents = policy_documents()
    for role, keys in ROLE_DOCUMENTS.items():
        for key in keys:
            assert key in documents, f"role {role}: no policy document {_where(key)}"


def test_policies_grant_exactly_what_the_code_declares() -> None:
    assert mismatches(actions_by_role(), policy_documents()) == []


def test_the_write_role_grants_the_writers_invitation_and_task_calls() -> None:
    write = actions_by_role()["write"]
    assert {
        "partnercentral:AcceptEngagementInvitation",
        "partnercentral:RejectEngagementInvitation",
        "partnercentral:ListEngagementFromOpportunityTasks",
        "partnercentral:GetEngagementInvitation",
    } <= write
    assert actions_by_role()["metering"] == {
        "aws-marketplace:BatchMeterUsage",
        "aws-marketplace:ResolveCustomer",
    }


def test_a_missing_grant_fails_naming_the_role_and_the_action() -> None:
    documents = copy.deepcopy(policy_documents())
    doc = documents[(MODULES / "iam", "partner_central_write")]
    for statement in _statements(doc):
        if "partnercentral:AcceptEngagementInvitation" in statement["actions"]:
            statement["actions"].remove("partnercentral:AcceptEngagementInvitation")
    assert mismatches(actions_by_role(), documents) == [
        (
            "role write (iam/partner_central_write): policy does not grant "
            "partnercentral:AcceptEngagementInvitation, which the code declares it calls"
        )
    ]
    # the mutation touched a copy only
    assert mismatches(actions_by_role(), policy_documents()) == []


def test_an_unused_grant_fails_naming_the_role_and_the_action() -> None:
    documents = copy.deepcopy(policy_documents())
    doc = documents[(MODULES / "iam", "partner_central_read")]
    _statements(doc)[0]["actions"].append("partnercentral:SubmitOpportunity")
    api_task = documents[(MODULES / "services", "api_task")]
    _statements(api_task)[0]["actions"].append("aws-marketplace:BatchMeterUsage")
    assert mismatches(actions_by_role(), documents) == [
        (
            "role read (iam/partner_central_read): policy grants partnercentral:SubmitOpportunity, "
            "which no client declares"
        ),
        f"services/api_task: grants aws-marketplace:BatchMeterUsage outside the declared roles {sorted(ROLE_DOCUMENTS)}",
    ]


def test_an_undeclared_call_in_the_code_fails_naming_the_role() -> None:
    declared = [*declarations(), Declaration("metering", "meteringmarketplace", ("MeterUsage",))]
    assert mismatches(actions_by_role(declared), policy_documents()) == [
        (
            "role metering (iam/marketplace_metering): policy does not grant aws-marketplace:MeterUsage, "
            "which the code declares it calls"
        )
    ]


def test_every_declared_operation_exists_in_botocores_model() -> None:
    session = botocore.session.get_session()
    unknown = [
        f"{item.service}:{op}"
        for item in declarations()
        for op in item.operations
        if op not in session.get_service_model(item.service).operation_names
    ]
    assert unknown == []


# ---- the code calls nothing it has not declared --------------------------------------------------------------
# Flows that exercise every client against the emulators: reads and sync, each approved write flow, metering,
# change sets, registration and the Marketplace sync.
FLOW_TESTS = (
    "tests/connectors/test_connector.py",
    "tests/connectors/test_reader_operations.py",
    "tests/connectors/test_sync_plan.py",
    "tests/connectors/test_events_and_ties.py",
    "tests/guardrails/test_writes.py",
    "tests/guardrails/test_selling_writes.py",
    "tests/marketplace/test_changesets.py",
    "tests/marketplace/test_registration.py",
    "tests/marketplace/test_metering_rules.py",
)


@pytest.fixture(scope="module")
def recorded_calls(tmp_path_factory: pytest.TempPathFactory) -> set[tuple[str, str]]:
    from tests.infra import aws_call_recorder

    in_session = aws_call_recorder.recorded_in_session(FLOW_TESTS)
    if in_session is not None:  # the whole suite: the flow tests already ran here, recorded
        return in_session
    log = tmp_path_factory.mktemp("aws-calls") / "calls.json"
    env = {**os.environ, "LAKEHOUSE_AWS_CALL_LOG": str(log)}
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-x", "-p", "tests.infra.aws_call_recorder", *FLOW_TESTS],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=1500,
    )
    assert result.returncode == 0, f"the flow tests failed:\n{result.stdout[-3000:]}\n{result.stderr[-2000:]}"
    return {(service, op) for service, op in json.loads(log.read_text())}


def undeclared(calls: set[tuple[str, str]], declared: Mapping[str, frozenset[str]]) -> list[str]:
    """Operations the code sent that no declaration covers, as readable messages."""
    return [
        f"{service}:{op} is called by the code but declared by no client"
        for service, op in sorted(calls)
        if op not in declared.get(service, frozenset())
    ]


def test_the_code_calls_only_declared_operations(recorded_calls: set[tuple[str, str]]) -> None:
    services = {service for service, _ in recorded_calls}
    # The record is real: it saw each client family (an empty record would prove nothing).
    assert {"partnercentral-selling", "meteringmarketplace", "marketplace-catalog"} <= services, (
        recorded_calls
    )
    assert ("partnercentral-selling", "AcceptEngagementInvitation") in recorded_calls
    assert undeclared(recorded_calls, operations_by_service()) == []


def test_an_undeclared_recorded_call_is_named() -> None:
    calls = {("partnercentral-selling", "ListOpportunities"), ("sts", "GetCallerIdentity")}
    assert undeclared(calls, operations_by_service()) == [
        "sts:GetCallerIdentity is called by the code but declared by no client"
    ]
