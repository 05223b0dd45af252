"""Agent evaluation: at least 30 questions per agent over the demo tenants; retrieval recall@5 and citation validity.

The question sets are the prompts' evaluation sets (``lakehouse/agents/evals/<agent>.yaml``): templates that
are instantiated over each demo tenant's own rows in the lake (``lakehouse demo`` writes them), each with the rows
that answer it derived from the data here, independently of the agents' tools. Every question is asked through
``AgentHub`` exactly as the CLI asks it (the Bedrock Runtime emulator, the PDP with an analyst of the tenant,
citations re-resolved), with an in-memory audit sink and no quota (the evaluation must not spend a tenant's budget).

Reported per agent:
- recall@5: for each question, |relevant ∩ first 5 rows retrieved| / min(|relevant|, 5), averaged over the
  questions that have relevant rows;
- citation validity: citations that resolved to the tenant's rows / all citations the model wrote (before repair);
- answered: questions answered (not refused), and the share of answers with at least one valid citation.

    python bench/agent_eval.py [--lake-root PATH] [--json]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import UTC, date, datetime, timedelta
from importlib import resources
from typing import Any

import yaml

K = 5


def _date(value: Any) -> date | None:
    try:
        return date.fromisoformat(str(value)[:10]) if value else None
    except ValueError:
        return None


def needs_attention(row: dict[str, Any], today: date) -> bool:
    """Ground truth: an open deal past (or within 30 days of) its close date, under AWS review action, or without
    next steps (stated here from the business rule, not imported from the tool)."""
    if row.get("stage") in ("Launched", "Closed Lost"):
        return False
    close = _date(row.get("target_close_date"))
    return (
        (close is not None and close <= today + timedelta(days=30))
        or row.get("review_status") in ("Action Required", "Rejected")
        or not (row.get("next_steps") or "").strip()
    )


def instantiate(
    agent: str, spec: dict[str, Any], tenant: str, data: Any, docs: list[Any], today: date, offset: int
) -> list[dict[str, Any]]:
    """The questions of one template for one tenant, each with its relevant refs."""
    from lakehouse import catalog
    from lakehouse.agents.tools import GOLD_METRICS, OPPORTUNITY, OPPORTUNITY_COLUMNS
    from lakehouse.tenancy import TenantScope

    scope = TenantScope.for_tenant(tenant)
    opps = sorted(data.rows(OPPORTUNITY, scope, OPPORTUNITY_COLUMNS), key=lambda r: r["opportunity_id"])
    ref = lambda oid: f"{OPPORTUNITY}/{oid}"  # noqa: E731
    kind, count, template = spec["kind"], int(spec["count"]), spec["template"]
    out: list[dict[str, Any]] = []
    if kind == "find_by_title":
        titled = [r for r in opps if r.get("project_title")]
        step = max(1, len(titled) // max(count, 1))
        for r in titled[offset % step :: step][:count]:
            same = {ref(o["opportunity_id"]) for o in opps if o.get("project_title") == r["project_title"]}
            out.append({"question": template.format(title=r["project_title"]), "relevant": sorted(same)})
    elif kind == "attention":
        out.append(
            {
                "question": template,
                "relevant": sorted(ref(r["opportunity_id"]) for r in opps if needs_attention(r, today)),
            }
        )
    elif kind in ("similar_won", "next_best"):
        anchor = next(
            (
                r
                for r in opps
                if r.get("stage") not in ("Launched", "Closed Lost") and r.get("related_solution_ids")
            ),
            None,
        )
        if anchor is not None:
            if kind == "next_best":
                relevant = [ref(anchor["opportunity_id"])]
            else:
                sols, industry = (
                    set(anchor.get("related_solution_ids") or []),
                    anchor.get("customer_industry"),
                )
                relevant = sorted(
                    ref(r["opportunity_id"])
                    for r in opps
                    if r.get("stage") == "Launched"
                    and r["opportunity_id"] != anchor["opportunity_id"]
                    and (
                        sols & set(r.get("related_solution_ids") or [])
                        or (industry and r.get("customer_industry") == industry)
                    )
                )
            out.append(
                {"question": template.format(opportunity_id=anchor["opportunity_id"]), "relevant": relevant}
            )
    elif kind == "dq_issues":
        rows = sorted(data.rows("ops.dq_issue", scope), key=lambda r: str(r.get("observed_at")), reverse=True)
        out.append(
            {
                "question": template,
                "relevant": [
                    f"ops.dq_issue/{r['run_id']}|{r['table_name']}|{r['expectation']}" for r in rows
                ],
            }
        )
    elif kind == "ingestion_runs":
        rows = data.rows("ops.ingestion_run", scope)
        failed = [r for r in rows if r.get("status") != "succeeded"] or rows
        out.append(
            {
                "question": template,
                "relevant": sorted(f"ops.ingestion_run/{r['ingestion_run_id']}" for r in failed),
            }
        )
    elif kind == "lineage":
        rows = data.rows("ops.lineage_edge", scope)
        pairs = {(r["input_table"], r["output_table"]) for r in rows}
        latest = {}
        for r in sorted(rows, key=lambda r: str(r.get("recorded_at"))):
            latest[(r["input_table"], r["output_table"])] = (
                f"ops.lineage_edge/{r['run_id']}|{r['input_table']}|{r['output_table']}"
            )
        out.append({"question": template, "relevant": sorted(latest[p] for p in pairs)})
    elif kind == "metric":
        metric = spec["metric"]
        table = catalog.get(GOLD_METRICS[metric])
        relevant = [f"metric:{metric}", f"catalog:{table.qualified_name}.{metric}"]
        for r in data.rows(table.qualified_name, scope):
            key = [str(r.get(k)) for k in table.keys if k != "tenant_id"] or [tenant]
            if r.get(metric) is not None:
                relevant.append(f"{table.qualified_name}/{'|'.join(key)}")
        out.append({"question": template, "relevant": relevant})
    elif kind == "doc_section":
        for chunk in docs[offset * count : offset * count + count]:
            out.append({"question": template.format(section=chunk.title), "relevant": [chunk.ref]})
    else:
        raise ValueError(f"unknown evaluation kind {kind!r}")
    return out


def recall_at_k(relevant: list[str], retrieved: list[str], k: int = K) -> float | None:
    """|relevant ∩ top-k| / min(|relevant|, k); None when nothing is relevant."""
    if not relevant:
        return None
    return len(set(relevant) & set(retrieved[:k])) / min(len(relevant), k)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--lake-root", help="lake written by `lakehouse demo` (default: the configured lake root)"
    )
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    args = parser.parse_args(argv)
    if args.lake_root:
        import os

        os.environ["LAKEHOUSE_LAKE_ROOT"] = args.lake_root

    import boto3

    from control_plane.agents.service import pdp_decider
    from control_plane.auth.principal import Principal
    from lakehouse import io
    from lakehouse.agents.data import LakeData
    from lakehouse.agents.hub import AgentHub
    from lakehouse.agents.prompts import AGENTS, prompt_for
    from lakehouse.agents.provider import BedrockConverse
    from lakehouse.agents.tools import DocsCorpus
    from lakehouse.errors import LakehouseError
    from lakehouse.guardrails import MemoryAuditSink, NoGuardrails
    from sandboxes.bedrock import serve_in_thread

    if not io.exists("silver.opportunity"):
        print("no silver.opportunity in the lake: run `lakehouse demo` (make run) first", file=sys.stderr)
        return 2
    server = serve_in_thread()
    provider = BedrockConverse(boto3.client("bedrock-runtime", **server.credentials()))
    data, docs = LakeData(), DocsCorpus()
    today = datetime.now(UTC).date()
    report: dict[str, Any] = {}
    started = time.perf_counter()
    try:
        for agent in AGENTS:
            spec = yaml.safe_load(
                (resources.files("lakehouse.agents") / prompt_for(agent).evaluation_set).read_text()
            )
            recalls: list[float] = []
            valid = invalid = answered = grounded = asked = 0
            for t_index, tenant in enumerate(spec["tenants"]):
                principal = Principal(f"eval:{tenant}", "analyst", tenant, f"/{tenant}/", "cli")
                hub = AgentHub(
                    provider=provider,
                    data=data,
                    decide=pdp_decider(principal, f"/{tenant}/", environment="development"),
                    audit=MemoryAuditSink(),
                    quota=NoGuardrails(),
                    actor=principal.subject,
                    docs=docs,
                    today=today,
                )
                for q_spec in spec["questions"]:
                    for item in instantiate(agent, q_spec, tenant, data, docs.chunks(), today, t_index):
                        asked += 1
                        try:
                            result = hub.ask(tenant, agent, item["question"])
                        except LakehouseError:
                            continue
                        answered += 1
                        valid += len(result.citations)
                        invalid += len(result.removed_citations)
                        grounded += bool(result.citations)
                        score = recall_at_k(item["relevant"], result.retrieved)
                        if score is not None:
                            recalls.append(score)
            report[agent] = {
                "questions": asked,
                "answered": answered,
                "with_relevant_rows": len(recalls),
                "recall_at_5": round(sum(recalls) / len(recalls), 3) if recalls else None,
                "citation_validity": round(valid / (valid + invalid), 3) if valid + invalid else None,
                "answers_with_citations": round(grounded / answered, 3) if answered else None,
            }
    finally:
        server.stop()
    report["_seconds"] = round(time.perf_counter() - started, 1)
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print(
            f"{'agent':<8} {'questions':>9} {'answered':>8} {'w/ rel':>6} {'recall@5':>8} {'cit.valid':>9} {'cited':>6}"
        )
        for agent in AGENTS:
            r = report[agent]
            print(
                f"{agent:<8} {r['questions']:>9} {r['answered']:>8} {r['with_relevant_rows']:>6} {r['recall_at_5']!s:>8} "
                f"{r['citation_validity']!s:>9} {r['answers_with_citations']!s:>6}"
            )
        print(f"({report['_seconds']} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
