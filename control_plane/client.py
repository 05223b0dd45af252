"""A typed HTTP client of the control-plane API, for processes that must not hold its database or secrets.

The dashboards and the CLI (where it acts remotely) use this module instead of the control plane's internals:
it needs only the API's URL and a credential (an API key ``lh.…`` or a bearer token), and the API does the
authentication (revocation, expiry, rotation), the policy decisions and the audit writes. It imports nothing
else from ``control_plane``, so a process that imports it loads no database, policy or settings code; the
response models below mirror the API's answers and ignore fields they do not know, so the server may add some.

httpx (rather than urllib) gives a thread-safe connection pool shared by all Streamlit sessions, timeouts per
phase and connect retries.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Literal, Self, TypeVar

import httpx
from pydantic import BaseModel, ConfigDict, TypeAdapter, ValidationError

URL_ENV = "LAKEHOUSE_CONTROL_PLANE_URL"
CREDENTIAL_ENV = "LAKEHOUSE_CONTROL_PLANE_CREDENTIAL"
API_KEY_PREFIX = "lh."
DEFAULT_TIMEOUT_SECONDS = 10.0

Classification = Literal["public", "internal", "confidential", "pii"]


# ------------------------------------------------------------------------------------------------- errors


class ControlPlaneError(Exception):
    """A call to the control plane failed; ``status`` is the HTTP status (None when no answer came)."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        detail: str | None = None,
        reasons: list[str] | None = None,
        request_id: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.detail = detail or message
        self.reasons = reasons or []
        self.request_id = request_id


class ControlPlaneUnavailable(ControlPlaneError):
    """No usable answer: the API is unreachable, timed out, answered 5xx or with something that is not its API."""


class AuthenticationFailed(ControlPlaneError):
    """401: the credential is missing, malformed, unknown, revoked or expired."""


class PermissionDenied(ControlPlaneError):
    """403: the policy refused the call (``reasons`` says why)."""


class NotFound(ControlPlaneError):
    """404: no such resource visible to the caller."""


class RequestRejected(ControlPlaneError):
    """Another 4xx: the request itself was wrong (bad input, missing reason, conflict)."""


class GraphQLFailed(ControlPlaneError):
    """The GraphQL gateway answered with errors: ``code`` is the first error's ``extensions.code`` (FORBIDDEN,
    NOT_FOUND, UNAUTHENTICATED, BAD_USER_INPUT, QUERY_TOO_COSTLY, ...), ``errors`` all of them and ``data``
    whatever did resolve (GraphQL answers partial results)."""

    def __init__(
        self, message: str, *, code: str | None, errors: list[dict[str, Any]], data: Any, **kwargs: Any
    ) -> None:
        super().__init__(message, **kwargs)
        self.code = code
        self.errors = errors
        self.data = data


# --------------------------------------------------------------------------------------------- responses


