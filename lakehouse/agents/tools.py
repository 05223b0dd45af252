"""The tools agents may call: tenant-scoped reads over silver, gold, platinum and ops, retrieval, KG lookups,
the platform's docs, and one action that only ever becomes an approval request.

Each tool declares what the policy decision point is asked before it runs (``action`` and the ``resource`` it
touches: table and highest column classification), whether it only reads (``kind = "read"``) or asks for a change
(``kind = "action"``), and a JSON Schema of its input (sent to the model as the Converse ``toolSpec``). Every row
a tool returns carries ``ref`` (``layer.table/<key>``, ``doc:<file>#<section>`` or ``catalog:<table>.<column>``),
the citation an answer must use; ``citations.py`` resolves them again after the answer is written.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, Literal, Protocol

from lakehouse.agents.data import AgentData, Row
from lakehouse.agents.retrieval import Bm25Retriever, Document, Hit, Retriever, SemanticSearch
from lakehouse.errors import BadInput
from lakehouse.tenancy import TenantScope

ToolKind = Literal["read", "action"]
OPEN_STAGES = ("Prospect", "Qualified", "Technical Validation", "Business Validation", "Committed")
WON, LOST = "Launched", "Closed Lost"
OPPORTUNITY = "silver.opportunity"
SCORE = "platinum.opportunity_score"
KG_EDGE = "platinum.kg_edge"
OPPORTUNITY_EMBEDDING = "platinum.opportunity_embedding"
OPPORTUNITY_COLUMNS = (
    "opportunity_id",
    "catalog",
    "project_title",
    "project_customer_business_problem",
    "project_customer_use_case",
    "customer_industry",
    "stage",
    "review_status",
    "target_close_date",
    "next_steps",
    "last_modified_at",
    "related_solution_ids",
    "primary_needs_from_aws",
)
# Primary needs from AWS (Partner Central's PrimaryNeedsFromAws values) -> the next best action it implies
AWS_NEED_ACTIONS: dict[str, str] = {
    "Co-Sell - Architectural Validation": "ask the AWS account team for a Solutions Architect to validate the architecture",
    "Co-Sell - Business Presentation": "schedule a joint business presentation with the AWS account manager",
    "Co-Sell - Competitive Information": "request AWS competitive positioning for this deal",
    "Co-Sell - Pricing Assistance": "ask AWS for pricing assistance (discount or MAP/credits eligibility)",
    "Co-Sell - Technical Consultation": "book a technical consultation with an AWS specialist",
    "Co-Sell - Total Cost of Ownership Evaluation": "request an AWS TCO evaluation for the customer",
    "Co-Sell - Deal Support": "ask the AWS partner development manager for deal support",
    "Co-Sell - Support for Public Tender / RFx": "ask AWS for public-sector RFx support",
}
STAGE_ACTIONS: dict[str, str] = {
    "Prospect": "qualify the opportunity: confirm budget, use case and timeline with the customer",
    "Qualified": "run a technical validation workshop and submit the opportunity for AWS review",
    "Technical Validation": "complete the proof of concept and record the technical win",
    "Business Validation": "agree commercial terms and confirm the customer's decision maker",
    "Committed": "prepare the launch plan and confirm the expected monthly spend",
}


class ApprovalRequester(Protocol):
    """Files an approval request through the control plane's approvals flow (nothing executes without one)."""

    def request(
        self, tenant_id: str, *, action: str, payload: Mapping[str, Any], target: str, reason: str
    ) -> str:
        """Create a pending approval request; returns its id."""
        ...


@dataclass(frozen=True)
class DocChunk:
    """One section of a platform document."""

    ref: str
    title: str
    text: str


