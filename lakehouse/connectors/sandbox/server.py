"""HTTP front of the sandbox: the awsJson1_0 protocol of ``partnercentral-selling`` plus STS ``AssumeRole``.

boto3 reaches it through ``endpoint_url``. Every request is authenticated (SigV4 against the sandbox's
credentials), counted per tenant and operation, optionally delayed, throttled or failed (fault injection), and
validated against botocore's service model before it touches state. Responses are written whole, with
TCP_NODELAY, so a keep-alive client never waits on delayed ACKs.

Control endpoints for tests and benchmarks live under ``/_sandbox/`` (not part of the AWS API).
"""

from __future__ import annotations

import itertools
import json
import random
import threading
import time
from dataclasses import asdict, dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self
from urllib.parse import parse_qsl
from xml.sax.saxutils import escape

from lakehouse.connectors.sandbox import data as D
from lakehouse.connectors.sandbox.auth import AuthError, SignedRequest, access_key_of, verify
from lakehouse.connectors.sandbox.state import ApiError, Principal, SandboxState, validation_error
from lakehouse.connectors.sandbox.validation import RequestValidator, service_model

TARGET_PREFIX = "AWSPartnerCentralSelling."
JSON_TYPE = "application/x-amz-json-1.0"
_REASONS = {
    200: "OK",
    400: "Bad Request",
    403: "Forbidden",
    404: "Not Found",
    409: "Conflict",
    429: "Too Many Requests",
    500: "Internal Server Error",
    503: "Service Unavailable",
}


@dataclass
class Faults:
    """Fault injection: a fraction of calls throttled or failed with a 5xx, and added latency."""

    throttle_rate: float = 0.0
    error_rate: float = 0.0
    latency_ms: float = 0.0
    operations: list[str] | None = None  # None: every operation
    outage_after: int | None = None  # after this many successful calls, every call fails with a 5xx
    seed: int | None = None


@dataclass
class Counters:
    """What the sandbox received, per ``tenant/operation`` (thread-safe)."""

    calls: dict[str, int] = field(default_factory=dict)
    throttled: dict[str, int] = field(default_factory=dict)
    faults: dict[str, int] = field(default_factory=dict)
    invalid: dict[str, int] = field(default_factory=dict)
    succeeded: dict[str, int] = field(default_factory=dict)
    auth_failures: int = 0


