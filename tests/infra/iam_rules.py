"""Least-privilege rules for the IAM policy documents in terraform/, read from HCL (aws_iam_policy_document)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from tests.infra.hcl import Module, module

POLICY_ATTRIBUTES = ("policy", "assume_role_policy", "inline_policy")
_DOC_REF = re.compile(r"^\$\{data\.aws_iam_policy_document\.([A-Za-z0-9_]+)(\[0\]|\[each\.key\])?\.json\}$")

# Actions that accept no resource ARN (IAM's "Resource types" column is empty), so "*" is the only
# possible resource. Some are allowed only with a condition that narrows them instead.
UNSCOPED_ACTIONS: dict[str, tuple[str, str | None]] = {
    **dict.fromkeys(
        (
            "ec2:DescribeNetworkInterfaces",
            "ec2:DescribeRouteTables",
            "ec2:DescribeSecurityGroups",
            "ec2:DescribeSubnets",
            "ec2:DescribeVpcEndpoints",
        ),
        ("EC2 Describe* calls have no resource-level permissions", None),
    ),
    "cloudwatch:PutMetricData": ("metrics have no ARN; limited by namespace", "cloudwatch:namespace"),
    **dict.fromkeys(
        (
            "logs:CreateLogDelivery",
            "logs:DeleteLogDelivery",
            "logs:DescribeLogGroups",
            "logs:DescribeResourcePolicies",
            "logs:GetLogDelivery",
            "logs:ListLogDeliveries",
            "logs:PutResourcePolicy",
            "logs:UpdateLogDelivery",
        ),
        ("CloudWatch Logs vended-log delivery (Step Functions logging) requires Resource *", None),
    ),
    **dict.fromkeys(
        (
            "xray:GetSamplingRules",
            "xray:GetSamplingTargets",
            "xray:PutTelemetryRecords",
            "xray:PutTraceSegments",
        ),
        ("X-Ray tracing calls have no resource-level permissions", None),
    ),
    **dict.fromkeys(
        (
            "partnercentral:ListOpportunities",
            "partnercentral:ListSolutions",
            "partnercentral:ListEngagementInvitations",
            "partnercentral:ListEngagements",
            "partnercentral:ListEngagementFromOpportunityTasks",
            "partnercentral:CreateOpportunity",
            "partnercentral:StartEngagementFromOpportunityTask",
            "partnercentral:GetCustomerAccountStatistics",
            "partnercentral:GetSellingSystemSettings",
            "partnercentral:ListCustomerAccountBulkJobResults",
            "partnercentral:ListCustomerAccountBulkJobs",
            "partnercentral:ListEngagementByAcceptingInvitationTasks",
            "partnercentral:ListEngagementGroups",
            "partnercentral:ListEngagementMembers",
            "partnercentral:ListEngagementResourceAssociations",
            "partnercentral:ListOpportunityBulkJobResults",
            "partnercentral:ListOpportunityBulkJobs",
            "partnercentral:ListOpportunityFromEngagementTasks",
            "partnercentral:ListProspectingFromEngagementTasks",
            "partnercentral:ListResourceSnapshotJobs",
            "partnercentral:ListResourceSnapshots",
            "partnercentral:SearchCustomerAccounts",
            "partnercentral:SearchEngagements",
            "partnercentral:SearchOpportunities",
            "partnercentral:CreateEngagement",
            "partnercentral:CreateCustomerAccount",
            "partnercentral:StartOpportunityBulkJob",
            "partnercentral:StartCustomerAccountBulkJob",
            "partnercentral:StartProspectingFromEngagementTask",
            "partnercentral:PutSellingSystemSettings",
        ),
        (
            "Partner Central list/search/create calls have no ARN; limited to one catalog",
            "partnercentral:Catalog",
        ),
    ),
    **dict.fromkeys(
        ("aws-marketplace:BatchMeterUsage", "aws-marketplace:ResolveCustomer"),
        ("Marketplace metering calls have no resource types; the product code is in the request", None),
    ),
    **dict.fromkeys(
        (
            "aws-marketplace:ListEntities",
            "aws-marketplace:ListChangeSets",
            "aws-marketplace:SearchAgreements",
            "aws-marketplace:GetAgreementTerms",
            "aws-marketplace:GetEntitlements",
        ),
        ("Marketplace list/search/agreement/entitlement calls have no resource types", None),
    ),
    "ecr:GetAuthorizationToken": ("ECR registry login has no resource ARN", None),
}
TRUST_ACTIONS = {"sts:AssumeRole", "sts:TagSession"}
ALLOWED_MANAGED_POLICIES = {
    "arn:aws:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole": "AWS-managed; lets RDS write OS metrics to its RDSOSMetrics log group only",
}


def _list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _values(mod: Module, raw: Any) -> list[str] | None:
    """A list attribute with var/local references resolved; None when it is a computed expression."""
    resolved = mod.resolve(raw)
    if isinstance(resolved, str) and resolved.startswith("${") and resolved.endswith("}"):
        return None  # an expression (concat, for, a resource attribute): refers to specific resources
    out: list[str] = []
    for item in _list(resolved):
        item = mod.resolve(item)
        if isinstance(item, list):
            out.extend(str(i) for i in item)
        else:
            out.append(str(item))
    return out


def _unscoped(resource: str) -> bool:
    """True for "*" and for ARNs whose resource part is only a wildcard (arn:aws:s3:::*, arn:...:*)."""
    if resource == "*":
        return True
    return bool(
        re.fullmatch(r"arn:[^:]*:[^:]*:[^:]*:[^:]*:\*", resource)
        or re.fullmatch(r"arn:[^:]*:s3:::\*", resource)
    )


_DOC_IN = re.compile(r"data\.aws_iam_policy_document\.([A-Za-z0-9_]+)(\[[^\]]*\])?\.json")


def consumers(mod: Module) -> dict[str, list[tuple[str, str]]]:
    """policy document name -> [(resource type, attribute)] that use its .json (a module argument counts)."""
    used: dict[str, list[tuple[str, str]]] = {}
    for call, args in mod.modules.items():
        for arg, value in args.items():
            for match in _DOC_IN.finditer(str(value)):
                used.setdefault(match.group(1), []).append((f"module.{call}", arg))
    for (rtype, _name), body in mod.resources.items():
        for attr in POLICY_ATTRIBUTES:
            if attr in body:
                match = _DOC_REF.match(str(body[attr]))
                if match:
                    used.setdefault(match.group(1), []).append((rtype, attr))
    return used


def policy_problems(directory: Path) -> list[str]:
    """Every least-privilege violation in one Terraform directory, as readable messages."""
    mod = module(directory)
    problems: list[str] = []
    used = consumers(mod)

    for (rtype, name), body in mod.resources.items():
        for attr in POLICY_ATTRIBUTES:
            if attr in body and not _DOC_REF.match(str(body[attr])):
                problems.append(
                    f"{rtype}.{name}.{attr} is not an aws_iam_policy_document (.json): write it as one"
                )
        if (
            rtype == "aws_iam_role_policy_attachment"
            and body.get("policy_arn") not in ALLOWED_MANAGED_POLICIES
        ):
            problems.append(
                f"{rtype}.{name} attaches {body.get('policy_arn')}, not an allowed managed policy"
            )
        if rtype in ("aws_iam_user_policy", "aws_iam_group_policy", "aws_iam_user"):
            problems.append(f"{rtype}.{name}: grant to roles, not users or groups")

    for (dtype, doc_name), doc in mod.data.items():
        if dtype != "aws_iam_policy_document":
            continue
        where = f"{directory.name}/{doc_name}"
        uses = used.get(doc_name, [])
        if not uses:
            problems.append(f"{where}: policy document is not used by any resource")
        is_key_policy = any(u == ("aws_kms_key", "policy") for u in uses)
        is_trust = bool(uses) and all(attr == "assume_role_policy" for _, attr in uses)
        statements = _list(doc.get("statement"))
        for dynamic in _list(doc.get("dynamic")):
            for block in _list(dynamic.get("statement")):
                statements += _list(block["content"])
        if not statements:
            problems.append(f"{where}: no statements")
        for index, st in enumerate(statements):
            sid = st.get("sid", f"#{index}")
            here = f"{where}[{sid}]"
            effect = st.get("effect", "Allow")
            actions = _values(mod, st.get("actions"))
            if effect == "Deny":
                continue
            if "not_actions" in st or "not_resources" in st:
                problems.append(f"{here}: Allow with not_actions/not_resources")
            if actions is None:
                problems.append(
                    f"{here}: actions must be a literal list (or a variable with a default) to be checked"
                )
                continue
            wild = [a for a in actions if "*" in a]
            if wild:
                problems.append(f"{here}: wildcard action(s) {wild}")
            principals = _list(st.get("principals"))
            for principal in principals:
                ids = _values(mod, principal.get("identifiers")) or []
                if "*" in ids:
                    problems.append(f"{here}: Allow to principal '*'")
            if is_trust:
                if not principals:
                    problems.append(f"{here}: trust statement without a principal")
                if set(actions) - TRUST_ACTIONS:
                    problems.append(f"{here}: trust policy grants {sorted(set(actions) - TRUST_ACTIONS)}")
                continue
            resources = _values(mod, st.get("resources"))
            if resources is None:
                continue  # computed from specific resources
            if not resources:
                problems.append(f"{here}: no resources")
            if any(_unscoped(r) for r in resources):
                if is_key_policy:
                    continue  # in a key policy "*" is the key itself
                conditions = {mod.resolve(c.get("variable")) for c in _list(st.get("condition"))}
                for action in actions:
                    if action not in UNSCOPED_ACTIONS:
                        problems.append(
                            f"{here}: {action} on an unscoped resource, but it supports resource ARNs"
                        )
                        continue
                    needed = UNSCOPED_ACTIONS[action][1]
                    if needed and needed not in conditions:
                        problems.append(f"{here}: {action} on '*' needs a {needed} condition")
    return problems