class _Answer(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class Health(_Answer):
    """``GET /health``."""

    status: str
    database: str


class WhoAmI(_Answer):
    """``GET /auth/whoami``: who the credential says the caller is."""

    subject: str
    role: str
    tenant_id: str | None
    tenant_path: str | None
    via: str


class TenantInfo(_Answer):
    """One tenant of ``GET /tenants``."""

    id: str
    kind: str
    parent_id: str | None = None
    path: str
    name: str
    status: str | None = None


class ReadableTenant(_Answer):
    """A tenant the policy lets the caller act on, with the highest data classification it allows."""

    id: str
    name: str
    path: str
    kind: str
    clearance: Classification


class DataAccess(_Answer):
    """``GET /authz/data-access``: the caller and every tenant on which the policy allows it ``action``."""

    subject: str
    role: str
    tenant_id: str | None
    tenant_path: str | None
    via: str
    is_platform: bool
    action: str
    environment: str
    tenants: list[ReadableTenant]


class DashboardViewRecorded(_Answer):
    """``POST /tenants/{id}/audit/dashboard-views``: whether the look was audited, and where in its chain."""

    tenant_id: str
    recorded: bool
    action: str
    seq: int | None = None


class Token(_Answer):
    """``POST /auth/token``."""

    access_token: str
    token_type: str
    expires_in: int


class Decision(_Answer):
    """The result part of ``POST /authz/decide``."""

    allow: bool
    reasons: list[str]


class ConnectorInfo(_Answer):
    """A tenant's linked-account role for one AWS service (``GET /tenants/{id}/connectors``)."""

    id: str
    tenant_id: str
    service: str
    aws_account_id: str
    role_arn: str
    status: str
    created_at: datetime
    updated_at: datetime
    last_verified_at: datetime | None = None
    last_error: str | None = None


class ConnectorIssued(ConnectorInfo):
    """``POST /tenants/{id}/connectors``: the new connector and its ExternalId (answered this once only)."""

    external_id: str


class AgentToolCall(_Answer):
    """One tool call an agent made: its outcome (ok, denied, refused, error) and the rows it cited."""

    name: str
    arguments: dict[str, Any]
    outcome: str
    reasons: list[str]
    refs: list[str]


class AgentAnswer(_Answer):
    """``POST /tenants/{t}/agents/{agent}/ask``: the answer, its resolved citations and the tool calls behind it."""

    tenant_id: str
    agent: str
    prompt_id: str
    prompt_version: str
    model: str
    run_id: str
    answer: str
    citations: list[str]
    removed_citations: list[str]
    tool_calls: list[AgentToolCall]
    input_tokens: int
    output_tokens: int


class AgentPrompt(_Answer):
    """One prompt version of ``GET /agents/prompts``."""

    id: str
    version: str
    agent: str
    owner: dict[str, Any]
    model: str
    evaluation_set: str
    approval: dict[str, Any]
    tools: list[str]


class MetricInfo(_Answer):
    """One metric definition of ``GET /tenants/{id}/metrics``."""

    name: str
    version: int
    label: str
    description: str
    owner: str
    model: str
    table: str
    grain: str
    dimensions: list[str]
    required_dimensions: list[str] = []
    filters: list[str] = []
    format: str
    classification: Classification


class MetricResult(_Answer):
    """``GET /tenants/{id}/metrics/{name}``: one row per combination of ``dimensions``; ``value`` when ungrouped."""

    tenant_id: str
    metric: str
    version: int
    format: str
    dimensions: list[str]
    rows: list[dict[str, Any]]
    value: float | int | None = None


_T = TypeVar("_T")
_HEALTH = TypeAdapter(Health)
_WHOAMI = TypeAdapter(WhoAmI)
_TENANTS = TypeAdapter(list[TenantInfo])
_DATA_ACCESS = TypeAdapter(DataAccess)
_VIEW = TypeAdapter(DashboardViewRecorded)
_TOKEN = TypeAdapter(Token)
_DECISION = TypeAdapter(Decision)
_CONNECTOR = TypeAdapter(ConnectorInfo)
_CONNECTORS = TypeAdapter(list[ConnectorInfo])
_CONNECTOR_ISSUED = TypeAdapter(ConnectorIssued)
_AGENT_ANSWER = TypeAdapter(AgentAnswer)
_AGENT_PROMPTS = TypeAdapter(list[AgentPrompt])
_METRICS = TypeAdapter(list[MetricInfo])
_METRIC = TypeAdapter(MetricResult)
_OBJECT = TypeAdapter(dict[str, Any])
_JSON: TypeAdapter[Any] = TypeAdapter(Any)

# ------------------------------------------------------------------------------------------------- client


def credential_headers(credential: str | None) -> dict[str, str]:
    """The header carrying ``credential``: ``X-API-Key`` for an API key, ``Authorization: Bearer`` otherwise."""
    if credential is None:
        return {}
    credential = credential.strip()
    if not credential:
        raise ValueError("the control-plane credential is empty: give an API key (lh.…) or a bearer token")
    if credential.startswith(API_KEY_PREFIX):
        return {"X-API-Key": credential}
    return {"Authorization": f"Bearer {credential}"}


def normalise_url(url: str) -> str:
    """``url`` without a trailing slash; refuses anything that is not an absolute http(s) URL."""
    parsed = httpx.URL(url.strip())
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise ValueError(
            f"the control-plane URL {url!r} is not an absolute http(s) URL (e.g. http://127.0.0.1:8000)"
        )
    return str(parsed).rstrip("/")


class ControlPlaneClient:
    """Calls the control-plane API as one caller; ``as_caller`` gives a client for another credential.

    Clients made with ``as_caller`` share this one's connection pool (httpx clients are thread-safe), so one
    pool per process serves every signed-in user. Close the client that created the pool.
    """

    def __init__(
        self,
        base_url: str,
        *,
        credential: str | None = None,
        timeout: float = DEFAULT_TIMEOUT_SECONDS,
        http: httpx.Client | None = None,
    ) -> None:
        self.base_url = normalise_url(base_url)
        self._headers = credential_headers(credential)
        self._owns_http = http is None
        self._http = http or httpx.Client(
            timeout=httpx.Timeout(timeout, connect=min(timeout, 5.0)),
            transport=httpx.HTTPTransport(retries=2),  # connection failures only, never a sent request
            headers={"User-Agent": "lakehouse-control-plane-client"},
        )

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **kwargs: Any) -> ControlPlaneClient:
        """A client for ``LAKEHOUSE_CONTROL_PLANE_URL`` with ``LAKEHOUSE_CONTROL_PLANE_CREDENTIAL`` (optional)."""
        env = os.environ if environ is None else environ
        url = env.get(URL_ENV, "").strip()
        if not url:
            raise ValueError(
                f"{URL_ENV} is not set: give the control-plane API's URL (`lakehouse api` serves "
                "http://127.0.0.1:8000)"
            )
        return cls(url, credential=env.get(CREDENTIAL_ENV) or None, **kwargs)

    def as_caller(self, credential: str) -> ControlPlaneClient:
        """A client that calls with ``credential`` over this client's connection pool."""
        return ControlPlaneClient(self.base_url, credential=credential, http=self._http)

    def close(self) -> None:
        """Close the connection pool (only if this client created it)."""
        if self._owns_http:
            self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------------------------------ calls

    def health(self) -> Health:
        """Liveness and database reachability (no credential needed)."""
        return self._call("GET", "/health", _HEALTH)

    def whoami(self) -> WhoAmI:
        """Who the API says the credential belongs to (401 → ``AuthenticationFailed``)."""
        return self._call("GET", "/auth/whoami", _WHOAMI)

    def list_tenants(self, *, kind: str | None = None, limit: int = 500, offset: int = 0) -> list[TenantInfo]:
        """The tenants the caller can see (its own and its descendants; all for a platform admin)."""
        params: dict[str, Any] = {"limit": limit, "offset": offset}
        if kind is not None:
            params["kind"] = kind
        return self._call("GET", "/tenants", _TENANTS, params=params)

    def data_access(self, action: str = "data:read") -> DataAccess:
        """The caller and the tenants on which the policy allows ``action``, each with its clearance."""
        return self._call("GET", "/authz/data-access", _DATA_ACCESS, params={"action": action})

    def record_dashboard_view(self, tenant_id: str, *, reason: str | None = None) -> DashboardViewRecorded:
        """Tell the API the caller looks at ``tenant_id`` on the dashboards; audited when it crosses tenants."""
        path = f"/tenants/{_segment(tenant_id)}/audit/dashboard-views"
        return self._call("POST", path, _VIEW, json={"reason": reason})

    def issue_token(self, ttl_seconds: int | None = None) -> Token:
        """A short-lived bearer token for the caller."""
        return self._call("POST", "/auth/token", _TOKEN, json={"ttl_seconds": ttl_seconds})

    def decide(self, policy_input: Mapping[str, Any]) -> Decision:
        """Ask the policy decision point about one OPA-format input (``{"subject", "action", "resource", ...}``)."""
        answer = self._call("POST", "/authz/decide", _OBJECT, json={"input": dict(policy_input)})
        return _parse(_DECISION, answer.get("result"), "POST /authz/decide")

    def list_connectors(self, tenant_id: str, *, include_disabled: bool = False) -> list[ConnectorInfo]:
        """The tenant's linked-account connectors, newest first (never their ExternalIds)."""
        path = f"/tenants/{_segment(tenant_id)}/connectors"
        return self._call("GET", path, _CONNECTORS, params={"include_disabled": include_disabled})

    def add_connector(
        self,
        tenant_id: str,
        *,
        service: str,
        aws_account_id: str,
        role_arn: str,
        verify: bool = True,
        reason: str | None = None,
    ) -> ConnectorIssued:
        """Link a role in the tenant's AWS account; the answer carries the ExternalId the platform issued."""
        body = {"service": service, "aws_account_id": aws_account_id, "role_arn": role_arn, "verify": verify}
        path = f"/tenants/{_segment(tenant_id)}/connectors"
        return self._call("POST", path, _CONNECTOR_ISSUED, json=body, headers=_reason(reason))

    def verify_connector(self, tenant_id: str, connector_id: str) -> ConnectorInfo:
        """Assume the connector's role with its ExternalId now; the answer says verified, or failed and why."""
        path = f"/tenants/{_segment(tenant_id)}/connectors/{_segment(connector_id)}/verify"
        return self._call("POST", path, _CONNECTOR)

    def disable_connector(
        self, tenant_id: str, connector_id: str, *, reason: str | None = None
    ) -> ConnectorInfo:
        """Disable a connector: its role is never assumed again."""
        path = f"/tenants/{_segment(tenant_id)}/connectors/{_segment(connector_id)}"
        return self._call("DELETE", path, _CONNECTOR, headers=_reason(reason))

    def ask_agent(self, tenant_id: str, agent: str, question: str) -> AgentAnswer:
        """Ask one of the tenant's agents (advisor, ops, support, doc); refusals raise the typed errors."""
        path = f"/tenants/{_segment(tenant_id)}/agents/{_segment(agent)}/ask"
        return self._call("POST", path, _AGENT_ANSWER, json={"question": question})

    def agent_prompts(self) -> list[AgentPrompt]:
        """Every prompt version of the registry with owner, model, evaluation set and approval status."""
        return self._call("GET", "/agents/prompts", _AGENT_PROMPTS)

    def list_metrics(self, tenant_id: str) -> list[MetricInfo]:
        """The metric definitions (the semantic layer's) readable on the tenant."""
        return self._call("GET", f"/tenants/{_segment(tenant_id)}/metrics", _METRICS)

    def metric(
        self,
        tenant_id: str,
        name: str,
        *,
        dimensions: list[str] | tuple[str, ...] = (),
        filters: list[str] | tuple[str, ...] = (),
    ) -> MetricResult:
        """One metric for the tenant, grouped by ``dimensions``; ``filters`` as ``column:op[:value]``."""
        params: list[tuple[str, str]] = [("dimension", d) for d in dimensions]
        params += [("filter", f) for f in filters]
        path = f"/tenants/{_segment(tenant_id)}/metrics/{_segment(name)}"
        return self._call("GET", path, _METRIC, params=params)

    def graphql(
        self, query: str, variables: Mapping[str, Any] | None = None, *, operation_name: str | None = None
    ) -> dict[str, Any]:
        """Run a query on the GraphQL gateway (``/graphql``) and answer its ``data``; any error in the answer raises
        ``GraphQLFailed`` (with the HTTP status REST would have given, the policy's reasons and the partial data)."""
        body: dict[str, Any] = {"query": query}
        if variables is not None:
            body["variables"] = dict(variables)
        if operation_name is not None:
            body["operationName"] = operation_name
        answer = self._call("POST", "/graphql", _OBJECT, json=body)
        errors = answer.get("errors") or []
        if not errors:
            data = answer.get("data")
            if not isinstance(data, dict):
                raise ControlPlaneUnavailable("the GraphQL gateway answered neither data nor errors")
            return data
        first: dict[str, Any] = errors[0] if isinstance(errors[0], dict) else {"message": str(errors[0])}
        extensions: dict[str, Any] = first.get("extensions") or {}
        status = extensions.get("status")
        messages = "; ".join(str(e.get("message")) for e in errors if isinstance(e, dict))
        # A masked exception ("Unexpected error."): the server failed, not the query.
        if first.get("message") == "Unexpected error.":
            raise ControlPlaneUnavailable(f"the GraphQL gateway at {self.base_url} failed: {messages}")
        raise GraphQLFailed(
            f"POST /graphql → {extensions.get('code') or 'GRAPHQL_ERROR'}: {messages}",
            code=extensions.get("code"),
            errors=errors,
            data=answer.get("data"),
            status=status if isinstance(status, int) else None,
            detail=str(first.get("message")),
            reasons=[str(r) for r in extensions.get("reasons") or []],
        )

    def call(self, method: str, path: str, **kwargs: Any) -> Any:
        """Any other route (``path`` from the API's root), answering its JSON; failures raise the typed errors."""
        if not path.startswith("/"):
            raise ValueError(f"the API path {path!r} must start with '/'")
        return self._call(method.upper(), path, _JSON, **kwargs)

    # -------------------------------------------------------------------------------------- transport

    def _call(self, method: str, path: str, answer: TypeAdapter[_T], **kwargs: Any) -> _T:
        what = f"{method} {path}"
        headers = {**self._headers, **kwargs.pop("headers", {})}
        try:
            response = self._http.request(method, self.base_url + path, headers=headers, **kwargs)
        except httpx.TimeoutException as exc:
            raise ControlPlaneUnavailable(
                f"the control plane at {self.base_url} did not answer {what} in time ({type(exc).__name__})"
            ) from None
        except httpx.HTTPError as exc:
            raise ControlPlaneUnavailable(
                f"the control plane at {self.base_url} is unreachable ({type(exc).__name__}: {exc})"
            ) from None
        if response.is_success:
            return _parse(answer, _json(response, self.base_url, what), what)
        raise _error(response, self.base_url, what)


