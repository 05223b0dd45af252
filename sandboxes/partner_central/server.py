"""HTTP front of the sandbox: the awsJson1_0 protocol of ``partnercentral-selling`` plus STS ``AssumeRole``.

boto3 reaches it through ``endpoint_url``. Every request is authenticated (SigV4 against the sandbox's
credentials), counted per tenant and operation, optionally delayed, throttled or failed (fault injection), and
validated against botocore's service model before it touches state. Responses are written whole, with
TCP_NODELAY, so a keep-alive client never waits on delayed ACKs.

Control endpoints for tests and benchmarks live under ``/_sandbox/`` (not part of the AWS API).
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from dataclasses import asdict, dataclass, field
from typing import Any
from urllib.parse import parse_qsl
from xml.sax.saxutils import escape

from sandboxes._http import ERROR, THROTTLE, ApiError, EmulatorHandler, EmulatorServer, Faults
from sandboxes._model import ModelValidator, Problem, as_accepted
from sandboxes._sigv4 import AuthError, SignedRequest, access_key, verify
from sandboxes.partner_central import data as D
from sandboxes.partner_central.state import Principal, SandboxState, validation_error

SERVICE_NAME = "partnercentral-selling"
TARGET_PREFIX = "AWSPartnerCentralSelling."
JSON_TYPE = "application/x-amz-json-1.0"
CATALOGS = ("AWS", "Sandbox")
SIGNING_NAMES = ("partnercentral", "partnercentral-selling", "sts")


def error_list(problems: list[Problem]) -> list[dict[str, str]]:
    """Problems as a ValidationException's ``ErrorList`` entries."""
    return [{"FieldName": p.field, "Message": p.message, "Code": p.code} for p in problems]


def _scalar(value: str, shape: Any) -> Any:
    if shape.type_name in ("integer", "long"):
        try:
            return int(value)
        except ValueError:
            return value
    if shape.type_name == "boolean":
        return value == "true" if value in ("true", "false") else value
    return value


def query_params(form: dict[str, str], shape: Any) -> dict[str, Any]:
    """The AWS query protocol's flat form (``Tags.member.1.Key=k``) as the nested parameters of ``shape``.

    Lists are ``Name.member.N`` (scalars) or ``Name.member.N.Field`` (structures), in index order; a key that
    fits no member is kept as given, so validation reports it as unknown.
    """
    params: dict[str, Any] = {}
    lists: dict[str, dict[int, Any]] = {}
    for key, value in form.items():
        name, sep, rest = key.partition(".member.")
        member = shape.members.get(name)
        if not sep or member is None or member.type_name != "list":
            params[key] = _scalar(value, member) if member is not None else value
            continue
        index, _, field = rest.partition(".")
        if not index.isdigit():
            params[key] = value
            continue
        item_shape = member.member
        items = lists.setdefault(name, {})
        if field and item_shape.type_name == "structure":
            sub = item_shape.members.get(field)
            items.setdefault(int(index), {})[field] = _scalar(value, sub) if sub is not None else value
        else:
            items[int(index)] = _scalar(value, item_shape)
    for name, items in lists.items():
        params[name] = [items[i] for i in sorted(items)]
    return params


class SellingValidator(ModelValidator):
    """botocore's model of ``partnercentral-selling`` plus the one rule it leaves out: the catalog names."""

    def __init__(self) -> None:
        super().__init__(SERVICE_NAME)

    def accepted(self, operation: str, params: Any) -> Any:
        """The request as AWS reads it: explicit nulls and members it ignores dropped (see ``as_accepted``)."""
        return as_accepted(params, self.model.operation_model(operation).input_shape)

    def validate(self, operation: str, params: Any) -> list[dict[str, str]]:
        """Every problem with a request as AWS ``ErrorList`` entries (empty when the request is valid)."""
        problems = self.input_problems(operation, params)
        catalog = params.get("Catalog") if isinstance(params, dict) else None
        members = self.model.operation_model(operation).input_shape.members
        if isinstance(catalog, str) and "Catalog" in members and catalog not in CATALOGS:
            text = f"Member must satisfy enum value set: [{', '.join(CATALOGS)}]"
            message = f"Value '{catalog}' at 'catalog' failed to satisfy constraint: {text}"
            problems.append(Problem("Catalog", message))
        return error_list(problems)


def validate_output(operation: str, body: Any) -> list[dict[str, str]]:
    """Problems of a response body against the operation's output shape (used to check seeded data)."""
    return error_list(ModelValidator(SERVICE_NAME).output_problems(operation, body))


WRITE_PREFIXES = (
    "Accept", "Assign", "Associate", "Create", "Delete", "Disassociate", "Put", "Reject", "Start", "Stop",
    "Submit", "Tag", "Untag", "Update",
)  # fmt: skip


