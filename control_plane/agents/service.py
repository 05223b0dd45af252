"""Wiring of the agent hub to the control plane: the PDP, the audit chain, approvals, quotas and the ledger.

``lakehouse.agents`` never imports the control plane; this module builds its interfaces from the control
plane's own services for one caller: ``pdp_decider`` asks ``control_plane.authz.policy.decide`` with the caller
as subject, ``DbApprovalRequester`` files requests through the approvals service (the caller is the requester,
so separation of duties applies to them), ``DbAuditSink`` and ``DbQuotaGate`` write the audit chain and the cost
ledger. The CLI (``lakehouse agent ask``) and the API route both use ``hub_for``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from control_plane.approvals import service as approvals
from control_plane.approvals.gate import DbAuditSink
from control_plane.auth.principal import Principal
from control_plane.authz.policy import decide
from control_plane.authz.service import policy_input
from control_plane.costs.settings import GuardrailSettings
from control_plane.db import Database, DbScope
from control_plane.quotas.gate import DbQuotaGate
from control_plane.tenants.models import Tenant
from lakehouse.agents.data import AgentData
from lakehouse.agents.hub import AgentHub, PolicyDecider, PolicyDecision
from lakehouse.agents.provider import ModelProvider
from lakehouse.agents.retrieval import PlatinumVectorSearch, SemanticSearch


def pdp_decider(
    principal: Principal, tenant_path: str, *, environment: str, request_id: str | None = None
) -> PolicyDecider:
    """The PDP as a ``(action, resource) -> PolicyDecision`` for ``principal`` acting in the tenant at ``tenant_path``."""

    def decide_for(action: str, resource: Mapping[str, Any]) -> PolicyDecision:
        full = dict(resource)
        full["tenant_path"] = tenant_path if full.get("tenant_id") else None
        answer = decide(policy_input(principal, action, full, environment=environment, request_id=request_id))
        return PolicyDecision(bool(answer["result"]["allow"]), tuple(answer["result"]["reasons"]))

    return decide_for


class DbApprovalRequester:
    """Files an agent's suggested change as a pending approval request, requested by the asking caller."""

    def __init__(
        self, db: Database, tenant: Tenant, principal: Principal, settings: GuardrailSettings
    ) -> None:
        self.db, self.tenant, self.principal, self.settings = db, tenant, principal, settings

    def request(
        self, tenant_id: str, *, action: str, payload: Mapping[str, Any], target: str, reason: str
    ) -> str:
        if tenant_id != self.tenant.id:
            raise ValueError(f"an approval for {tenant_id} cannot be filed in tenant {self.tenant.id}")
        with self.db.session(DbScope.for_tenant(tenant_id), write=True) as session:
            row = approvals.request(
                session,
                tenant=self.tenant,
                action=action,
                payload=dict(payload),
                target=target,
                reason=reason,
                requester=self.principal.actor,
                request_id=None,
                settings=self.settings,
            )
            session.commit()
            return row.id


def hub_for(
    db: Database,
    principal: Principal,
    tenant: Tenant,
    *,
    environment: str,
    provider: ModelProvider,
    data: AgentData,
    request_id: str | None = None,
    settings: GuardrailSettings | None = None,
    semantic: SemanticSearch | None = None,
) -> AgentHub:
    """An ``AgentHub`` acting for ``principal`` in ``tenant`` with the control plane's guardrails; retrieval uses
    the tenant's platinum vector index when it was built with the configured embedder (BM25 otherwise)."""
    settings = settings or GuardrailSettings()
    return AgentHub(
        provider=provider,
        data=data,
        decide=pdp_decider(principal, tenant.path, environment=environment, request_id=request_id),
        audit=DbAuditSink(db, role=principal.role),
        quota=DbQuotaGate(db, settings),
        actor=principal.subject,
        approvals=DbApprovalRequester(db, tenant, principal, settings),
        semantic=semantic or PlatinumVectorSearch(),
    )
