"""Zero-argument factories for the provider specs jobs take (Marketplace ``--usage-source``, ``--buyers``,
``--approvals`` or ``$LAKEHOUSE_MARKETPLACE_USAGE_SOURCE`` / ``_BUYERS`` / ``_APPROVALS``; the Partner Central
ingest job's ``--connector_directory``), over this environment's control-plane database::

    lakehouse metering run --tenant acme --usage-source python:control_plane.costs.providers:usage_source \\
        --buyers python:control_plane.costs.providers:buyer_directory
"""

from __future__ import annotations

from control_plane.approvals.gate import DbApprovalGate
from control_plane.connectors.flows import ConnectorDirectory
from control_plane.costs.buyers import DbBuyerDirectory
from control_plane.costs.ledger import LedgerUsageSource
from control_plane.quotas.local import open_database


def usage_source() -> LedgerUsageSource:
    """The cost ledger as a Marketplace ``UsageSource``."""
    return LedgerUsageSource(open_database())


def buyer_directory() -> DbBuyerDirectory:
    """The tenant <-> Marketplace buyer links."""
    return DbBuyerDirectory(open_database())


def connector_directory() -> ConnectorDirectory:
    """Each tenant's verified linked-account role (the ingest job's ``--connector_directory``)."""
    return ConnectorDirectory(open_database())


def approval_gate() -> DbApprovalGate:
    """The approvals service as a Marketplace ``ApprovalGate``."""
    return DbApprovalGate(open_database())