class DocsCorpus:
    """The platform's markdown docs, split into sections at ``#`` headings (the doc agent's knowledge)."""

    def __init__(self, root: Path | None = None) -> None:
        self.root = root or default_docs_root()
        self._chunks: list[DocChunk] | None = None

    def chunks(self) -> list[DocChunk]:
        """Every section of every ``*.md`` under the root (plus the README beside it), in file order."""
        if self._chunks is None:
            files = sorted(self.root.glob("*.md")) if self.root.is_dir() else []
            readme = self.root.parent / "README.md"
            if readme.is_file():
                files.append(readme)
            chunks: list[DocChunk] = []
            for path in files:
                name = f"docs/{path.name}" if path.parent == self.root else path.name
                chunks += _sections(name, path.read_text(encoding="utf-8"))
            self._chunks = chunks
        return self._chunks

    def get(self, ref: str) -> DocChunk | None:
        """The section a ``doc:`` citation names."""
        return next((c for c in self.chunks() if c.ref == ref), None)


def default_docs_root() -> Path:
    """The project's ``docs/`` as the platinum layer finds it (``LAKEHOUSE_PROJECT_DOCS`` overrides it); a path
    that does not exist (a Glue wheel ships no docs) makes an empty corpus, and the doc agent says so."""
    from lakehouse.platinum.docs import PROJECT_DOCS_ENV, project_docs_dir

    found = project_docs_dir()
    return (
        found if found is not None else Path(f"<{PROJECT_DOCS_ENV} not set and no docs/ beside the package>")
    )


def slug(title: str) -> str:
    """GitHub's heading anchor: lower case, punctuation dropped, spaces to hyphens."""
    return re.sub(r"[^a-z0-9 _-]", "", title.strip().lower()).replace(" ", "-")


def _sections(name: str, text: str) -> list[DocChunk]:
    out: list[DocChunk] = []
    title, lines = name, list[str]()
    for line in [*text.splitlines(), "# <end>"]:
        heading = re.match(r"^#{1,4} (.+)$", line)
        if heading:
            body = "\n".join(lines).strip()
            if body:
                out.append(DocChunk(f"doc:{name}#{slug(title)}", title, body))
            title, lines = heading.group(1).strip(), []
        else:
            lines.append(line)
    return out


@dataclass
class ToolContext:
    """What a tool may use: the asking tenant's scope and the read-only data behind it."""

    scope: TenantScope
    data: AgentData
    retriever: Retriever = field(default_factory=Bm25Retriever)
    docs: DocsCorpus = field(default_factory=DocsCorpus)
    approvals: ApprovalRequester | None = None
    today: date = field(default_factory=lambda: datetime.now(UTC).date())
    semantic: SemanticSearch | None = None

    @property
    def tenant_id(self) -> str:
        return self.scope.require_single("an agent tool")

    def opportunities(self) -> list[Row]:
        return self.data.rows(OPPORTUNITY, self.scope, OPPORTUNITY_COLUMNS)

    def scores(self) -> dict[str, float]:
        """Win probabilities of the tenant's open opportunities (platinum.opportunity_score; empty if none)."""
        rows = self.data.rows(SCORE, self.scope, ["opportunity_id", "win_probability"])
        return {
            r["opportunity_id"]: float(r["win_probability"])
            for r in rows
            if r.get("win_probability") is not None
        }

    def current_edges(self) -> list[Row]:
        """The knowledge graph's edges that hold now (platinum.kg_edge, valid_to null)."""
        columns = ["src_type", "src_id", "edge_type", "dst_type", "dst_id", "valid_to"]
        return [r for r in self.data.rows(KG_EDGE, self.scope, columns) if r.get("valid_to") is None]


@dataclass(frozen=True)
class ToolOutput:
    """What a tool hands back to the model: a heading and rows, each with its citation ``ref``."""

    heading: str
    rows: list[Row]

    def as_json(self) -> dict[str, Any]:
        return {"heading": self.heading, "rows": self.rows}


@dataclass(frozen=True)
class Tool:
    """A tool: name, description and input schema for the model; PDP action and resource; the function."""

    name: str
    description: str
    input_schema: dict[str, Any]
    kind: ToolKind
    action: str
    tables: tuple[str, ...]
    classification: str
    run: Callable[[ToolContext, dict[str, Any]], ToolOutput]
    alternatives: tuple[
        str, ...
    ] = ()  # other actions that also allow the call (as the approvals API accepts)

    def spec(self) -> dict[str, Any]:
        """The Converse ``toolSpec``."""
        return {
            "name": self.name,
            "description": self.description,
            "inputSchema": {"json": self.input_schema},
        }

    def resource(self, tenant_id: str) -> dict[str, Any]:
        """The PDP resource of a call in ``tenant_id``."""
        if self.tables == ("docs",):  # the platform's own documentation: a platform-wide, public resource
            return {"type": "platform", "id": "docs", "tenant_id": None, "classification": "public"}
        kind = "approval" if self.kind == "action" else "dataset"
        return {
            "type": kind,
            "id": ",".join(self.tables),
            "tenant_id": tenant_id,
            "classification": self.classification,
        }


