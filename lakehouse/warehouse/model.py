"""What the warehouse serves and how a tenant is isolated in it: names, modes and the served marts.

Two isolation modes, chosen per tenant by the control plane and passed in (the core never asks it):
- ``schema`` (siloed tenants, e.g. enterprises): the tenant's marts live in its own schema ``t_<tenant>``;
  only the tenant's role has USAGE on it.
- ``rls`` (pooled tenants, e.g. orgs): every pooled tenant's rows share schema ``pooled``; row-level security
  is on for each table and the tenant's role gets a policy admitting ``tenant_id = '<tenant>'`` only (a role
  without a policy sees no row).

Every tenant has a role ``t_<tenant>`` that readers are granted (users, BI tools). Names keep the tenant id
verbatim inside a quoted identifier, so two tenant ids never map to one name ("a-b" and "a_b" would if "-"
were replaced); an id too long for the 63-byte identifier limit is shortened with a hash suffix.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Literal

from lakehouse import catalog
from lakehouse.catalog import TableDef
from lakehouse.errors import BadInput
from lakehouse.tenancy import validate_tenant_id

IsolationMode = Literal["schema", "rls"]
ISOLATION_MODES: tuple[str, ...] = ("schema", "rls")
# The control plane's names for the two modes (control_plane.tenants.models.ISOLATION_MODES).
MODE_FOR_CONTROL_PLANE: dict[str, IsolationMode] = {"siloed": "schema", "pooled": "rls"}

POOLED_SCHEMA = "pooled"
META_SCHEMA = "lakehouse_meta"  # the sync state; no tenant role is granted anything here
STATE_TABLE = "sync_state"
MAX_IDENTIFIER = 63  # PostgreSQL's NAMEDATALEN - 1; Redshift allows 127 bytes, so the stricter limit is used

# The gold marts loaded into the warehouse. Every gold table is either served or listed in NOT_SERVED with the
# reason (tests/warehouse checks this, so a new mart cannot be forgotten silently).
SERVED_MARTS: tuple[str, ...] = (
    "gold.ace_pipeline",
    "gold.ace_win_rate",
    "gold.ace_pipeline_health",
    "gold.marketplace_usage",
    "gold.marketplace_subscriptions",
)
NOT_SERVED: dict[str, str] = {
    "gold.ace_facts": "the per-file-cluster aggregate the ACE marts are derived from (an internal step)",
}


class UnknownIsolation(BadInput):
    """An isolation mode that is neither the warehouse's nor the control plane's name for one."""


def identifier(prefix: str, tenant_id: str) -> str:
    """``prefix + tenant_id``, shortened with a hash suffix when longer than the identifier limit."""
    validate_tenant_id(tenant_id)
    name = prefix + tenant_id
    if len(name) <= MAX_IDENTIFIER:
        return name
    digest = hashlib.sha256(tenant_id.encode()).hexdigest()[:10]
    return f"{name[: MAX_IDENTIFIER - 11]}_{digest}"


@dataclass(frozen=True)
class Isolation:
    """Where a tenant's marts go in the warehouse and who may read them."""

    tenant_id: str
    mode: IsolationMode

    def __post_init__(self) -> None:
        validate_tenant_id(self.tenant_id)
        if self.mode not in ISOLATION_MODES:
            raise UnknownIsolation(f"unknown isolation mode {self.mode!r}; use one of {ISOLATION_MODES}")

    @classmethod
    def of(cls, tenant_id: str, mode: str) -> Isolation:
        """From either naming: ``schema``/``rls`` or the control plane's ``siloed``/``pooled``."""
        resolved = MODE_FOR_CONTROL_PLANE.get(mode, mode)
        if resolved not in ISOLATION_MODES:
            known = (*ISOLATION_MODES, *MODE_FOR_CONTROL_PLANE)
            raise UnknownIsolation(
                f"unknown isolation mode {mode!r} for tenant {tenant_id}; use one of {known}"
            )
        return cls(tenant_id, resolved)  # type: ignore[arg-type]

    @property
    def schema(self) -> str:
        """The schema holding the tenant's marts."""
        return identifier("t_", self.tenant_id) if self.mode == "schema" else POOLED_SCHEMA

    @property
    def role(self) -> str:
        """The tenant's reader role (grant it to the tenant's users)."""
        return identifier("t_", self.tenant_id)

    @property
    def policy(self) -> str:
        """The name of the tenant's row-level security policy (rls mode)."""
        return identifier("rls_", self.tenant_id)

    @property
    def predicate(self) -> str:
        """The row filter of the tenant's policy (the tenant id is a validated identifier: safe as a literal)."""
        return f"tenant_id = '{self.tenant_id}'"


def served_tables(names: tuple[str, ...] | None = None) -> list[TableDef]:
    """The served marts' definitions (all of SERVED_MARTS by default); refuses a name that is not served."""
    chosen = names or SERVED_MARTS
    unknown = [n for n in chosen if n not in SERVED_MARTS]
    if unknown:
        raise BadInput(f"not a served mart: {unknown}; the warehouse serves {list(SERVED_MARTS)}")
    return [catalog.get(n) for n in chosen]
