"""The gateway's schema: tenants and what hangs off them (quotas, users, keys, audit, approvals, connectors, lake
runs, quality issues, metrics), plans, modules and the policy document. Read-only: changes go through REST.

Every resolver that touches a tenant asks the PDP with the same action and resource document as the REST route
that serves the same data (named in each field's description), through ``GatewayContext``; list fields are
bounded by ``limit`` like the REST pages, and the cost limiter multiplies nested lists by it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar, cast

import strawberry
from sqlalchemy import select
from strawberry.scalars import JSON
from strawberry.types import Info
from strawberry.types.nodes import SelectedField

from control_plane.approvals import service as approvals
from control_plane.approvals.models import ApprovalRequest
from control_plane.approvals.views import require_any
from control_plane.audit.models import AuditEntry
from control_plane.auth import service as auth_service
from control_plane.authz.policy import CLASSIFICATIONS, export_data
from control_plane.connectors import service as connectors
from control_plane.costs.settings import GuardrailSettings
from control_plane.errors import ApiError, Invalid, NotFound, Unavailable
from control_plane.graphql.context import GatewayContext
from control_plane.graphql.errors import as_graphql_error
from control_plane.graphql.lake import LakeUnavailable, read_tenant
from control_plane.metrics import service as metric_service
from control_plane.metrics.schemas import MetricOut, parse_filter
from control_plane.quotas.models import Quota as QuotaRow
from control_plane.registry import service as registry
from control_plane.tenants import service as tenants
from control_plane.tenants.models import Plan as PlanRow
from control_plane.tenants.models import Tenant as TenantRow
from lakehouse import metrics as semantic
from lakehouse.catalog import TableDef
from lakehouse.ops import DQ_ISSUE, DQ_PROFILE, LINEAGE_EDGE
from lakehouse.partner_central.entities.bronze import INGESTION_RUN

_T = TypeVar("_T")
GatewayInfo = Info[GatewayContext, None]
MAX_PAGE = 1000
MAX_OFFSET = 1_000_000
MAX_SEQ = 2**31 - 1


async def resolve(info: GatewayInfo, work: Callable[[GatewayContext], _T]) -> _T:
    """Run ``work`` in a worker thread; API errors (refusals, bad input) become GraphQL errors."""
    ctx = info.context
    try:
        return await ctx.run(work, ctx)
    except ApiError as exc:
        ctx.refusals.append((".".join(str(p) for p in info.path.as_list()), exc))
        raise as_graphql_error(exc) from None
    except LakeUnavailable as exc:
        raise as_graphql_error(Unavailable(str(exc))) from None


def page(limit: int, offset: int = 0, *, most: int = MAX_PAGE) -> tuple[int, int]:
    """``limit`` (1..most) and ``offset`` (0..1,000,000), or a BAD_USER_INPUT error naming the bad one."""
    problems: list[dict[str, Any]] = []
    if not 1 <= limit <= most:
        problems.append({"loc": ["limit"], "msg": f"limit must be between 1 and {most}, not {limit}"})
    if not 0 <= offset <= MAX_OFFSET:
        problems.append(
            {"loc": ["offset"], "msg": f"offset must be between 0 and {MAX_OFFSET}, not {offset}"}
        )
    if problems:
        raise Invalid("; ".join(str(p["msg"]) for p in problems), problems=problems)
    return limit, offset


def _dataset_read(ctx: GatewayContext, tenant: TenantRow, td: TableDef, columns: list[str]) -> None:
    """``data:read`` on the tenant's dataset at the most restrictive classification of the columns read."""
    level = max((td.classification[c] for c in columns), key=CLASSIFICATIONS.index)
    ctx.on_tenant(tenant, "data:read", type_="dataset", id_=td.qualified_name, classification=level)


# ----------------------------------------------------------------------------------------------- types


@strawberry.type(description="A quota limit of a tenant.")
class Quota:
    resource: str
    limit: float
    source: str


@strawberry.type(description="A user of a tenant.")
class User:
    tenant_id: str
    id: str
    email: str
    display_name: str
    role: str
    status: str
    created_at: datetime
    updated_at: datetime