def ref(table: str, *key: Any) -> str:
    """The citation of a table row: ``layer.table/<key parts joined by |>``."""
    return f"{table}/{'|'.join(str(k) for k in key)}"


def _schema(**props: dict[str, Any]) -> dict[str, Any]:
    return {"type": "object", "properties": props, "additionalProperties": False}


def _int(args: Mapping[str, Any], name: str, default: int, high: int) -> int:
    value = args.get(name, default)
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= high:
        raise BadInput(f"{name} must be an integer from 1 to {high}, got {value!r}")
    return value


def _text(args: Mapping[str, Any], name: str, *, required: bool = True, limit: int = 2000) -> str | None:
    value = args.get(name)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value.strip() or len(value) > limit:
        raise BadInput(f"{name} must be a non-empty string of at most {limit} characters")
    return value.strip()


def _date(value: Any) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError:
        return None


def _title(row: Row) -> str:
    return str(row.get("project_title") or "untitled")


# ------------------------------------------------------------------------------------------- advisor


def attention_reasons(row: Row, today: date) -> list[str]:
    """Why an open opportunity needs attention (empty: it does not)."""
    if row.get("stage") not in OPEN_STAGES:
        return []
    reasons: list[str] = []
    close = _date(row.get("target_close_date"))
    if close is not None and close < today:
        reasons.append(f"target close date {close.isoformat()} has passed")
    elif close is not None and close <= today + timedelta(days=30):
        reasons.append(f"closes within 30 days ({close.isoformat()})")
    if row.get("review_status") in ("Action Required", "Rejected"):
        reasons.append(f"AWS review status is {row['review_status']}")
    if not (row.get("next_steps") or "").strip():
        reasons.append("no next steps recorded")
    touched = _date(row.get("last_modified_at"))
    if touched is not None and touched < today - timedelta(days=45):
        reasons.append(f"not updated since {touched.isoformat()}")
    return reasons


def _attention(ctx: ToolContext, args: dict[str, Any]) -> ToolOutput:
    limit = _int(args, "limit", 5, 50)
    probabilities = ctx.scores()
    scored = []
    for row in ctx.opportunities():
        reasons = attention_reasons(row, ctx.today)
        p = probabilities.get(row["opportunity_id"])
        if reasons and p is not None:
            reasons = [*reasons, f"win probability {p:.0%} (platinum.opportunity_score)"]
        if reasons:
            scored.append(
                (
                    -len(reasons),
                    str(row.get("target_close_date") or "9999"),
                    row["opportunity_id"],
                    row,
                    reasons,
                )
            )
    scored.sort(key=lambda s: s[:3])
    rows = [
        {
            "ref": ref(OPPORTUNITY, row["opportunity_id"]),
            "opportunity_id": row["opportunity_id"],
            "stage": row.get("stage"),
            "reasons": reasons,
            "win_probability": probabilities.get(row["opportunity_id"]),
            "summary": f"{row['opportunity_id']} '{_title(row)}' ({row.get('stage')}): " + "; ".join(reasons),
        }
        for *_, row, reasons in scored[:limit]
    ]
    return ToolOutput("Opportunities needing attention", rows)


def _by_id(ctx: ToolContext, opportunity_id: str | None) -> Row | None:
    rows = ctx.opportunities()
    if opportunity_id is None:
        ranked = sorted(
            (r for r in rows if attention_reasons(r, ctx.today)),
            key=lambda r: (-len(attention_reasons(r, ctx.today)), r["opportunity_id"]),
        )
        return ranked[0] if ranked else None
    return next((r for r in rows if r["opportunity_id"] == opportunity_id), None)


