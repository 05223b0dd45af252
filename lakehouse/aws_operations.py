"""The AWS operations each client may call, per IAM role: the single source the Terraform policies are checked against.

Each connector declares what it calls next to its client class (``AWS_OPERATIONS`` in
``lakehouse/partner_central/connector.py``, ``lakehouse/partner_central/writes.py`` and
``lakehouse/marketplace/connector.py``), as
``Declaration`` values naming the IAM role that must grant them. ``tests/infra/test_iam_from_code.py`` derives
each role's IAM actions from these declarations and requires the Terraform policy documents to grant exactly
those; a second test records the operations the code really sends (botocore, against the emulators) and
requires every one of them to be declared.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

# "assume" is what a client calls with the caller's own credentials to obtain a role's session (the Glue job
# role assuming the Partner Central read role); the other four are the roles whose sessions make the calls.
Role = Literal["assume", "read", "write", "metering", "catalog"]
ROLES: tuple[Role, ...] = ("assume", "read", "write", "metering", "catalog")

# boto3 service name -> IAM service prefix. The names differ for these services, and botocore's models do not
# carry the IAM prefix, so the mapping is written down here (from the AWS Service Authorization Reference).
IAM_PREFIX: dict[str, str] = {
    "partnercentral-selling": "partnercentral",
    "marketplace-catalog": "aws-marketplace",
    "marketplace-agreement": "aws-marketplace",
    "marketplace-entitlement": "aws-marketplace",
    "meteringmarketplace": "aws-marketplace",
    "sts": "sts",
}


class UnknownService(KeyError):
    """A declaration names a boto3 service whose IAM prefix is not in ``IAM_PREFIX``."""


@dataclass(frozen=True)
class Declaration:
    """Operations of one boto3 service that one client calls, and the IAM role they run under."""

    role: Role
    service: str
    operations: tuple[str, ...]

    def iam_actions(self) -> frozenset[str]:
        """The IAM actions these operations need (``<prefix>:<Operation>``)."""
        return frozenset(iam_action(self.service, op) for op in self.operations)


def iam_action(service: str, operation: str) -> str:
    """IAM action of one API operation: the service's IAM prefix and the operation name."""
    try:
        prefix = IAM_PREFIX[service]
    except KeyError:
        raise UnknownService(
            f"no IAM prefix known for boto3 service {service!r}: add it to lakehouse.aws_operations.IAM_PREFIX"
        ) from None
    return f"{prefix}:{operation}"


def declarations() -> tuple[Declaration, ...]:
    """Every client's declarations (imports the connector modules; no AWS call, no I/O)."""
    from lakehouse.marketplace import connector as marketplace
    from lakehouse.partner_central import connector as partner_central
    from lakehouse.partner_central import writes as partner_central_writes

    return (
        *partner_central.AWS_OPERATIONS,
        *partner_central_writes.AWS_OPERATIONS,
        *marketplace.AWS_OPERATIONS,
    )


def actions_by_role(declared: Iterable[Declaration] | None = None) -> dict[Role, frozenset[str]]:
    """Role -> the IAM actions its policy must grant, derived from the declarations."""
    out: dict[Role, set[str]] = {role: set() for role in ROLES}
    for item in declarations() if declared is None else declared:
        out[item.role] |= item.iam_actions()
    return {role: frozenset(actions) for role, actions in out.items()}


def operations_by_service(declared: Iterable[Declaration] | None = None) -> dict[str, frozenset[str]]:
    """boto3 service -> every operation some client declares (any role)."""
    out: dict[str, set[str]] = {}
    for item in declarations() if declared is None else declared:
        out.setdefault(item.service, set()).update(item.operations)
    return {service: frozenset(ops) for service, ops in out.items()}
