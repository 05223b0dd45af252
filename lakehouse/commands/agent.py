"""``lakehouse agent``: ask the partner advisor, ops, support or doc agent; list the prompt registry.

The CLI wires the control plane in (the PDP, the audit chain, approvals, quotas and the cost ledger) and the model
provider: Amazon Bedrock Converse with standard AWS configuration (``AWS_ENDPOINT_URL_BEDROCK_RUNTIME`` points it
at a running emulator), or ``--sandbox`` to start the Bedrock Runtime emulator of the dev extra for this call.
"""

from __future__ import annotations

import getpass
import json
import os
from contextlib import ExitStack
from enum import Enum
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

agent_app = typer.Typer(
    help="Agents over the tenant's governed data: ask, list prompts.", no_args_is_help=True
)
console = Console()


class Agent(str, Enum):
    advisor = "advisor"
    ops = "ops"
    support = "support"
    doc = "doc"


class Format(str, Enum):
    text = "text"
    json = "json"


def sandbox_provider(stack: ExitStack) -> Any:
    """A ``BedrockConverse`` on the Bedrock Runtime emulator, started for the life of ``stack``."""
    import boto3

    from lakehouse.agents.provider import BedrockConverse
    from lakehouse.commands import _emulators

    emulator = _emulators.load("sandboxes.bedrock")
    server = emulator.serve_in_thread()
    stack.callback(server.stop)
    return BedrockConverse(boto3.client("bedrock-runtime", **server.credentials()))


def print_answer(result: Any) -> None:
    """The answer, then its citations and tool calls."""
    console.print(result.answer, highlight=False, soft_wrap=True, markup=False)
    table = Table(title=f"{result.agent} · {result.prompt_id}@{result.prompt_version} · {result.model}")
    for column in ("tool", "outcome", "rows cited", "reasons"):
        table.add_column(column)
    for call in result.tool_calls:
        table.add_row(call.name, call.outcome, str(len(call.refs)), "; ".join(call.reasons))
    console.print(table)
    console.print(f"citations: {', '.join(result.citations) or 'none'}", highlight=False, markup=False)
    if result.removed_citations:
        console.print(f"removed (unresolvable): {', '.join(result.removed_citations)}", markup=False)
    console.print(
        f"tokens: {result.input_tokens} in, {result.output_tokens} out (charged to the cost ledger)"
    )


@agent_app.command("ask")
def ask(
    question: Annotated[str, typer.Argument(help="The question, in plain words")],
    tenant: Annotated[str, typer.Option("--tenant", help="Tenant whose data the agent reads")],
    agent: Annotated[Agent, typer.Option("--agent", help="Which agent answers")] = Agent.advisor,
    as_user: Annotated[
        str | None,
        typer.Option(
            "--as", help="A user of the tenant in the control plane (default: the local operator as analyst)"
        ),
    ] = None,
    sandbox: Annotated[
        bool, typer.Option("--sandbox", help="Answer with the local Bedrock Runtime emulator")
    ] = False,
    output: Annotated[Format, typer.Option("--format", help="text or json")] = Format.text,
) -> None:
    """Ask an agent; every tool call is decided by the policy and audited, and citations are verified."""
    from control_plane.agents.local import local_hub
    from lakehouse.agents.data import LakeData
    from lakehouse.agents.provider import BedrockConverse
    from lakehouse.tenancy import validate_tenant_id

    validate_tenant_id(tenant)
    with ExitStack() as stack:
        provider = sandbox_provider(stack) if sandbox else BedrockConverse()
        operator = os.environ.get("LAKEHOUSE_USER") or getpass.getuser()
        hub = local_hub(tenant, user_id=as_user, operator=operator, provider=provider, data=LakeData())
        result = hub.ask(tenant, agent.value, question)
    if output is Format.json:
        print(json.dumps(result.as_dict(), indent=2, default=str))
    else:
        print_answer(result)


@agent_app.command("prompts")
def prompts() -> None:
    """The prompt registry: every prompt version with owner, model, evaluation set and approval status."""
    from lakehouse.agents.prompts import all_prompts

    table = Table(title="Agent prompts")
    for column in ("agent", "prompt", "version", "model", "owner", "approval", "evaluation set"):
        table.add_column(column)
    for p in all_prompts():
        table.add_row(p.agent, p.id, p.version, p.model, p.owner_team, p.approval_status, p.evaluation_set)
    console.print(table)


def register(app: typer.Typer) -> None:
    app.add_typer(agent_app, name="agent")