def _similar_won(ctx: ToolContext, args: dict[str, Any]) -> ToolOutput:
    opportunity_id = _text(args, "opportunity_id", required=False, limit=64)
    anchor = _by_id(ctx, opportunity_id)
    if anchor is None:
        return ToolOutput(
            f"Similar won deals: no opportunity {opportunity_id or 'needing attention'} found", []
        )
    graph = _graph(ctx)
    if graph:
        stage_of = {k: v.get("in_stage", {None}) for k, v in graph.items()}
        solutions_of = {k: v.get("uses_solution", set()) for k, v in graph.items()}
        industry_of = {k: v.get("in_industry", set()) for k, v in graph.items()}
        won = [r for r in ctx.opportunities() if WON in stage_of.get(r["opportunity_id"], set())]
        source = "knowledge graph"
    else:  # no platinum.kg_edge for the tenant yet: the same relations straight from silver
        solutions_of = {
            r["opportunity_id"]: set(r.get("related_solution_ids") or []) for r in ctx.opportunities()
        }
        industry_of = {
            r["opportunity_id"]: {str(r["customer_industry"])} if r.get("customer_industry") else set()
            for r in ctx.opportunities()
        }
        won = [r for r in ctx.opportunities() if r.get("stage") == WON]
        source = "silver"
    solutions = solutions_of.get(anchor["opportunity_id"], set())
    industries = industry_of.get(anchor["opportunity_id"], set())
    industry = next(iter(sorted(industries)), None)
    matches = []
    for row in won:
        if row["opportunity_id"] == anchor["opportunity_id"]:
            continue
        shared = sorted(solutions & solutions_of.get(row["opportunity_id"], set()))
        same_industry = bool(industries & industry_of.get(row["opportunity_id"], set()))
        if shared or same_industry:
            matches.append(
                (-(len(shared) * 2 + same_industry), row["opportunity_id"], row, shared, same_industry)
            )
    matches.sort(key=lambda m: m[:2])
    rows = []
    for *_, row, shared, same_industry in matches[: _int(args, "limit", 5, 20)]:
        why = ([f"shares solution {', '.join(shared)}"] if shared else []) + (
            [f"same industry ({industry})"] if same_industry else []
        )
        rows.append(
            {
                "ref": ref(OPPORTUNITY, row["opportunity_id"]),
                "opportunity_id": row["opportunity_id"],
                "summary": f"won deal {row['opportunity_id']} '{_title(row)}' — {' and '.join(why)} "
                f"with {anchor['opportunity_id']}",
            }
        )
    return ToolOutput(f"Won deals similar to {anchor['opportunity_id']} '{_title(anchor)}' ({source})", rows)


def _graph(ctx: ToolContext) -> dict[str, dict[str, set[str]]]:
    """opportunity id -> edge type -> destination ids, from the current knowledge-graph edges."""
    graph: dict[str, dict[str, set[str]]] = {}
    for edge in ctx.current_edges():
        if edge.get("src_type") == "opportunity":
            graph.setdefault(edge["src_id"], {}).setdefault(edge["edge_type"], set()).add(edge["dst_id"])
    return graph


def _next_best(ctx: ToolContext, args: dict[str, Any]) -> ToolOutput:
    opportunity_id = _text(args, "opportunity_id", required=False, limit=64)
    anchor = _by_id(ctx, opportunity_id)
    if anchor is None:
        return ToolOutput(
            f"Next best actions: no opportunity {opportunity_id or 'needing attention'} found", []
        )
    actions: list[str] = []
    if anchor.get("review_status") in ("Action Required", "Rejected"):
        actions.append("answer the AWS reviewer's comments and resubmit the opportunity")
    stage_action = STAGE_ACTIONS.get(str(anchor.get("stage")))
    if stage_action:
        actions.append(stage_action)
    for need in anchor.get("primary_needs_from_aws") or []:
        if need in AWS_NEED_ACTIONS:
            actions.append(AWS_NEED_ACTIONS[need])
    close = _date(anchor.get("target_close_date"))
    if close is not None and close < ctx.today and anchor.get("stage") in OPEN_STAGES:
        actions.append("update the target close date (it has passed)")
    citation = ref(OPPORTUNITY, anchor["opportunity_id"])
    rows = [
        {
            "ref": citation,
            "opportunity_id": anchor["opportunity_id"],
            "summary": f"{anchor['opportunity_id']}: {a}",
        }
        for a in actions
    ]
    return ToolOutput(f"Next best actions for {anchor['opportunity_id']} '{_title(anchor)}'", rows)