@strawberry.type(description="An API key's metadata (the secret is never returned).")
class ApiKey:
    id: str
    tenant_id: str | None
    name: str
    role: str
    created_at: datetime
    created_by: str
    expires_at: datetime | None
    revoked_at: datetime | None
    replaced_by: str | None


@strawberry.type(name="AuditEntry", description="One entry of a tenant's hash-chained audit log.")
class AuditEntryNode:
    seq: int
    at: str
    actor: str
    actor_role: str
    action: str
    resource: str
    reason: str | None
    request_id: str | None
    hash: str


@strawberry.type(name="Approval", description="An approval request with its effective status.")
class ApprovalNode:
    id: str
    tenant_id: str
    action: str
    target: str
    catalog: str | None
    payload: JSON
    reason: str | None
    mode: str
    status: str
    requested_by: str
    requested_at: datetime
    expires_at: datetime
    decided_by: str | None
    decided_at: datetime | None
    decision_reason: str | None

    @classmethod
    def of(cls, row: ApprovalRequest) -> ApprovalNode:
        """The node of a stored request (status as reported: expired once past ``expires_at``)."""
        return cls(
            **{k: getattr(row, k) for k in cls.__annotations__ if k != "status"},
            status=approvals.effective_status(row),
        )


@strawberry.type(description="A tenant's approval mode and time to live.")
class ApprovalPolicy:
    mode: str
    ttl_hours: float


@strawberry.type(description="A linked-account role in the tenant's AWS account (never its ExternalId).")
class Connector:
    id: str
    tenant_id: str
    service: str
    aws_account_id: str
    role_arn: str
    status: str
    created_at: datetime
    updated_at: datetime
    last_verified_at: datetime | None
    last_error: str | None


@strawberry.type(description="One ingestion run (ops.ingestion_run): an API sync or a file load.")
class IngestionRun:
    ingestion_run_id: str
    source: str | None
    catalog: str | None
    status: str | None
    started_at: datetime | None
    finished_at: datetime | None
    fetched: int | None
    landed: int | None
    duplicates: int | None
    rejected: int | None
    api_calls: int | None
    error: str | None


@strawberry.type(description="A table version a pipeline run read or wrote.")
class TableVersion:
    table: str
    version: int | None


@strawberry.type(description="One pipeline job run, from its lineage edges (ops.lineage_edge).")
class PipelineRun:
    run_id: str
    job_name: str | None
    inputs: list[TableVersion]
    outputs: list[TableVersion]
    recorded_at: datetime | None


@strawberry.type(
    description="A DataQualityIssue (ops.dq_issue): a violated expectation of one table in one run."
)
class QualityIssue:
    run_id: str | None
    table_name: str | None
    suite: str | None
    expectation: str | None
    expectation_type: str | None
    column_name: str | None
    action: str | None
    unexpected_count: int | None
    element_count: int | None
    sample_keys: list[str] | None
    observed_at: datetime | None
    severity: str | None
    details: str | None


@strawberry.type(description="A frequent value of a column and how many rows hold it.")
class TopValue:
    value: str | None
    count: int | None


@strawberry.type(
    description="One column's profile of one table in one run (ops.dq_profile). minValue, maxValue, quantiles and "
    "topValues are values of the column, classified confidential: asking for them needs that clearance."
)
class QualityProfile:
    run_id: str | None
    table_name: str | None
    table_version: int | None
    profiled_at: datetime | None
    row_count: int | None
    rows_written: int | None
    column_name: str | None
    data_type: str | None
    null_count: int | None
    null_rate: float | None
    distinct_count: int | None
    distinct_rate: float | None
    min_value: str | None
    max_value: str | None
    quantiles: list[float | None] | None
    top_values: list[TopValue] | None

    @classmethod
    def of(cls, row: dict[str, Any]) -> QualityProfile:
        """The node of an ops.dq_profile row (only the asked columns were read; the others are null)."""
        top = row.get("top_values")
        return _fields(
            cls,
            row,
            top_values=None if top is None else [TopValue(value=t["value"], count=t["count"]) for t in top],
        )


