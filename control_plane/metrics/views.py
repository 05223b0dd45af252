"""Routes of the metrics domain: list the metric definitions and read one metric for a tenant.

Both need ``data:read`` on the tenant (the gate resolves the tenant and asks the PDP); reading a metric also
asks the PDP about the metric's classification (expected spend and revenue are confidential), the same
clearance the dashboards apply to the columns behind them. A read across tenants (platform admin, admin of a
parent tenant) is written to the tenant's audit chain as ``metrics.read``.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query

from control_plane.authz.service import require, tenant_resource
from control_plane.deps import Authorized, AuthorizeTenant, PageDep
from control_plane.errors import responses
from control_plane.metrics import service
from control_plane.metrics.schemas import MetricOut, MetricResult, parse_filter
from lakehouse import metrics

router = APIRouter(tags=["metrics"])
AUTH = (401, 403, 422)
MetricName = Annotated[str, Path(pattern=r"^[a-z][a-z0-9_]{0,62}$", description="Metric name")]


@router.get("/tenants/{tenant_id}/metrics", response_model=list[MetricOut], responses=responses(*AUTH, 404))
def list_metrics(
    auth: Annotated[Authorized, Depends(AuthorizeTenant("data:read"))], page: PageDep
) -> list[MetricOut]:
    """The metric definitions by name (owner, grain, dimensions, format, classification), a page at a time."""
    defined = metrics.list_metrics()[page.offset : page.offset + page.limit]
    return [MetricOut.of(m, metrics.model_of(m.name).table) for m in defined]


@router.get(
    "/tenants/{tenant_id}/metrics/{name}", response_model=MetricResult, responses=responses(*AUTH, 400, 404)
)
def read_metric(
    name: MetricName,
    auth: Annotated[Authorized, Depends(AuthorizeTenant("data:read"))],
    dimension: Annotated[
        list[str], Query(max_length=8, description="Group by these dimensions (repeat the parameter)")
    ] = [],  # noqa: B006 - FastAPI's idiom for a repeated query parameter
    filter: Annotated[
        list[str],
        Query(
            max_length=16,
            description="column:op[:value], op one of eq ne lt le gt ge in not_in is_null not_null",
        ),
    ] = [],  # noqa: B006
) -> MetricResult:
    """One metric for the tenant, computed from its gold model by the semantic layer."""
    tenant = auth.target
    definition = service.get_metric(name)
    require(
        auth.ctx.principal,
        "data:read",
        tenant_resource(
            tenant.id,
            tenant.path,
            type_="dataset",
            id_=f"metric:{name}",
            classification=definition.classification,
        ),
        environment=auth.ctx.environment,
        reason=auth.ctx.reason,
        request_id=auth.ctx.request_id,
    )
    parsed = [parse_filter(f) for f in filter]
    result = service.compute(tenant_id=tenant.id, name=name, dimensions=dimension, filters=parsed)
    service.audit_cross_tenant_read(auth.db, auth.ctx, tenant.id, name)
    return result
