"""What ``lakehouse agent ask`` does against the control-plane database (imported lazily by the command).

The CLI is a trusted local tool, like ``lakehouse actions``: ``--as USER`` names an active user of the tenant (or
of an ancestor) whose role the PDP decides every tool call for; without it the caller is the local operator,
``cli:<name>``, acting with the ``analyst`` role in that tenant. Either way each tool call goes through the same
policy decision point and audit chain as the API, and tokens are charged to the tenant's cost ledger.
"""

from __future__ import annotations

from lakehouse.agents.data import AgentData
from lakehouse.agents.hub import AgentHub
from lakehouse.agents.provider import ModelProvider
from lakehouse.errors import Refused


def local_hub(
    tenant_id: str, *, user_id: str | None, operator: str, provider: ModelProvider, data: AgentData
) -> AgentHub:
    """An ``AgentHub`` for a CLI caller in ``tenant_id`` (the tenant must be provisioned)."""
    from control_plane.agents.service import hub_for
    from control_plane.approvals.local import LocalApprovals, _environment
    from control_plane.auth.principal import Principal

    approvals = LocalApprovals.open()
    tenant = approvals.tenant(tenant_id)  # Refused when the control plane does not know it
    if user_id is not None:
        principal = approvals.user(tenant, user_id, ("data:read",), "ask agents").principal
    else:
        principal = Principal(
            subject=f"cli:{operator}", role="analyst", tenant_id=tenant.id, tenant_path=tenant.path, via="cli"
        )
    if principal.tenant_path is None:
        raise Refused(f"{principal.subject} has no tenant; agents run in one tenant's scope")
    return hub_for(approvals.db, principal, tenant, environment=_environment(), provider=provider, data=data)