def _reason(reason: str | None) -> dict[str, str]:
    """The ``X-Audit-Reason`` header for a state change (none when no reason is given)."""
    return {"X-Audit-Reason": reason} if reason and reason.strip() else {}


def _segment(value: str) -> str:
    """A path segment that cannot leave its place in the URL."""
    if not value or "/" in value or value in (".", ".."):
        raise ValueError(f"{value!r} is not a valid tenant id")
    return httpx.URL("/" + value).raw_path.decode("ascii")[1:]


def _json(response: httpx.Response, base_url: str, what: str) -> Any:
    try:
        return response.json()
    except ValueError:
        raise ControlPlaneUnavailable(
            f"{base_url} answered {what} with HTTP {response.status_code} but not JSON: is it the control-plane API?",
            status=response.status_code,
        ) from None


def _parse(answer: TypeAdapter[_T], data: Any, what: str) -> _T:
    try:
        return answer.validate_python(data)
    except ValidationError as exc:
        raise ControlPlaneUnavailable(
            f"the control plane's answer to {what} does not have the expected shape "
            f"({exc.error_count()} problem(s), first: {exc.errors()[0]['msg']} at {exc.errors()[0]['loc']})"
        ) from None


_BY_STATUS: dict[int, type[ControlPlaneError]] = {
    401: AuthenticationFailed,
    403: PermissionDenied,
    404: NotFound,
}


def _error(response: httpx.Response, base_url: str, what: str) -> ControlPlaneError:
    """The typed error for a non-2xx answer, carrying the API's problem detail and policy reasons."""
    status = response.status_code
    detail = response.reason_phrase or f"HTTP {status}"
    reasons: list[str] = []
    request_id: str | None = None
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict):
        detail = str(body.get("detail") or detail)
        reasons = [str(r) for r in body.get("reasons") or []]
        request_id = body.get("request_id")
    message = f"{what} → HTTP {status}: {detail}"
    if reasons:
        message += f" ({'; '.join(reasons)})"
    if status >= 500 or body is None:
        kind: type[ControlPlaneError] = ControlPlaneUnavailable
        message = f"the control plane at {base_url} failed: {message}"
    else:
        kind = _BY_STATUS.get(status, RequestRejected)
    return kind(message, status=status, detail=detail, reasons=reasons, request_id=request_id)