def is_write(operation: str) -> bool:
    """Whether ``operation`` counts against the write quota (everything else is a read)."""
    return operation.startswith(WRITE_PREFIXES)


@dataclass(frozen=True)
class Quotas:
    """Partner Central's request quotas per partner account (None: not enforced).

    AWS: reads 10/s and 100,000 per rolling 24 h, writes 1/s and 10,000 per rolling 24 h (``AWS_QUOTAS``). The
    default enforces the daily quotas and leaves the per-second rates off, so local syncs and tests that run
    without a client-side limiter are not slowed by retries; ``AWS_QUOTAS`` enforces all four.
    """

    reads_per_second: float | None = None
    writes_per_second: float | None = None
    reads_per_day: int | None = 100_000
    writes_per_day: int | None = 10_000


AWS_QUOTAS = Quotas(10.0, 1.0, 100_000, 10_000)
DAY_S = 86_400.0


class QuotaMeter:
    """Rolling per-account windows of accepted calls (timestamps from the state's clock)."""

    def __init__(self, quotas: Quotas) -> None:
        self.quotas = quotas
        self._calls: dict[tuple[str, bool], deque[float]] = {}
        self._lock = threading.Lock()

    def admit(self, tenant: str, write: bool, now: float) -> str | None:
        """Record one call, or say which quota refuses it (then nothing is recorded)."""
        with self._lock:
            return self._admit(tenant, write, now)

    def _admit(self, tenant: str, write: bool, now: float) -> str | None:
        q = self.quotas
        per_second, per_day = (
            (q.writes_per_second, q.writes_per_day) if write else (q.reads_per_second, q.reads_per_day)
        )
        window = self._calls.setdefault((tenant, write), deque())
        while window and window[0] <= now - DAY_S:
            window.popleft()
        kind = "write" if write else "read"
        if per_day is not None and len(window) >= per_day:
            return f"Daily {kind} quota of {per_day} requests per 24 hours exceeded"
        if per_second is not None:
            recent = 0
            for moment in reversed(window):
                if moment <= now - 1.0:
                    break
                recent += 1
            if recent >= per_second:
                return f"Rate exceeded: at most {per_second:g} {kind} requests per second"
        window.append(now)
        return None


@dataclass
class Counters:
    """What the sandbox received, per ``tenant/operation`` (thread-safe)."""

    calls: dict[str, int] = field(default_factory=dict)
    throttled: dict[str, int] = field(default_factory=dict)
    faults: dict[str, int] = field(default_factory=dict)
    invalid: dict[str, int] = field(default_factory=dict)
    succeeded: dict[str, int] = field(default_factory=dict)
    auth_failures: int = 0


class SandboxServer(EmulatorServer):
    """The Partner Central emulator serving one ``SandboxState`` on 127.0.0.1."""

    thread_name = "pc-sandbox"

    def __init__(
        self,
        state: SandboxState | None = None,
        port: int = 0,
        faults: Faults | None = None,
        quotas: Quotas | None = None,
    ) -> None:
        super().__init__(_Handler, port, faults)
        self.state = state or SandboxState()
        self.quotas = QuotaMeter(quotas or Quotas())
        self.validator = SellingValidator()
        self.sts_validator = ModelValidator("sts")
        self.counters = Counters()

    def connector_settings(self, tenant_id: str) -> dict[str, str]:
        """Where and as whom a client reaches this sandbox as ``tenant_id`` (ConnectorConfig keyword arguments)."""
        account = self.state.tenants[tenant_id]
        return {
            "endpoint_url": self.url,
            "aws_access_key_id": account.access_key_id,
            "aws_secret_access_key": account.secret_access_key,
        }

    def reset_counters(self) -> None:
        """Forget every count."""
        with self._lock:
            self.counters = Counters()

    def calls(self, operation: str | None = None, tenant: str | None = None, kind: str = "calls") -> int:
        """How many requests arrived (``kind``: calls, throttled, faults, invalid, succeeded), filtered."""
        with self._lock:
            table: dict[str, int] = getattr(self.counters, kind)
            return sum(
                n
                for key, n in table.items()
                if (tenant is None or key.split("/", 1)[0] == tenant)
                and (operation is None or key.split("/", 1)[1] == operation)
            )

    def succeeded_calls(self) -> int:
        """Calls served successfully (what ``Faults.outage_after`` counts)."""
        with self._lock:
            return sum(self.counters.succeeded.values())

    def snapshot(self) -> dict[str, Any]:
        """The counters as plain JSON values."""
        with self._lock:
            result: dict[str, Any] = json.loads(json.dumps(asdict(self.counters)))
            return result

    def count(self, kind: str, tenant: str | None, operation: str) -> None:
        """Count one request of ``kind`` for ``tenant/operation``."""
        key = f"{tenant or '-'}/{operation}"
        with self._lock:
            table = getattr(self.counters, kind)
            table[key] = table.get(key, 0) + 1

    def auth_failed(self) -> None:
        """Count one request whose caller could not be authenticated."""
        with self._lock:
            self.counters.auth_failures += 1