def opportunity_text(row: Row) -> str:
    """The text an opportunity is retrieved by (non-PII, cleared columns only)."""
    parts = [
        row.get("project_title"),
        row.get("project_customer_business_problem"),
        row.get("project_customer_use_case"),
        row.get("customer_industry"),
        row.get("stage"),
        row.get("next_steps"),
    ]
    return " ".join(str(p) for p in parts if p)


def _search_opportunities(ctx: ToolContext, args: dict[str, Any]) -> ToolOutput:
    query = _text(args, "query", limit=2000)
    assert query is not None
    rows = ctx.opportunities()
    limit = _int(args, "limit", 5, 20)
    by_ref = {ref(OPPORTUNITY, r["opportunity_id"]): r for r in rows}
    hits = _semantic_hits(ctx, query, limit, by_ref)
    method = "vector index" if hits else "BM25"
    if not hits:
        docs = [Document(ref(OPPORTUNITY, r["opportunity_id"]), opportunity_text(r)) for r in rows]
        hits = ctx.retriever.search(query, docs, limit)
    out = []
    for hit in hits:
        row = by_ref[hit.document.ref]
        out.append(
            {
                "ref": hit.document.ref,
                "opportunity_id": row["opportunity_id"],
                "score": round(hit.score, 4),
                "description": str(row.get("project_customer_business_problem") or "")[:400],
                "summary": f"{row['opportunity_id']} '{_title(row)}' ({row.get('stage')}, "
                f"{row.get('customer_industry') or 'industry unknown'})",
            }
        )
    return ToolOutput(f"Opportunities matching the question ({method})", out)


def _semantic_hits(ctx: ToolContext, query: str, limit: int, by_ref: Mapping[str, Row]) -> list[Hit]:
    """Hits from the tenant's platinum vector index, when it exists and was built with the search's embedder;
    only ids of the tenant's own current rows are kept (the index is per tenant already)."""
    if ctx.semantic is None:
        return []
    models = {
        r.get("embedding_model") for r in ctx.data.rows(OPPORTUNITY_EMBEDDING, ctx.scope, ["embedding_model"])
    }
    if not models or models != {ctx.semantic.model_id}:
        return []
    found = ctx.semantic.search(ctx.scope, OPPORTUNITY_EMBEDDING.split(".", 1)[1], query, limit)
    hits = []
    for item_id, distance in found:
        key = ref(OPPORTUNITY, item_id)
        if key in by_ref:
            hits.append(Hit(Document(key, opportunity_text(by_ref[key])), 1.0 / (1.0 + distance)))
    return hits


def _request_update(ctx: ToolContext, args: dict[str, Any]) -> ToolOutput:
    opportunity_id = _text(args, "opportunity_id", limit=64)
    next_steps = _text(args, "next_steps", limit=255)
    if ctx.approvals is None:
        raise BadInput("no approvals service is wired in: Partner Central actions cannot be requested here")
    row = next((r for r in ctx.opportunities() if r["opportunity_id"] == opportunity_id), None)
    if row is None:
        raise BadInput(f"opportunity {opportunity_id} does not exist in this tenant")
    payload = {
        "catalog": row.get("catalog") or "Sandbox",
        "opportunity_id": opportunity_id,
        "last_modified_date": row.get("last_modified_at"),
        "changes": {"LifeCycle": {"NextSteps": next_steps}},
    }
    approval_id = ctx.approvals.request(
        ctx.tenant_id,
        action="partner_central.update_opportunity",
        payload=payload,
        target=f"{payload['catalog']}/opportunity/{opportunity_id}",
        reason=f"agent suggestion: set next steps of {opportunity_id}",
    )
    return ToolOutput(
        "Approval requested (nothing changes in Partner Central until an approver approves it)",
        [
            {
                "ref": ref(OPPORTUNITY, opportunity_id),
                "approval_id": approval_id,
                "summary": f"approval {approval_id} requested to set the next steps of {opportunity_id}",
            }
        ],
    )