@strawberry.type(description="A dimension value of a metric row.")
class DimensionValue:
    name: str
    value: str | None


@strawberry.type(
    description="One row of a metric for a tenant (one per combination of the dimensions asked for), as GET "
    "/tenants/{id}/metrics/{name} answers it."
)
class MetricValue:
    metric: str
    version: int
    format: str
    dimensions: list[DimensionValue]
    value: float | None


@strawberry.type(description="A metric's definition in the semantic layer (lakehouse.metrics).")
class MetricDefinition:
    name: str
    version: int
    label: str
    description: str
    owner: str
    model: str
    table: str
    grain: str
    dimensions: list[str]
    required_dimensions: list[str]
    filters: list[str]
    format: str
    classification: str


@strawberry.type(description="A plan: default quotas and allowed module types.")
class Plan:
    id: str
    name: str
    quotas: JSON
    allowed_module_types: list[str]


@strawberry.type(description="A published module version of the registry.")
class Module:
    name: str
    version: str
    module_type: str
    digest: str
    published_at: datetime
    published_by: str
    manifest: JSON


@strawberry.type(description="Who the credential says the caller is.")
class Me:
    subject: str
    role: str
    tenant_id: str | None
    tenant_path: str | None
    via: str
    is_platform: bool


def _fields(cls: type[_T], source: Any, **extra: Any) -> _T:
    """A node from an ORM row or a dict, taking the fields the node declares."""
    names = [n for n in cls.__annotations__ if n not in extra]
    get = source.get if isinstance(source, dict) else (lambda n: getattr(source, n))
    return cls(**{n: get(n) for n in names}, **extra)


