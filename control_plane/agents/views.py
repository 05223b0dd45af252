"""Routes of the agent hub: ask an agent for a tenant; list the prompt registry."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request
from pydantic import BaseModel, ConfigDict, Field

from control_plane.agents.service import hub_for
from control_plane.deps import Authorized, AuthorizeGlobal, AuthorizeTenant, PageDep
from control_plane.errors import ApiError, BadRequest, Forbidden, Invalid, TooManyRequests, responses
from control_plane.request_model import RequestModel
from lakehouse.agents.citations import UncitedAnswer
from lakehouse.agents.data import AgentData, LakeData
from lakehouse.agents.hub import MAX_QUESTION_CHARS, AskResult
from lakehouse.agents.prompts import AGENTS, PromptNotApproved, all_prompts
from lakehouse.agents.provider import BedrockConverse, ModelError, ModelProvider
from lakehouse.errors import BadInput, Refused
from lakehouse.guardrails import QuotaExceeded

router = APIRouter(tags=["agents"])
AUTH = (401, 403, 404, 422)
AgentName = Annotated[
    str, Path(pattern=f"^({'|'.join(AGENTS)})$", description="advisor, ops, support or doc")
]


class BadGateway(ApiError):
    status = 502


class AskSpec(RequestModel):
    """A question for an agent."""

    question: str = Field(min_length=1, max_length=MAX_QUESTION_CHARS)


class ToolCallOut(BaseModel):
    name: str
    arguments: dict[str, Any]
    outcome: str
    reasons: list[str]
    refs: list[str]


class AnswerOut(BaseModel):
    """An agent's answer: text, the citations that resolved, those removed, the tool calls and the tokens."""

    model_config = ConfigDict(from_attributes=True)

    tenant_id: str
    agent: str
    prompt_id: str
    prompt_version: str
    model: str
    run_id: str
    answer: str
    citations: list[str]
    removed_citations: list[str]
    tool_calls: list[ToolCallOut]
    input_tokens: int
    output_tokens: int


class PromptOut(BaseModel):
    id: str
    version: str
    agent: str
    owner: dict[str, Any]
    model: str
    evaluation_set: str
    approval: dict[str, Any]
    tools: list[str]
    max_tokens: int
    max_turns: int


def _provider(request: Request) -> ModelProvider:
    """The model provider: the one the app was given (tests, the demo) or Bedrock from the environment."""
    provider: ModelProvider | None = getattr(request.app.state, "agent_provider", None)
    if provider is None:
        provider = request.app.state.agent_provider = BedrockConverse()
    return provider


def _data(request: Request) -> AgentData:
    data: AgentData | None = getattr(request.app.state, "agent_data", None)
    if data is None:
        data = request.app.state.agent_data = LakeData()
    return data


def _seconds_to_midnight() -> float:
    """When the daily token quota resets (00:00 UTC); the monthly budget resets later, on the 1st."""
    now = datetime.now(UTC)
    return (datetime.combine(now.date() + timedelta(days=1), time(), UTC) - now).total_seconds()


@router.post(
    "/tenants/{tenant_id}/agents/{agent}/ask",
    response_model=AnswerOut,
    responses=responses(*AUTH, 400, 429, 502),
)
def ask(
    agent: AgentName,
    spec: AskSpec,
    request: Request,
    auth: Annotated[Authorized, Depends(AuthorizeTenant("data:read"))],
) -> AnswerOut:
    """Ask an agent; every tool call is decided by the PDP and audited, and the answer's citations resolve."""
    assert auth.tenant is not None
    auth.db.commit()  # the hub writes audit entries and ledger rows in its own transactions
    hub = hub_for(
        auth.state.db,
        auth.ctx.principal,
        auth.tenant,
        environment=auth.ctx.environment,
        provider=_provider(request),
        data=_data(request),
        request_id=auth.ctx.request_id,
    )
    try:
        result: AskResult = hub.ask(auth.tenant.id, agent, spec.question)
    except QuotaExceeded as exc:
        raise TooManyRequests(str(exc), retry_after=_seconds_to_midnight()) from None
    except (PromptNotApproved, UncitedAnswer) as exc:
        raise Invalid(str(exc), problems=[{"loc": ["body", "question"], "msg": str(exc)}]) from None
    except Refused as exc:
        raise Forbidden(str(exc), reasons=[str(exc)]) from None
    except BadInput as exc:
        raise BadRequest(str(exc)) from None
    except ModelError as exc:
        raise BadGateway(str(exc)) from None
    return AnswerOut.model_validate(result.as_dict())


@router.get("/agents/prompts", response_model=list[PromptOut], responses=responses(401, 403, 422))
def prompts(
    auth: Annotated[Authorized, Depends(AuthorizeGlobal("registry:read", "module"))],
    page: PageDep,
) -> list[PromptOut]:
    """The shipped prompt versions with their owner, model, evaluation set and approval status (one page)."""
    shipped = all_prompts()[page.offset : page.offset + page.limit]
    return [PromptOut(**p.as_dict()) for p in shipped]