# ------------------------------------------------------------------------------------------- ops / support

GOLD_METRICS: dict[str, str] = {
    "win_rate": "gold.ace_win_rate",
    "won_count": "gold.ace_win_rate",
    "lost_count": "gold.ace_win_rate",
    "open_count": "gold.ace_win_rate",
    "opportunity_count": "gold.ace_pipeline",
    "expected_monthly_spend_usd": "gold.ace_pipeline",
    "stale_count": "gold.ace_pipeline_health",
    "action_required_count": "gold.ace_pipeline_health",
}


def _latest(rows: list[Row], column: str, limit: int) -> list[Row]:
    return sorted(rows, key=lambda r: str(r.get(column) or ""), reverse=True)[:limit]


def _dq_issues(ctx: ToolContext, args: dict[str, Any]) -> ToolOutput:
    rows = _latest(ctx.data.rows("ops.dq_issue", ctx.scope), "observed_at", _int(args, "limit", 10, 50))
    return ToolOutput(
        "Data quality issues (newest first)",
        [
            {
                "ref": ref("ops.dq_issue", r["run_id"], r["table_name"], r["expectation"]),
                "summary": f"run {r['run_id']}: {r['table_name']} failed '{r['expectation']}' "
                f"({r.get('unexpected_count')} of {r.get('element_count')} rows, action {r.get('action')})",
            }
            for r in rows
        ],
    )


def _ingestion_runs(ctx: ToolContext, args: dict[str, Any]) -> ToolOutput:
    rows = ctx.data.rows("ops.ingestion_run", ctx.scope)
    limit = _int(args, "limit", 5, 50)
    failed_first = sorted(rows, key=lambda r: (r.get("status") == "succeeded", -_ts(r.get("finished_at"))))
    return ToolOutput(
        "Ingestion runs (failed first, newest first)",
        [
            {
                "ref": ref("ops.ingestion_run", r["ingestion_run_id"]),
                "summary": f"ingestion run {r['ingestion_run_id']} ({r.get('source')}) {r.get('status')}: "
                f"{r.get('landed')} landed, {r.get('rejected')} rejected"
                + (f"; error: {str(r['error'])[:200]}" if r.get("error") else ""),
            }
            for r in failed_first[:limit]
        ],
    )


def _ts(value: Any) -> float:
    try:
        return datetime.fromisoformat(str(value)).timestamp()
    except ValueError:
        return 0.0


def _lineage(ctx: ToolContext, args: dict[str, Any]) -> ToolOutput:
    table = _text(args, "table", required=False, limit=128)
    metric = args.get("metric")
    if table is None and isinstance(metric, str) and metric in GOLD_METRICS:
        table = GOLD_METRICS[metric]
    rows = ctx.data.rows("ops.lineage_edge", ctx.scope)
    if table is not None:
        wanted = _upstream(rows, table)
        rows = [r for r in rows if r["output_table"] in wanted]
    latest: dict[tuple[str, str], Row] = {}
    for r in sorted(rows, key=lambda r: str(r.get("recorded_at") or "")):
        latest[(r["input_table"], r["output_table"])] = r
    edges = sorted(latest.values(), key=lambda r: (r["output_table"], r["input_table"]))[
        : _int(args, "limit", 20, 100)
    ]
    return ToolOutput(
        f"Lineage{' of ' + table if table else ''} (latest run per edge)",
        [
            {
                "ref": ref("ops.lineage_edge", r["run_id"], r["input_table"], r["output_table"]),
                "summary": f"{r['output_table']}@v{r.get('output_version')} is built from "
                f"{r['input_table']}@v{r.get('input_version')} by {r['job_name']} (run {r['run_id']})",
            }
            for r in edges
        ],
    )