@strawberry.type(name="Tenant", description="A tenant (enterprise, org or workspace) the caller can see.")
class TenantNode:
    row: strawberry.Private[TenantRow]
    id: str
    kind: str
    parent_id: str | None
    path: str
    name: str
    plan_id: str | None
    isolation_mode: str
    status: str
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, row: TenantRow) -> TenantNode:
        """The node of a visible tenant row."""
        return _fields(cls, row, row=row)

    @strawberry.field(
        description="The parent tenant when the caller can see it, else null (tenants:read on it)."
    )
    async def parent(self, info: GatewayInfo) -> TenantNode | None:
        def work(ctx: GatewayContext) -> TenantNode | None:
            found = tenants.get_tenant(ctx.db, ctx.principal, self.parent_id) if self.parent_id else None
            if found is None:
                return None
            ctx.on_tenant(found, "tenants:read")
            return TenantNode.of(found)

        return await resolve(info, work)

    @strawberry.field(description="Child tenants by path (tenants:read, as GET /tenants?parent_id={id}).")
    async def children(self, info: GatewayInfo, limit: int = 100, offset: int = 0) -> list[TenantNode] | None:
        def work(ctx: GatewayContext) -> list[TenantNode]:
            size, skip = page(limit, offset, most=500)
            ctx.on_tenant(self.row, "tenants:read")
            rows = tenants.list_tenants(
                ctx.db, ctx.principal, kind=None, parent_id=self.id, limit=size, offset=skip
            )
            return [TenantNode.of(t) for t in rows]

        return await resolve(info, work)

    @strawberry.field(description="Quota limits (quotas:read, as GET /tenants/{id}/quotas).")
    async def quotas(self, info: GatewayInfo) -> list[Quota] | None:
        def work(ctx: GatewayContext) -> list[Quota]:
            ctx.on_tenant(self.row, "quotas:read")
            rows = ctx.db.execute(
                select(QuotaRow).where(QuotaRow.tenant_id == self.id).order_by(QuotaRow.resource)
            )
            return [_fields(Quota, q) for q in rows.scalars()]

        return await resolve(info, work)

    @strawberry.field(description="Users by id (users:read, as GET /tenants/{id}/users).")
    async def users(self, info: GatewayInfo, limit: int = 100, offset: int = 0) -> list[User] | None:
        def work(ctx: GatewayContext) -> list[User]:
            size, skip = page(limit, offset)
            ctx.on_tenant(self.row, "users:read")
            return [
                _fields(User, u) for u in auth_service.list_users(ctx.db, self.row, limit=size, offset=skip)
            ]

        return await resolve(info, work)

    @strawberry.field(
        description="API keys' metadata, oldest first (keys:read, as GET /tenants/{id}/api-keys)."
    )
    async def api_keys(self, info: GatewayInfo, limit: int = 100, offset: int = 0) -> list[ApiKey] | None:
        def work(ctx: GatewayContext) -> list[ApiKey]:
            size, skip = page(limit, offset)
            ctx.on_tenant(self.row, "keys:read")
            return [
                _fields(ApiKey, k) for k in auth_service.list_keys(ctx.db, self.row, limit=size, offset=skip)
            ]

        return await resolve(info, work)

    @strawberry.field(description="The audit chain, oldest first (audit:read, as GET /tenants/{id}/audit).")
    async def audit_entries(
        self, info: GatewayInfo, limit: int = 100, after_seq: int = 0
    ) -> list[AuditEntryNode] | None:
        def work(ctx: GatewayContext) -> list[AuditEntryNode]:
            size, _ = page(limit)
            if not 0 <= after_seq <= MAX_SEQ:
                message = f"after_seq must be between 0 and {MAX_SEQ}, not {after_seq}"
                raise Invalid(message, problems=[{"loc": ["after_seq"], "msg": message}])
            ctx.on_tenant(self.row, "audit:read")
            rows = ctx.db.execute(
                select(AuditEntry)
                .where(AuditEntry.chain == self.id, AuditEntry.seq > after_seq)
                .order_by(AuditEntry.seq)
                .limit(size)
            ).scalars()
            return [_fields(AuditEntryNode, r) for r in rows]

        return await resolve(info, work)

    @strawberry.field(
        description="Approval requests, newest first (audit:read, as GET /tenants/{id}/approvals)."
    )
    async def approvals(
        self, info: GatewayInfo, status: str | None = None, limit: int = 100
    ) -> list[ApprovalNode] | None:
        def work(ctx: GatewayContext) -> list[ApprovalNode]:
            size, _ = page(limit, most=500)
            ctx.on_tenant(self.row, "audit:read")
            rows = approvals.list_requests(ctx.db, self.id, status=status, limit=size)
            return [ApprovalNode.of(r) for r in rows]

        return await resolve(info, work)

    @strawberry.field(description="Approval mode and TTL (audit:read, as GET /tenants/{id}/approval-policy).")
    async def approval_policy(self, info: GatewayInfo) -> ApprovalPolicy | None:
        def work(ctx: GatewayContext) -> ApprovalPolicy:
            ctx.on_tenant(self.row, "audit:read")
            mode, ttl = approvals.policy_of(ctx.db, self.id, GuardrailSettings())
            return ApprovalPolicy(mode=mode, ttl_hours=ttl / 3600)

        return await resolve(info, work)

    @strawberry.field(
        description="Linked-account connectors, newest first (tenants:read, as GET /tenants/{id}/connectors)."
    )
    async def connectors(
        self, info: GatewayInfo, include_disabled: bool = False, limit: int = 100, offset: int = 0
    ) -> list[Connector] | None:
        def work(ctx: GatewayContext) -> list[Connector]:
            size, skip = page(limit, offset)
            ctx.on_tenant(self.row, "tenants:read")
            rows = connectors.list_connectors(
                ctx.db, self.id, include_disabled=include_disabled, limit=size, offset=skip
            )
            return [_fields(Connector, r) for r in rows]

        return await resolve(info, work)

    @strawberry.field(description="Ingestion runs, newest first (data:read on ops.ingestion_run).")
    async def ingestion_runs(
        self, info: GatewayInfo, status: str | None = None, limit: int = 20
    ) -> list[IngestionRun] | None:
        columns = list(IngestionRun.__annotations__)

        def work(ctx: GatewayContext) -> list[IngestionRun]:
            size, _ = page(limit)
            _dataset_read(ctx, self.row, INGESTION_RUN, columns)
            rows = read_tenant(
                ctx.lake_root,
                INGESTION_RUN,
                self.id,
                columns=columns,
                equals={"status": status},
                order_by=[("started_at", True), ("ingestion_run_id", False)],
                limit=size,
            )
            return [_fields(IngestionRun, r) for r in rows]

        return await resolve(info, work)

    @strawberry.field(
        description="Pipeline job runs, newest first, from their lineage (data:read on ops.lineage_edge)."
    )
    async def pipeline_runs(self, info: GatewayInfo, limit: int = 20) -> list[PipelineRun] | None:
        def work(ctx: GatewayContext) -> list[PipelineRun]:
            size, _ = page(limit)
            columns = LINEAGE_EDGE.schema.fieldNames()
            _dataset_read(ctx, self.row, LINEAGE_EDGE, columns)
            edges = read_tenant(ctx.lake_root, LINEAGE_EDGE, self.id)
            return _pipeline_runs(edges)[:size]

        return await resolve(info, work)

    @strawberry.field(description="DataQualityIssue rows, newest first (data:read on ops.dq_issue).")
    async def quality_issues(
        self,
        info: GatewayInfo,
        run_id: str | None = None,
        table_name: str | None = None,
        action: str | None = None,
        severity: str | None = None,
        suite: str | None = None,
        limit: int = 100,
    ) -> list[QualityIssue] | None:
        columns = list(QualityIssue.__annotations__)

        def work(ctx: GatewayContext) -> list[QualityIssue]:
            size, _ = page(limit)
            _dataset_read(ctx, self.row, DQ_ISSUE, columns)
            rows = read_tenant(
                ctx.lake_root,
                DQ_ISSUE,
                self.id,
                columns=columns,
                equals={
                    "run_id": run_id,
                    "table_name": table_name,
                    "action": action,
                    "severity": severity,
                    "suite": suite,
                },
                order_by=[("observed_at", True), ("table_name", False), ("expectation", False)],
                limit=size,
            )
            return [_fields(QualityIssue, r) for r in rows]

        return await resolve(info, work)

    @strawberry.field(
        description="Column profiles, newest first (data:read on ops.dq_profile at the highest classification of "
        "the fields asked for)."
    )
    async def quality_profiles(
        self,
        info: GatewayInfo,
        table_name: str | None = None,
        run_id: str | None = None,
        column_name: str | None = None,
        limit: int = 100,
    ) -> list[QualityProfile] | None:
        columns = _asked_columns(info, DQ_PROFILE) or ["run_id"]

        def work(ctx: GatewayContext) -> list[QualityProfile]:
            size, _ = page(limit)
            _dataset_read(ctx, self.row, DQ_PROFILE, columns)
            order = ("profiled_at", "table_name", "column_name")
            rows = read_tenant(
                ctx.lake_root,
                DQ_PROFILE,
                self.id,
                columns=sorted({*columns, *order}),
                equals={"table_name": table_name, "run_id": run_id, "column_name": column_name},
                order_by=[("profiled_at", True), ("table_name", False), ("column_name", False)],
                limit=size,
            )
            wanted = set(columns)
            return [QualityProfile.of({k: v for k, v in r.items() if k in wanted}) for r in rows]

        return await resolve(info, work)

    @strawberry.field(
        description="The semantic layer's metric definitions (data:read, as GET /tenants/{id}/metrics)."
    )
    async def metric_definitions(
        self, info: GatewayInfo, limit: int = 100, offset: int = 0
    ) -> list[MetricDefinition] | None:
        def work(ctx: GatewayContext) -> list[MetricDefinition]:
            size, skip = page(limit, offset)
            ctx.on_tenant(self.row, "data:read")
            defined = semantic.list_metrics()[skip : skip + size]
            return [
                _fields(MetricDefinition, MetricOut.of(m, semantic.model_of(m.name).table)) for m in defined
            ]

        return await resolve(info, work)

    @strawberry.field(
        description="Metrics computed by the semantic layer (lakehouse.metrics), as GET /tenants/{id}/metrics/"
        "{name}: data:read on the tenant and at each metric's classification. Without names: every metric the "
        "caller is cleared for that can be split by `by`. filters: column:op[:value], as the REST route's."
    )
    async def metrics(
        self,
        info: GatewayInfo,
        names: list[str] | None = None,
        by: list[str] | None = None,
        filters: list[str] | None = None,
    ) -> list[MetricValue] | None:
        def work(ctx: GatewayContext) -> list[MetricValue]:
            return _metrics(ctx, self.row, names, list(by or ()), list(filters or ()))

        return await resolve(info, work)


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def _asked_columns(info: GatewayInfo, td: TableDef) -> list[str]:
    """The table's columns behind the sub-fields the query selects on this field (fragments included)."""
    declared = set(td.schema.fieldNames())
    names: set[str] = set()

    def visit(selections: list[Any]) -> None:
        for selection in selections:
            if isinstance(selection, SelectedField):
                names.add(_snake(selection.name))
            else:  # an inline fragment or a fragment spread
                visit(selection.selections)

    for selected in info.selected_fields:
        visit(selected.selections)
    return sorted(names & declared)


