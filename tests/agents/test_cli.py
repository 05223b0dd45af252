"""``lakehouse agent ask`` end to end: Delta rows read through lakehouse.io, the emulator, the local control plane."""

from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal

import pytest
from sqlalchemy import select

from control_plane.audit.models import AuditEntry
from control_plane.costs import service as costs
from control_plane.db import DbScope
from lakehouse import io
from lakehouse.cli import main
from lakehouse.partner_central.entities.silver import OPPORTUNITY
from lakehouse.tenancy import TenantScope
from tests.guardrails.conftest import local_cp  # noqa: F401 - fixture

QUESTION = "Which opportunities need attention?"


def write_opportunities(spark, tenant: str, rows: list[dict]) -> None:
    """silver.opportunity rows (every other column null) written through lakehouse.io."""
    full = []
    for values in rows:
        row = dict.fromkeys(OPPORTUNITY.schema.fieldNames())
        row.update(tenant_id=tenant, file_cluster="open-2026-11", **values)
        full.append(row)
    io.append(
        spark, OPPORTUNITY, spark.createDataFrame(full, OPPORTUNITY.schema), TenantScope.for_tenant(tenant)
    )


@pytest.fixture
def opportunities(spark, local_cp):  # noqa: F811
    write_opportunities(
        spark,
        "acme",
        [
            {
                "opportunity_id": "O1001",
                "catalog": "Sandbox",
                "project_title": "Retail lakehouse",
                "stage": "Qualified",
                "target_close_date": date(2026, 10, 1),
                "last_modified_at": datetime(2026, 11, 1),
                "review_status": "Approved",
            },
            {
                "opportunity_id": "O1002",
                "catalog": "Sandbox",
                "project_title": "Genomics",
                "stage": "Launched",
                "target_close_date": date(2026, 9, 1),
                "last_modified_at": datetime(2026, 11, 1),
            },
        ],
    )
    write_opportunities(
        spark,
        "globex",
        [
            {
                "opportunity_id": "O2001",
                "catalog": "Sandbox",
                "project_title": "Retail lakehouse",
                "stage": "Qualified",
                "target_close_date": date(2026, 10, 1),
                "last_modified_at": datetime(2026, 11, 1),
            },
        ],
    )
    return local_cp


@pytest.mark.slow
def test_agent_ask_answers_from_the_tenants_delta_rows_with_citations_audit_and_ledger(opportunities, capsys):
    code = main(["agent", "ask", "--tenant", "acme", "--sandbox", "--format", "json", QUESTION])
    out = capsys.readouterr()
    assert code == 0, out.err
    answer = json.loads(out.out)
    assert answer["citations"] == ["silver.opportunity/O1001"]
    assert "O2001" not in out.out  # globex's look-alike row is never read
    assert [(c["name"], c["outcome"]) for c in answer["tool_calls"]] == [
        ("opportunities_needing_attention", "ok")
    ]
    db = opportunities.db
    with db.session(DbScope.for_tenant("acme")) as session:
        totals = {r["resource"]: r["quantity"] for r in costs.ledger_totals(session, "acme")}
        audited = list(
            session.execute(
                select(AuditEntry.action, AuditEntry.actor)
                .where(AuditEntry.action.like("agent.%"))
                .order_by(AuditEntry.seq)
            ).all()
        )
    assert totals["model_input_tokens"] == Decimal(answer["input_tokens"])
    assert totals["model_output_tokens"] == Decimal(answer["output_tokens"])
    operator = audited[0][1]
    assert operator.startswith("cli:") and [a for a, _ in audited] == ["agent.tool_call", "agent.ask"]


@pytest.mark.slow
def test_agent_ask_as_a_user_and_refusals_exit_4(opportunities, capsys):
    assert main(["agent", "ask", "--tenant", "acme", "--sandbox", "--as", "carol", QUESTION]) == 0
    assert "silver.opportunity/O1001" in capsys.readouterr().out
    assert main(["agent", "ask", "--tenant", "acme", "--sandbox", "--as", "mallory", QUESTION]) == 4
    assert "'mallory' is not an active user of tenant acme" in capsys.readouterr().err
    assert main(["agent", "ask", "--tenant", "initech", "--sandbox", QUESTION]) == 4
    assert "tenant 'initech' is not provisioned" in capsys.readouterr().err
    assert main(["agent", "ask", "--tenant", "acme", "--agent", "spy", "--sandbox", QUESTION]) == 2