def _upstream(rows: Sequence[Row], table: str) -> set[str]:
    """``table`` and every table upstream of it."""
    wanted, frontier = {table}, [table]
    while frontier:
        current = frontier.pop()
        for r in rows:
            if r["output_table"] == current and r["input_table"] not in wanted:
                wanted.add(r["input_table"])
                frontier.append(r["input_table"])
    return wanted


def _metric_definition(ctx: ToolContext, args: dict[str, Any]) -> ToolOutput:
    from lakehouse import catalog

    metric = args.get("metric")
    names = [metric] if isinstance(metric, str) and metric in GOLD_METRICS else list(GOLD_METRICS)
    if isinstance(metric, str) and metric not in GOLD_METRICS:
        raise BadInput(f"unknown metric {metric!r}: use one of {', '.join(GOLD_METRICS)}")
    rows = []
    for name in names:
        table = catalog.get(GOLD_METRICS[name])
        definition = _metric(name)
        if definition is not None:
            rows.append(
                {
                    "ref": f"metric:{name}",
                    "summary": f"{definition.label} ({name}, version {definition.version}, owner "
                    f"{definition.owner}): {definition.description} Computed as {definition.expression} over "
                    f"{definition.model}.",
                }
            )
        rows.append(
            {
                "ref": f"catalog:{table.qualified_name}.{name}",
                "summary": f"{name} is a column of {table.qualified_name} ({table.grain}): {table.description}",
            }
        )
        for value in ctx.data.rows(table.qualified_name, ctx.scope):
            key = [value.get(k) for k in table.keys if k != "tenant_id"] or [ctx.tenant_id]
            if value.get(name) is None:
                continue
            where = ", ".join(f"{k}={value.get(k)}" for k in table.keys if k != "tenant_id")
            rows.append(
                {
                    "ref": ref(table.qualified_name, *key),
                    "summary": f"your {name} is {value[name]}" + (f" for {where}" if where else ""),
                }
            )
    return ToolOutput("Metric definitions and your current values", rows[:25])


def _metric(name: str) -> Any:
    """The metric's definition in the metrics registry (``lakehouse.metrics``), None when it defines none."""
    from lakehouse.metrics.errors import UnknownMetric
    from lakehouse.metrics.registry import get_registry

    try:
        return get_registry().get(name)
    except UnknownMetric:
        return None


def _pipeline_metrics(ctx: ToolContext, args: dict[str, Any]) -> ToolOutput:
    rows = []
    for r in ctx.data.rows("gold.ace_win_rate", ctx.scope):
        rows.append(
            {
                "ref": ref("gold.ace_win_rate", ctx.tenant_id),
                "summary": f"win rate {r.get('win_rate')} ({r.get('won_count')} won, {r.get('lost_count')} lost, "
                f"{r.get('open_count')} open)",
            }
        )
    for r in ctx.data.rows("gold.ace_pipeline_health", ctx.scope):
        rows.append(
            {
                "ref": ref("gold.ace_pipeline_health", r.get("review_status")),
                "summary": f"review status {r.get('review_status')}: {r.get('opportunity_count')} opportunities, "
                f"{r.get('stale_count')} stale, as of {r.get('as_of_date')}",
            }
        )
    return ToolOutput("Your pipeline metrics (gold)", rows[: _int(args, "limit", 20, 100)])


# ------------------------------------------------------------------------------------------- docs


def _search_docs(ctx: ToolContext, args: dict[str, Any]) -> ToolOutput:
    query = _text(args, "query", limit=2000)
    assert query is not None
    chunks = ctx.docs.chunks()
    hits = ctx.retriever.search(
        query, [Document(c.ref, f"{c.title}\n{c.text}") for c in chunks], _int(args, "limit", 5, 20)
    )
    by_ref = {c.ref: c for c in chunks}
    return ToolOutput(
        "Platform documentation",
        [
            {
                "ref": h.document.ref,
                "summary": f"{by_ref[h.document.ref].title}: {_first_sentence(by_ref[h.document.ref].text)}",
            }
            for h in hits
        ],
    )


def _first_sentence(text: str) -> str:
    flat = " ".join(line.strip() for line in text.splitlines() if line.strip() and not line.startswith("|"))
    match = re.match(r"(.{20,300}?[.!?])(\s|$)", flat)
    return match.group(1) if match else flat[:300]