def _pipeline_runs(edges: list[dict[str, Any]]) -> list[PipelineRun]:
    """Lineage edges grouped into runs (one per run id and job), newest first."""
    runs: dict[tuple[str, str | None], list[dict[str, Any]]] = {}
    for edge in edges:
        runs.setdefault((edge["run_id"], edge["job_name"]), []).append(edge)
    out = []
    for (run_id, job), group in runs.items():
        inputs = sorted({(e["input_table"], e["input_version"]) for e in group if e["input_table"]}, key=str)
        outputs = sorted(
            {(e["output_table"], e["output_version"]) for e in group if e["output_table"]}, key=str
        )
        times = [e["recorded_at"] for e in group if e["recorded_at"] is not None]
        out.append(
            PipelineRun(
                run_id=run_id,
                job_name=job,
                inputs=[TableVersion(table=t, version=v) for t, v in inputs],
                outputs=[TableVersion(table=t, version=v) for t, v in outputs],
                recorded_at=max(times) if times else None,
            )
        )
    epoch = datetime.min
    out.sort(
        key=lambda r: (r.recorded_at.replace(tzinfo=None) if r.recorded_at else epoch, r.run_id), reverse=True
    )
    return out


def _metrics(
    ctx: GatewayContext, tenant: TenantRow, names: list[str] | None, by: list[str], filters: list[str]
) -> list[MetricValue]:
    """Each asked metric (or every metric the PDP allows), computed by the REST route's service."""
    if len(by) > 8 or len(filters) > 16:
        raise Invalid("at most 8 dimensions and 16 filters", problems=[{"loc": ["by"], "msg": "too many"}])
    ctx.on_tenant(tenant, "data:read")  # the REST route's gate
    asked = names if names is not None else [m.name for m in semantic.list_metrics()]
    definitions = [metric_service.get_metric(n) for n in asked]  # unknown: NOT_FOUND, as in REST
    parsed = [parse_filter(f) for f in filters]
    out: list[MetricValue] = []
    for definition in definitions:
        try:
            ctx.on_tenant(
                tenant,
                "data:read",
                type_="dataset",
                id_=f"metric:{definition.name}",
                classification=definition.classification,
            )
        except ApiError:
            if names is not None:
                raise
            continue  # not asked by name: left out, as /authz/data-access leaves out what is not allowed
        if names is None and not set(by) <= set(definition.dimensions):
            continue
        result = metric_service.compute(
            tenant_id=tenant.id, name=definition.name, dimensions=by, filters=parsed
        )
        metric_service.audit_cross_tenant_read(ctx.db, ctx.authorized.ctx, tenant.id, definition.name)
        for row in result.rows:
            value = row[definition.name]
            out.append(
                MetricValue(
                    metric=definition.name,
                    version=result.version,
                    format=result.format,
                    dimensions=[
                        DimensionValue(name=d, value=None if row[d] is None else str(row[d]))
                        for d in result.dimensions
                    ],
                    value=None if value is None else float(value),
                )
            )
    return out