def serve_in_thread(
    state: SandboxState | None = None,
    port: int = 0,
    faults: Faults | None = None,
    quotas: Quotas | None = None,
) -> SandboxServer:
    """Start a sandbox on 127.0.0.1 in a background thread and return it (``.url``, ``.state``, ``.stop()``)."""
    return SandboxServer(state, port, faults, quotas).start()


class _Handler(EmulatorHandler):
    server: SandboxServer

    def _json_error(self, error: ApiError) -> None:
        body = {"__type": error.code, "Message": error.message, "message": error.message, **error.members}
        headers = {"Content-Type": JSON_TYPE, "x-amzn-ErrorType": error.code}
        self.write(error.status or 400, json.dumps(body).encode(), headers)

    # ------------------------------------------------------------------------------------------- routes

    def do_GET(self) -> None:
        self.control("GET", self.path.split("?", 1)[0], b"")

    def do_POST(self) -> None:
        body = self.read_body()
        if self.path.startswith("/_sandbox/"):
            self.control("POST", self.path.split("?", 1)[0], body)
            return
        target = self.headers.get("X-Amz-Target")
        if target:
            self._selling(target, body)
        elif "x-www-form-urlencoded" in (self.headers.get("Content-Type") or ""):
            self._sts(body)
        else:
            self._json_error(ApiError("UnknownOperationException", "Missing X-Amz-Target header", 400))

    def _authenticate(self, body: bytes) -> Principal:
        invalid = "The security token included in the request is invalid."
        principal = self.server.state.principal(access_key(self.headers, SIGNING_NAMES))
        if principal is None:
            raise AuthError("UnrecognizedClientException", invalid)
        if principal.session_token is not None:
            if self.headers.get("X-Amz-Security-Token") != principal.session_token:
                raise AuthError("UnrecognizedClientException", invalid)
            if principal.expires_at is not None and principal.expires_at < self.server.state.clock():
                raise AuthError(
                    "ExpiredTokenException", "The security token included in the request is expired"
                )
        path, _, query = self.path.partition("?")
        verify(SignedRequest("POST", path, query, self.headers, body), principal.secret_access_key)
        return principal

    def _selling(self, target: str, body: bytes) -> None:
        server = self.server
        operation = target.removeprefix(TARGET_PREFIX)
        try:
            principal = self._authenticate(body)
        except AuthError as exc:
            server.auth_failed()
            self._json_error(ApiError(exc.code, exc.message, exc.status))
            return
        tenant = principal.tenant_id
        server.count("calls", tenant, operation)
        if server.faults.latency_ms:
            time.sleep(server.faults.latency_ms / 1000.0)
        try:
            response = self._serve(tenant, target, operation, body)
        except ApiError as exc:
            self._json_error(exc)
            return
        server.count("succeeded", tenant, operation)
        self.write(200, response, {"Content-Type": JSON_TYPE})

    def _serve(self, tenant: str | None, target: str, operation: str, body: bytes) -> bytes:
        """The response body of one authenticated Partner Central call (raises ``ApiError``)."""
        server = self.server
        if tenant is None:
            raise ApiError(
                "AccessDeniedException",
                "The platform principal has no Partner Central account; assume a tenant's role first",
                403,
            )
        if not target.startswith(TARGET_PREFIX) or operation not in server.validator.model.operation_names:
            raise ApiError("UnknownOperationException", f"Unknown operation {target}", 400)
        refused = server.quotas.admit(tenant, is_write(operation), server.state.clock())
        if refused is not None:
            server.count("throttled", tenant, operation)
            raise ApiError("ThrottlingException", refused, 429)
        fate = server.fate(operation)
        if fate == THROTTLE:
            server.count("throttled", tenant, operation)
            raise ApiError("ThrottlingException", "Rate exceeded", 429)
        if fate == ERROR:
            server.count("faults", tenant, operation)
            raise ApiError("InternalServerException", "An internal error occurred (injected)", 500)
        try:
            params = json.loads(body or b"{}")
        except ValueError:
            server.count("invalid", tenant, operation)
            raise ApiError("SerializationException", "The request body is not valid JSON", 400) from None
        params = server.validator.accepted(operation, params)
        errors = server.validator.validate(operation, params)
        if errors:
            server.count("invalid", tenant, operation)
            raise validation_error(
                f"{len(errors)} validation error{'s' if len(errors) > 1 else ''} detected: "
                + "; ".join(e["Message"] for e in errors[:5]),
                errors,
            )
        try:
            return server.state.call(server.state.tenants[tenant], operation, params)
        except ApiError as exc:
            if exc.members.get("Reason") == "REQUEST_VALIDATION_FAILED":
                server.count("invalid", tenant, operation)
            raise

    # ------------------------------------------------------------------------------------------- sts

    def _sts_error(self, code: str, message: str, status: int) -> None:
        body = (
            '<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type>'
            f"<Code>{escape(code)}</Code><Message>{escape(message)}</Message></Error>"
            f"<RequestId>{self.server.next_request_id()}</RequestId></ErrorResponse>"
        )
        self.write(status, body.encode(), {"Content-Type": "text/xml"})

    def _sts(self, body: bytes) -> None:
        server = self.server
        form = dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
        action = form.pop("Action", None)
        form.pop("Version", None)
        try:
            principal = self._authenticate(body)
        except AuthError as exc:
            server.auth_failed()
            self._sts_error(exc.code, exc.message, exc.status)
            return
        server.count("calls", principal.tenant_id, f"sts:{action}")
        if action != "AssumeRole":
            self._sts_error("InvalidAction", f"The sandbox STS implements AssumeRole only, not {action}", 400)
            return
        shape = server.sts_validator.model.operation_model("AssumeRole").input_shape
        params = query_params(form, shape)
        problems = server.sts_validator.input_problems("AssumeRole", params)
        if problems:
            self._sts_error("ValidationError", "; ".join(p.message for p in problems), 400)
            return
        try:
            session, account = server.state.assume_role(
                principal,
                params["RoleArn"],
                params["RoleSessionName"],
                params.get("ExternalId"),
                int(params.get("DurationSeconds", 3600)),
                {t["Key"]: t.get("Value", "") for t in params.get("Tags", [])},
            )
        except ApiError as exc:
            self._sts_error(exc.code, exc.message, exc.status or 400)
            return
        expires = D.format_ts(int(session.expires_at * 1_000_000) // 1_000_000 * 1_000_000)  # type: ignore[operator]
        role_name = params["RoleArn"].rsplit("/", 1)[-1]
        xml = (
            '<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><AssumeRoleResult>'
            f"<AssumedRoleUser><AssumedRoleId>AROASANDBOX{account.account_id}:{escape(params['RoleSessionName'])}"
            f"</AssumedRoleId><Arn>arn:aws:sts::{account.account_id}:assumed-role/{escape(role_name)}/"
            f"{escape(params['RoleSessionName'])}</Arn></AssumedRoleUser>"
            f"<Credentials><AccessKeyId>{session.access_key_id}</AccessKeyId>"
            f"<SecretAccessKey>{escape(session.secret_access_key)}</SecretAccessKey>"
            f"<SessionToken>{escape(session.session_token or '')}</SessionToken>"
            f"<Expiration>{expires}</Expiration></Credentials>"
            "</AssumeRoleResult>"
            f"<ResponseMetadata><RequestId>{server.next_request_id()}</RequestId></ResponseMetadata>"
            "</AssumeRoleResponse>"
        )
        server.count("succeeded", principal.tenant_id, "sts:AssumeRole")
        self.write(200, xml.encode(), {"Content-Type": "text/xml"})

    # ------------------------------------------------------------------------------------------- control

    def control_result(self, method: str, path: str, payload: dict[str, Any]) -> Any:
        """Test and benchmark hooks: health, counters, faults, tenants, trust policies, touching opportunities."""
        server = self.server
        if path == "/_sandbox/health":
            return {"ok": True, "tenants": sorted(server.state.tenants)}
        if path == "/_sandbox/counters" and method == "GET":
            return server.snapshot()
        if path == "/_sandbox/counters/reset" and method == "POST":
            server.reset_counters()
            return {"ok": True}
        if path == "/_sandbox/faults" and method == "POST":
            server.set_faults(Faults(**payload))
            return asdict(server.faults)
        if path == "/_sandbox/tenants" and method == "GET":
            return [a.credentials() for a in server.state.tenants.values()]
        if path == "/_sandbox/trust" and method == "POST":
            account = server.state.set_external_id(payload["tenant"], payload.get("external_id"))
            return account.credentials()
        if path == "/_sandbox/files" and method == "POST":
            uri = server.state.put_file(payload["uri"], str(payload["content"]).encode())
            return {"uri": uri}
        if path == "/_sandbox/touch" and method == "POST":
            touched = server.state.touch_opportunities(
                payload["tenant"], payload.get("catalog", "Sandbox"), payload.get("ids"), payload.get("count")
            )
            return {"touched": touched}
        return None