# ------------------------------------------------------------------------------------------- registry

_LIMIT = {"limit": {"type": "integer", "minimum": 1, "maximum": 50, "description": "how many rows"}}
_OPP = {"opportunity_id": {"type": "string", "description": "an opportunity id such as O1234 (optional)"}}
_CONF = "confidential"

TOOLS: dict[str, Tool] = {
    t.name: t
    for t in (
        Tool(
            "opportunities_needing_attention",
            "Open opportunities that need attention, with the reasons why.",
            _schema(**_LIMIT),
            "read",
            "data:read",
            (OPPORTUNITY,),
            _CONF,
            _attention,
        ),
        Tool(
            "similar_won_deals",
            "Won deals sharing a solution or industry with an opportunity (knowledge graph).",
            _schema(**_OPP, **_LIMIT),
            "read",
            "data:read",
            (OPPORTUNITY,),
            _CONF,
            _similar_won,
        ),
        Tool(
            "next_best_actions",
            "Next best actions for an opportunity, from its stage, AWS review and needs from AWS.",
            _schema(**_OPP),
            "read",
            "data:read",
            (OPPORTUNITY,),
            _CONF,
            _next_best,
        ),
        Tool(
            "search_opportunities",
            "Retrieve the tenant's opportunities most relevant to a query.",
            _schema(query={"type": "string"}, **_LIMIT),
            "read",
            "data:read",
            (OPPORTUNITY,),
            _CONF,
            _search_opportunities,
        ),
        Tool(
            "request_opportunity_update",
            "Ask for a change of an opportunity's next steps: files an approval request, changes nothing itself.",
            {**_schema(**_OPP, next_steps={"type": "string"}), "required": ["opportunity_id", "next_steps"]},
            "action",
            "approvals:request",
            (OPPORTUNITY,),
            _CONF,
            _request_update,
            ("data:write",),
        ),
        Tool(
            "dq_issues",
            "Data quality issues found by the quality gates, newest first.",
            _schema(**_LIMIT),
            "read",
            "data:read",
            ("ops.dq_issue",),
            "internal",
            _dq_issues,
        ),
        Tool(
            "ingestion_runs",
            "Ingestion runs, failed ones first, with their errors.",
            _schema(**_LIMIT),
            "read",
            "data:read",
            ("ops.ingestion_run",),
            "internal",
            _ingestion_runs,
        ),
        Tool(
            "lineage",
            "Table lineage: which tables (and versions) a table was built from.",
            _schema(table={"type": "string"}, metric={"type": "string"}, **_LIMIT),
            "read",
            "data:read",
            ("ops.lineage_edge",),
            "internal",
            _lineage,
        ),
        Tool(
            "metric_definition",
            "How a gold metric is defined and its current values for the tenant.",
            _schema(metric={"type": "string", "enum": list(GOLD_METRICS)}),
            "read",
            "data:read",
            ("gold.ace_win_rate", "gold.ace_pipeline", "gold.ace_pipeline_health"),
            _CONF,
            _metric_definition,
        ),
        Tool(
            "pipeline_metrics",
            "The tenant's gold pipeline metrics: win rate and pipeline health.",
            _schema(**_LIMIT),
            "read",
            "data:read",
            ("gold.ace_win_rate", "gold.ace_pipeline_health"),
            "internal",
            _pipeline_metrics,
        ),
        Tool(
            "search_docs",
            "Search the platform's documentation.",
            _schema(query={"type": "string"}, **_LIMIT),
            "read",
            "data:read",
            ("docs",),
            "public",
            _search_docs,
        ),
    )
}


def tool(name: str) -> Tool:
    """A tool by name (``BadInput`` naming the known ones otherwise)."""
    try:
        return TOOLS[name]
    except KeyError:
        raise BadInput(f"unknown tool {name!r}; tools: {', '.join(sorted(TOOLS))}") from None


def dumps(output: ToolOutput) -> str:
    """A tool output as compact JSON (what token estimates and logs see)."""
    return json.dumps(output.as_json(), sort_keys=True, default=str)