# ------------------------------------------------------------------------------------------------ query


@strawberry.type
class Query:
    @strawberry.field(description="The caller (auth:whoami, as GET /auth/whoami).")
    async def me(self, info: GatewayInfo) -> Me:
        def work(ctx: GatewayContext) -> Me:
            ctx.on_global("auth:whoami")
            p = ctx.principal
            return Me(
                subject=p.subject,
                role=p.role,
                tenant_id=p.tenant_id,
                tenant_path=p.tenant_path,
                via=p.via,
                is_platform=p.is_platform,
            )

        return await resolve(info, work)

    @strawberry.field(description="Tenants the caller can see, by path (tenants:read, as GET /tenants).")
    async def tenants(
        self,
        info: GatewayInfo,
        kind: str | None = None,
        parent_id: str | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[TenantNode]:
        def work(ctx: GatewayContext) -> list[TenantNode]:
            size, skip = page(limit, offset, most=500)
            ctx.on_global("tenants:read")
            rows = tenants.list_tenants(
                ctx.db, ctx.principal, kind=kind, parent_id=parent_id, limit=size, offset=skip
            )
            return [TenantNode.of(t) for t in rows]

        return await resolve(info, work)

    @strawberry.field(
        description="One tenant (tenants:read, as GET /tenants/{id}); NOT_FOUND unless visible."
    )
    async def tenant(self, info: GatewayInfo, id: str) -> TenantNode | None:
        def work(ctx: GatewayContext) -> TenantNode:
            return TenantNode.of(ctx.tenant(id, "tenants:read"))

        return await resolve(info, work)

    @strawberry.field(
        description="One approval request (approvals:read or audit:read, as GET /approvals/{id})."
    )
    async def approval(self, info: GatewayInfo, id: str) -> ApprovalNode | None:
        def work(ctx: GatewayContext) -> ApprovalNode:
            row = ctx.db.execute(
                tenants.scoped(
                    select(ApprovalRequest).where(ApprovalRequest.id == id),
                    ApprovalRequest.tenant_id,
                    ctx.principal,
                )
            ).scalar_one_or_none()
            tenant = tenants.get_tenant(ctx.db, ctx.principal, row.tenant_id) if row is not None else None
            if row is None or tenant is None:
                raise NotFound(f"approval {id!r} not found")
            require_any(ctx.authorized.ctx, ("approvals:read", "audit:read"), tenant)
            return ApprovalNode.of(row)

        return await resolve(info, work)

    @strawberry.field(description="Every plan (plans:read, as GET /plans).")
    async def plans(self, info: GatewayInfo) -> list[Plan]:
        def work(ctx: GatewayContext) -> list[Plan]:
            ctx.on_global("plans:read", "plan")
            return [_fields(Plan, p) for p in ctx.db.execute(select(PlanRow).order_by(PlanRow.id)).scalars()]

        return await resolve(info, work)

    @strawberry.field(description="Published module versions (registry:read, as GET /registry/modules).")
    async def modules(
        self,
        info: GatewayInfo,
        name: str | None = None,
        latest: bool = False,
        limit: int = 100,
        offset: int = 0,
    ) -> list[Module]:
        def work(ctx: GatewayContext) -> list[Module]:
            size, skip = page(limit, offset)
            ctx.on_global("registry:read", "module")
            rows = registry.list_modules(ctx.db, name=name, latest=latest)
            return [_fields(Module, r) for r in rows[skip : skip + size]]

        return await resolve(info, work)

    @strawberry.field(description="The policy as an OPA data document (authz:policy, as GET /authz/policy).")
    async def policy(self, info: GatewayInfo) -> JSON:
        def work(ctx: GatewayContext) -> JSON:
            ctx.on_global("authz:policy", "policy")
            return cast(JSON, export_data())

        return await resolve(info, work)