class SandboxServer(ThreadingHTTPServer):
    """A threaded HTTP server bound to 127.0.0.1 serving one ``SandboxState``."""

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(
        self, state: SandboxState | None = None, port: int = 0, faults: Faults | None = None
    ) -> None:
        super().__init__(("127.0.0.1", port), _Handler)
        self.state = state or SandboxState()
        self.validator = RequestValidator()
        self.sts_model = service_model("sts")
        self._lock = threading.Lock()
        self.counters = Counters()
        self.faults = faults or Faults()
        self._rng = random.Random(self.faults.seed)
        self._request_ids = itertools.count(1)
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------------------------------------- handles

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}"

    def connector_settings(self, tenant_id: str) -> dict[str, str]:
        """Where and as whom a client reaches this sandbox as ``tenant_id`` (ConnectorConfig keyword arguments)."""
        account = self.state.tenants[tenant_id]
        return {
            "endpoint_url": self.url,
            "aws_access_key_id": account.access_key_id,
            "aws_secret_access_key": account.secret_access_key,
        }

    def set_faults(self, faults: Faults | None = None, **changes: Any) -> None:
        """Replace the fault settings (``set_faults(throttle_rate=0.3)`` or a ``Faults``)."""
        with self._lock:
            self.faults = faults or Faults(**{**asdict(Faults()), **changes})
            self._rng = random.Random(self.faults.seed)

    def reset_counters(self) -> None:
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

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return json.loads(json.dumps(asdict(self.counters)))

    def _count(self, kind: str, tenant: str | None, operation: str) -> None:
        key = f"{tenant or '-'}/{operation}"
        with self._lock:
            table = getattr(self.counters, kind)
            table[key] = table.get(key, 0) + 1

    def _fault(self, operation: str) -> str | None:
        """Decide the fate of one call: None (serve), 'throttle' or 'error'."""
        with self._lock:
            f = self.faults
            if f.operations is not None and operation not in f.operations:
                return None
            if f.outage_after is not None and sum(self.counters.succeeded.values()) >= f.outage_after:
                return "error"
            roll = self._rng.random()
            if roll < f.throttle_rate:
                return "throttle"
            if roll < f.throttle_rate + f.error_rate:
                return "error"
            return None

    def next_request_id(self) -> str:
        return f"sbx-{next(self._request_ids):012d}"

    # ------------------------------------------------------------------------------------------- lifecycle

    def start(self) -> SandboxServer:
        """Serve in a daemon thread (returns self; use ``stop()`` or a ``with`` block)."""
        self._thread = threading.Thread(
            target=self.serve_forever,
            kwargs={"poll_interval": 0.1},
            name=f"pc-sandbox-{self.server_address[1]}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self.shutdown()
        self.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def serve_in_thread(
    state: SandboxState | None = None, port: int = 0, faults: Faults | None = None
) -> SandboxServer:
    """Start a sandbox on 127.0.0.1 in a background thread and return it (``.url``, ``.state``, ``.stop()``)."""
    return SandboxServer(state, port, faults).start()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # TCP_NODELAY: whole responses leave at once, no delayed-ACK stalls
    server: SandboxServer

    def log_message(self, format: str, *args: Any) -> None:
        return

    # ------------------------------------------------------------------------------------------- wire

    def _write(
        self, status: int, body: bytes, content_type: str = JSON_TYPE, headers: dict[str, str] | None = None
    ) -> None:
        lines = [
            f"HTTP/1.1 {status} {_REASONS.get(status, 'Error')}",
            f"Content-Type: {content_type}",
            f"Content-Length: {len(body)}",
            f"x-amzn-RequestId: {self.server.next_request_id()}",
        ]
        lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
        if self.close_connection:
            lines.append("Connection: close")
        self.wfile.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)

    def _json_error(self, error: ApiError) -> None:
        body = {"__type": error.code, "Message": error.message, "message": error.message, **error.members}
        self._write(error.status, json.dumps(body).encode(), headers={"x-amzn-ErrorType": error.code})

    def _body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    # ------------------------------------------------------------------------------------------- routes

    def do_GET(self) -> None:
        self._control("GET", b"")

    def do_POST(self) -> None:
        body = self._body()
        if self.path.startswith("/_sandbox/"):
            self._control("POST", body)
            return
        target = self.headers.get("X-Amz-Target")
        if target:
            self._selling(target, body)
        elif "x-www-form-urlencoded" in (self.headers.get("Content-Type") or ""):
            self._sts(body)
        else:
            self._json_error(ApiError("UnknownOperationException", "Missing X-Amz-Target header", 400))

    def _authenticate(self, body: bytes) -> Principal:
        akid, _service = access_key_of(self.headers)
        principal = self.server.state.principal(akid)
        if principal is None:
            raise AuthError(
                "UnrecognizedClientException", "The security token included in the request is invalid."
            )
        if principal.session_token is not None:
            if self.headers.get("X-Amz-Security-Token") != principal.session_token:
                raise AuthError(
                    "UnrecognizedClientException", "The security token included in the request is invalid."
                )
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
            with server._lock:
                server.counters.auth_failures += 1
            self._json_error(ApiError(exc.code, exc.message, exc.status))
            return
        tenant = principal.tenant_id
        server._count("calls", tenant, operation)
        latency = server.faults.latency_ms
        if latency:
            time.sleep(latency / 1000.0)
        if tenant is None:
            self._json_error(
                ApiError(
                    "AccessDeniedException",
                    "The platform principal has no Partner Central account; assume a tenant's role first",
                    403,
                )
            )
            return
        if not target.startswith(TARGET_PREFIX) or operation not in server.validator.model.operation_names:
            self._json_error(ApiError("UnknownOperationException", f"Unknown operation {target}", 400))
            return
        fate = server._fault(operation)
        if fate == "throttle":
            server._count("throttled", tenant, operation)
            self._json_error(ApiError("ThrottlingException", "Rate exceeded", 429))
            return
        if fate == "error":
            server._count("faults", tenant, operation)
            self._json_error(
                ApiError("InternalServerException", "An internal error occurred (injected)", 500)
            )
            return
        try:
            params = json.loads(body or b"{}")
        except ValueError:
            server._count("invalid", tenant, operation)
            self._json_error(ApiError("SerializationException", "The request body is not valid JSON", 400))
            return
        errors = server.validator.validate(operation, params)
        if errors:
            server._count("invalid", tenant, operation)
            self._json_error(
                validation_error(
                    f"{len(errors)} validation error{'s' if len(errors) > 1 else ''} detected: "
                    + "; ".join(e["Message"] for e in errors[:5]),
                    errors,
                )
            )
            return
        account = server.state.tenants[tenant]
        try:
            response = server.state.call(account, operation, params)
        except ApiError as exc:
            if exc.members.get("Reason") == "REQUEST_VALIDATION_FAILED":
                server._count("invalid", tenant, operation)
            self._json_error(exc)
            return
        server._count("succeeded", tenant, operation)
        self._write(200, response)

    # ------------------------------------------------------------------------------------------- sts

    def _sts_error(self, code: str, message: str, status: int) -> None:
        body = (
            '<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type>'
            f"<Code>{escape(code)}</Code><Message>{escape(message)}</Message></Error>"
            f"<RequestId>{self.server.next_request_id()}</RequestId></ErrorResponse>"
        )
        self._write(status, body.encode(), content_type="text/xml")

    def _sts(self, body: bytes) -> None:
        server = self.server
        form = dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
        action = form.pop("Action", None)
        form.pop("Version", None)
        try:
            principal = self._authenticate(body)
        except AuthError as exc:
            with server._lock:
                server.counters.auth_failures += 1
            self._sts_error(exc.code, exc.message, exc.status)
            return
        server._count("calls", principal.tenant_id, f"sts:{action}")
        if action != "AssumeRole":
            self._sts_error("InvalidAction", f"The sandbox STS implements AssumeRole only, not {action}", 400)
            return
        shape = server.sts_model.operation_model("AssumeRole").input_shape
        params: dict[str, Any] = {}
        for key, value in form.items():
            member = shape.members.get(key)
            if member is not None and member.type_name == "integer":
                try:
                    params[key] = int(value)
                except ValueError:
                    params[key] = value
            else:
                params[key] = value
        errors = RequestValidator(server.sts_model).validate("AssumeRole", params)
        if errors:
            self._sts_error("ValidationError", "; ".join(e["Message"] for e in errors), 400)
            return
        try:
            session, account = server.state.assume_role(
                principal,
                params["RoleArn"],
                params["RoleSessionName"],
                params.get("ExternalId"),
                int(params.get("DurationSeconds", 3600)),
            )
        except ApiError as exc:
            self._sts_error(exc.code, exc.message, exc.status)
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
        server._count("succeeded", principal.tenant_id, "sts:AssumeRole")
        self._write(200, xml.encode(), content_type="text/xml")

    # ------------------------------------------------------------------------------------------- control

    def _control(self, method: str, body: bytes) -> None:
        server = self.server
        path = self.path.split("?", 1)[0]
        try:
            payload = json.loads(body) if body else {}
        except ValueError:
            payload = None
        if payload is None or not isinstance(payload, dict):
            self._write(400, b'{"error":"body must be a JSON object"}', "application/json")
            return
        result: Any
        if path == "/_sandbox/health":
            result = {"ok": True, "tenants": sorted(server.state.tenants)}
        elif path == "/_sandbox/counters" and method == "GET":
            result = server.snapshot()
        elif path == "/_sandbox/counters/reset" and method == "POST":
            server.reset_counters()
            result = {"ok": True}
        elif path == "/_sandbox/faults" and method == "POST":
            try:
                server.set_faults(Faults(**payload))
            except TypeError as exc:
                self._write(400, json.dumps({"error": str(exc)}).encode(), "application/json")
                return
            result = asdict(server.faults)
        elif path == "/_sandbox/tenants" and method == "GET":
            result = [a.credentials() for a in server.state.tenants.values()]
        elif path == "/_sandbox/touch" and method == "POST":
            try:
                result = {
                    "touched": server.state.touch_opportunities(
                        payload["tenant"],
                        payload.get("catalog", "Sandbox"),
                        payload.get("ids"),
                        payload.get("count"),
                    )
                }
            except (KeyError, ValueError) as exc:
                self._write(
                    400, json.dumps({"error": f"bad touch request: {exc}"}).encode(), "application/json"
                )
                return
        else:
            self._write(404, b'{"error":"unknown sandbox control endpoint"}', "application/json")
            return
        self._write(200, json.dumps(result).encode(), "application/json")
