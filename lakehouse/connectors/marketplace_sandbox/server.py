"""HTTP front of the Marketplace sandbox: four services' wire protocols on one loopback port.

- ``marketplace-catalog``: REST-JSON (``POST /ListEntities``, ``GET /DescribeChangeSet?catalog=..``, ...);
- ``meteringmarketplace``: awsJson 1.1 (``X-Amz-Target: AWSMPMeteringService.BatchMeterUsage``);
- ``marketplace-entitlement`` and ``marketplace-agreement``: Smithy RPC v2 CBOR (what current botocore sends:
  ``POST /service/<target prefix>/operation/<op>``, ``smithy-protocol: rpc-v2-cbor``) and awsJson 1.1 / 1.0
  (``X-Amz-Target``), both of which the services accept.

Every request is SigV4-verified (the access key names the seller), validated against botocore's model of its
service, optionally delayed, throttled, failed or dropped (fault injection), and served under the state lock.
In strict mode (the default) every response is checked against the operation's output shape too, so the sandbox
can't drift from the model unnoticed. Responses go out whole, with TCP_NODELAY.

Control endpoints for tests and demos live under ``/_sandbox/`` (not part of any AWS API).
"""

from __future__ import annotations

import itertools
import json
import random
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl

from lakehouse.connectors.marketplace_sandbox import cbor
from lakehouse.connectors.marketplace_sandbox.auth import AuthError, access_key, verify
from lakehouse.connectors.marketplace_sandbox.state import ApiError, SandboxState, SellerAccount
from lakehouse.connectors.marketplace_sandbox.validation import (
    Problem,
    Validator,
    coerce_timestamps,
    to_datetime,
)

CATALOG, AGREEMENT, ENTITLEMENT, METERING = (
    "marketplace-catalog",
    "marketplace-agreement",
    "marketplace-entitlement",
    "meteringmarketplace",
)
TARGETS = {
    "AWSMPMeteringService": METERING,
    "AWSMPEntitlementService": ENTITLEMENT,
    "AWSMPCommerceService_v20200301": AGREEMENT,
}
_JSON_VERSION = {METERING: "1.1", ENTITLEMENT: "1.1", AGREEMENT: "1.0"}
_NAMESPACE = {
    AGREEMENT: "com.amazonaws.marketplaceagreement",
    ENTITLEMENT: "com.amazonaws.marketplaceentitlementservice",
}
_THROTTLE = {
    CATALOG: ("ThrottlingException", 429),
    AGREEMENT: ("ThrottlingException", 429),
    ENTITLEMENT: ("ThrottlingException", 400),
    METERING: ("ThrottlingException", 400),
}
_SERVER_ERROR = {
    CATALOG: "InternalServiceException",
    AGREEMENT: "InternalServerException",
    ENTITLEMENT: "InternalServiceErrorException",
    METERING: "InternalServiceErrorException",
}
_REASONS = {
    200: "OK",
    400: "Bad Request",
    402: "Payment Required",
    403: "Forbidden",
    404: "Not Found",
    415: "Unsupported Media Type",
    422: "Unprocessable Entity",
    423: "Locked",
    429: "Too Many Requests",
    500: "Internal Server Error",
    503: "Service Unavailable",
}


@dataclass
class Faults:
    """Fault injection: random throttles / 5xx / latency, plus a script of exact outcomes per operation.

    ``script`` maps an operation name to the outcomes of its next calls, consumed in order: an error code
    (``"ThrottlingException"``, ``"InternalServiceErrorException"``, any modeled error), ``"drop"`` (close the
    connection without processing) or ``"drop_after"`` (process the call, then close the connection without
    answering: the client can't know whether it happened).
    """

    throttle_rate: float = 0.0
    error_rate: float = 0.0
    latency_ms: float = 0.0
    operations: list[str] | None = None
    seed: int | None = None
    script: dict[str, list[str]] = field(default_factory=dict)


class MarketplaceSandbox(ThreadingHTTPServer):
    """A threaded HTTP server on 127.0.0.1 serving one ``SandboxState`` for the four Marketplace services."""

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64

    def __init__(
        self,
        state: SandboxState | None = None,
        port: int = 0,
        faults: Faults | None = None,
        strict: bool = True,
    ) -> None:
        super().__init__(("127.0.0.1", port), _Handler)
        self.state = state or SandboxState()
        self.validators = {name: Validator(name) for name in (CATALOG, AGREEMENT, ENTITLEMENT, METERING)}
        self.faults = faults or Faults()
        self.strict = strict
        self._lock = threading.Lock()
        self._rng = random.Random(self.faults.seed)
        self._request_ids = itertools.count(1)
        self.calls: list[dict[str, Any]] = []  # one entry per authenticated API request
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}"

    # ------------------------------------------------------------------------------------------- test handles

    def set_faults(self, faults: Faults | None = None, **changes: Any) -> None:
        with self._lock:
            self.faults = faults or Faults(**changes)
            self._rng = random.Random(self.faults.seed)

    def script(self, operation: str, *outcomes: str) -> None:
        """Queue exact outcomes for the next calls of ``operation`` (see ``Faults``)."""
        with self._lock:
            self.faults.script.setdefault(operation, []).extend(outcomes)

    def count(
        self, operation: str | None = None, *, outcome: str | None = None, seller: str | None = None
    ) -> int:
        """How many requests arrived for ``operation`` (optionally with an outcome: ok, error code, ...)."""
        with self._lock:
            return sum(
                1
                for c in self.calls
                if (operation is None or c["operation"] == operation)
                and (outcome is None or c["outcome"] == outcome)
                and (seller is None or c["seller"] == seller)
            )

    def reset_calls(self) -> None:
        with self._lock:
            self.calls.clear()

    def credentials(self, seller: str) -> dict[str, str]:
        """Keyword arguments for a boto3 client acting as the named seller."""
        account = self.state.seller_by_name(seller)
        return {
            "endpoint_url": self.url,
            "region_name": "us-east-1",
            "aws_access_key_id": account.access_key_id,
            "aws_secret_access_key": account.secret_access_key,
        }

    def _record(self, service: str, operation: str, seller: str | None, outcome: str, **extra: Any) -> None:
        with self._lock:
            self.calls.append(
                {"service": service, "operation": operation, "seller": seller, "outcome": outcome, **extra}
            )

    def _fate(self, operation: str) -> str | None:
        with self._lock:
            queued = self.faults.script.get(operation)
            if queued:
                return queued.pop(0)
            f = self.faults
            if f.operations is not None and operation not in f.operations:
                return None
            roll = self._rng.random()
            if roll < f.throttle_rate:
                return "throttle"
            if roll < f.throttle_rate + f.error_rate:
                return "error"
            return None

    def next_request_id(self) -> str:
        return f"mpsbx-{next(self._request_ids):010d}"

    # ------------------------------------------------------------------------------------------- lifecycle

    def start(self) -> MarketplaceSandbox:
        self._thread = threading.Thread(
            target=self.serve_forever,
            kwargs={"poll_interval": 0.1},
            name=f"mp-sandbox-{self.server_address[1]}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self.shutdown()
        self.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> MarketplaceSandbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


class _Drop(Exception):
    """Close the connection without an answer."""


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        seconds = value.astimezone(UTC).timestamp()
        return int(seconds) if seconds == int(seconds) else seconds
    raise TypeError(f"cannot serialise {type(value).__name__}")


def _field_name(path: str) -> str:
    """``ChangeSet[0].Details`` -> ``ChangeSet.0.Details`` (the catalog's FieldName pattern has no brackets)."""
    return path.replace("[", ".").replace("]", "") or "request"


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # TCP_NODELAY: whole responses leave at once, no delayed-ACK stalls
    server: MarketplaceSandbox

    def log_message(self, format: str, *args: Any) -> None:
        return

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def do_PATCH(self) -> None:
        self._handle("PATCH")

    def do_DELETE(self) -> None:
        self._handle("DELETE")

    # ------------------------------------------------------------------------------------------- wire

    def _write(self, status: int, body: bytes, headers: dict[str, str]) -> None:
        lines = [
            f"HTTP/1.1 {status} {_REASONS.get(status, 'Error')}",
            f"x-amzn-RequestId: {self.server.next_request_id()}",
            f"Content-Length: {len(body)}",
        ]
        lines += [f"{k}: {v}" for k, v in headers.items()]
        self.wfile.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)
        self.wfile.flush()

    def _body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _handle(self, method: str) -> None:
        path, _, query = self.path.partition("?")
        body = self._body()
        if path.startswith("/_sandbox/"):
            self._control(method, path, body)
            return
        try:
            service, operation, protocol = self._route(method, path)
        except ApiError as exc:
            self._error(CATALOG, "rest-json", exc)
            return
        server = self.server
        try:
            seller = self._authenticate(method, path, query, body)
        except AuthError as exc:
            server._record(service, operation, None, exc.code)
            self._error(service, protocol, ApiError(exc.code, exc.message, exc.status))
            return
        try:
            params = self._params(service, operation, protocol, method, query, body)
            model_op = server.validators[service].model.operation_model(operation)
            params = coerce_timestamps(params, model_op.input_shape)
            problems = server.validators[service].input_problems(operation, params)
            if problems:
                raise self._validation_error(service, problems)
            fate = server._fate(operation)
            if server.faults.latency_ms:
                time.sleep(server.faults.latency_ms / 1000.0)
            if fate == "drop":
                raise _Drop()
            if fate == "throttle" or fate == "ThrottlingException":
                code, status = _THROTTLE[service]
                raise ApiError(code, "Rate exceeded", status)
            if fate == "error":
                raise ApiError(_SERVER_ERROR[service], "The sandbox injected a server error", 500)
            if fate not in (None, "drop_after"):
                shape = (
                    server.validators[service].model.shape_for(fate)
                    if fate in server.validators[service].model.shape_names
                    else None
                )
                status = (
                    (shape.metadata.get("error") or {}).get(
                        "httpStatusCode", 500 if "Internal" in fate else 400
                    )
                    if shape is not None
                    else 400
                )
                raise ApiError(fate, "The sandbox injected this error", status)
            with server.state.lock:
                result = self._dispatch(service, operation, seller, params, len(body))
            if server.strict:
                bad = server.validators[service].output_problems(operation, result)
                if bad:
                    raise ApiError(
                        _SERVER_ERROR[service],
                        "sandbox bug, response does not match the model: "
                        + "; ".join(f"{p.field}: {p.message}" for p in bad[:5]),
                        500,
                    )
            if fate == "drop_after":
                raise _Drop()
        except _Drop:
            server._record(service, operation, seller.account_id, "dropped")
            self.close_connection = True
            return
        except ApiError as exc:
            server._record(service, operation, seller.account_id, exc.code)
            self._error(service, protocol, exc)
            return
        server._record(
            service,
            operation,
            seller.account_id,
            "ok",
            **({"records": len(params.get("UsageRecords") or [])} if operation == "BatchMeterUsage" else {}),
        )
        self._ok(protocol, service, result)

    def _route(self, method: str, path: str) -> tuple[str, str, str]:
        """(service, operation, protocol) of a request."""
        target = self.headers.get("X-Amz-Target")
        if target:
            prefix, _, operation = target.partition(".")
            service = TARGETS.get(prefix)
            if service is None:
                raise ApiError("UnknownOperationException", f"Unknown target {target}", 400)
            if operation not in self.server.validators[service].model.operation_names:
                raise ApiError("UnknownOperationException", f"Unknown operation {operation}", 400)
            return service, operation, "json"
        parts = path.strip("/").split("/")
        if len(parts) == 4 and parts[0] == "service" and parts[2] == "operation":
            service = TARGETS.get(parts[1])
            if (
                service not in (AGREEMENT, ENTITLEMENT)
                or self.headers.get("smithy-protocol") != "rpc-v2-cbor"
            ):
                raise ApiError("UnknownOperationException", f"No RPC v2 CBOR service at {path}", 404)
            if parts[3] not in self.server.validators[service].model.operation_names:
                raise ApiError("UnknownOperationException", f"Unknown operation {parts[3]}", 404)
            return service, parts[3], "cbor"
        model = self.server.validators[CATALOG].model
        operation = parts[0] if len(parts) == 1 else ""
        if operation not in model.operation_names:
            raise ApiError("UnknownOperationException", f"No operation at {method} {path}", 404)
        expected = model.operation_model(operation).http["method"]
        if method != expected:
            raise ApiError(
                "UnknownOperationException", f"{operation} is served by {expected}, not {method}", 404
            )
        return CATALOG, operation, "rest-json"

    def _authenticate(self, method: str, path: str, query: str, body: bytes) -> SellerAccount:
        akid = access_key(self.headers)
        seller = self.server.state.seller_by_key(akid)
        if seller is None:
            raise AuthError(
                "UnrecognizedClientException", "The security token included in the request is invalid"
            )
        verify(method, path, query, self.headers, body, seller.secret_access_key)
        return seller

    def _params(
        self, service: str, operation: str, protocol: str, method: str, query: str, body: bytes
    ) -> dict[str, Any]:
        try:
            if protocol == "cbor":
                params = cbor.decode(body) if body else {}
            elif body:
                params = json.loads(body)
            else:
                params = {}
        except (ValueError, cbor.CBORError) as exc:
            raise self._validation_error(
                service, [Problem("", f"The request body could not be parsed: {exc}")], cannot_parse=True
            ) from None
        if not isinstance(params, dict):
            raise self._validation_error(service, [Problem("", "The request body must be an object")])
        if protocol == "rest-json":
            shape = self.server.validators[service].model.operation_model(operation).input_shape
            by_location = {
                m.serialization.get("name"): (name, m)
                for name, m in shape.members.items()
                if m.serialization.get("location") == "querystring"
            }
            for key, value in parse_qsl(query, keep_blank_values=True):
                if key in by_location:
                    name, member = by_location[key]
                    params[name] = int(value) if member.type_name == "integer" and value.isdigit() else value
        return params

    def _validation_error(
        self, service: str, problems: list[Problem], cannot_parse: bool = False
    ) -> ApiError:
        n = len(problems)
        message = f"{n} validation error{'s' if n != 1 else ''} detected: " + "; ".join(
            p.message for p in problems
        )
        if service == CATALOG:
            return ApiError(
                "ValidationException",
                message[:2048],
                422,
                ValidationExceptionFieldList=[
                    {
                        "Reason": "CannotParse" if cannot_parse else "FieldValidationFailed",
                        "Field": _field_name(p.field),
                        "Message": p.message[:2048],
                    }
                    for p in problems
                ],
            )
        if service == AGREEMENT:
            return ApiError(
                "ValidationException",
                message,
                400,
                reason="OTHER",
                fields=[{"name": p.field or "request", "message": p.message} for p in problems],
            )
        if service == ENTITLEMENT:
            return ApiError("InvalidParameterException", message, 400)
        return ApiError("ValidationException", message, 400)

    def _dispatch(
        self, service: str, operation: str, seller: SellerAccount, params: dict[str, Any], body_size: int
    ) -> dict[str, Any]:
        state = self.server.state
        who = seller.account_id
        handlers: dict[tuple[str, str], Callable[[], dict[str, Any]]] = {
            (CATALOG, "ListEntities"): lambda: state.catalog.list_entities(who, params),
            (CATALOG, "BatchDescribeEntities"): lambda: state.catalog.batch_describe(who, params),
            (CATALOG, "DescribeEntity"): lambda: state.catalog.describe_entity(who, params),
            (CATALOG, "StartChangeSet"): lambda: state.catalog.start(who, params),
            (CATALOG, "DescribeChangeSet"): lambda: state.catalog.describe_change_set(who, params),
            (CATALOG, "CancelChangeSet"): lambda: state.catalog.cancel(who, params),
            (CATALOG, "ListChangeSets"): lambda: state.catalog.list_change_sets(who, params),
            (AGREEMENT, "SearchAgreements"): lambda: state.commerce_api.search_agreements(who, params),
            (AGREEMENT, "DescribeAgreement"): lambda: state.commerce_api.describe_agreement(who, params),
            (AGREEMENT, "GetAgreementTerms"): lambda: state.commerce_api.get_agreement_terms(who, params),
            (ENTITLEMENT, "GetEntitlements"): lambda: state.commerce_api.get_entitlements(who, params),
            (METERING, "BatchMeterUsage"): lambda: state.metering.batch_meter_usage(who, params, body_size),
            (METERING, "ResolveCustomer"): lambda: state.metering.resolve_customer(who, params),
        }
        handler = handlers.get((service, operation))
        if handler is None:
            raise ApiError(
                "UnknownOperationException" if service != CATALOG else "ValidationException",
                f"The sandbox does not implement {operation}",
                400 if service != CATALOG else 422,
            )
        return handler()

    # ------------------------------------------------------------------------------------------- answers

    def _ok(self, protocol: str, service: str, result: dict[str, Any]) -> None:
        if protocol == "cbor":
            self._write(
                200,
                cbor.encode(result),
                {"Content-Type": "application/cbor", "smithy-protocol": "rpc-v2-cbor"},
            )
        elif protocol == "json":
            body = json.dumps(result, default=_json_default).encode()
            self._write(200, body, {"Content-Type": f"application/x-amz-json-{_JSON_VERSION[service]}"})
        else:
            self._write(
                200, json.dumps(result, default=_json_default).encode(), {"Content-Type": "application/json"}
            )

    def _error(self, service: str, protocol: str, exc: ApiError) -> None:
        status = exc.status or (500 if "Internal" in exc.code else 400)
        if protocol == "cbor":
            body = cbor.encode(
                {"__type": f"{_NAMESPACE[service]}#{exc.code}", "message": exc.message, **exc.members}
            )
            self._write(status, body, {"Content-Type": "application/cbor", "smithy-protocol": "rpc-v2-cbor"})
        elif protocol == "json":
            body = json.dumps(
                {"__type": exc.code, "message": exc.message, **exc.members}, default=_json_default
            )
            self._write(
                status, body.encode(), {"Content-Type": f"application/x-amz-json-{_JSON_VERSION[service]}"}
            )
        else:
            body = json.dumps({"Message": exc.message, **exc.members}, default=_json_default)
            self._write(
                status, body.encode(), {"Content-Type": "application/json", "x-amzn-ErrorType": exc.code}
            )

    # ------------------------------------------------------------------------------------------- control

    def _control(self, method: str, path: str, body: bytes) -> None:
        """Test and demo hooks: health, sellers, clock, faults, subscriptions, calls, billed records."""
        server = self.server
        state = server.state
        try:
            payload = json.loads(body) if body else {}
            if not isinstance(payload, dict):
                raise ValueError("body must be a JSON object")
            with state.lock:
                result = self._control_result(method, path, payload)
        except (KeyError, ValueError, TypeError, ApiError) as exc:
            self._write(400, json.dumps({"error": str(exc)}).encode(), {"Content-Type": "application/json"})
            return
        if result is None:
            self._write(
                404, b'{"error":"unknown sandbox control endpoint"}', {"Content-Type": "application/json"}
            )
            return
        self._write(
            200, json.dumps(result, default=_json_default).encode(), {"Content-Type": "application/json"}
        )

    def _control_result(self, method: str, path: str, payload: dict[str, Any]) -> Any:
        server, state = self.server, self.server.state
        if path == "/_sandbox/health":
            return {"ok": True, "sellers": sorted(s.name for s in state.sellers.values())}
        if path == "/_sandbox/sellers" and method == "GET":
            return [s.credentials() for s in state.sellers.values()]
        if path == "/_sandbox/clock" and method == "POST":
            state.clock.set(to_datetime(payload["now"]) if payload.get("now") else None)
            return {"now": state.clock.now()}
        if path == "/_sandbox/faults" and method == "POST":
            server.set_faults(Faults(**payload))
            return asdict(server.faults)
        if path == "/_sandbox/calls" and method == "GET":
            with server._lock:
                return list(server.calls)
        if path == "/_sandbox/subscribe" and method == "POST":
            agreement, token = state.commerce.subscribe(
                payload["product_id"],
                payload["customer_account_id"],
                offer_id=payload.get("offer_id"),
                entitlements=payload.get("entitlements"),
                auto_renew=payload.get("auto_renew", True),
            )
            return {
                "agreement_id": agreement.agreement_id,
                "license_arn": agreement.license_arn,
                "registration_token": token,
                "product_code": agreement.product_code,
            }
        if path == "/_sandbox/agreements/update" and method == "POST":
            agreement = state.commerce.update(payload.pop("agreement_id"), **payload)
            return {"agreement_id": agreement.agreement_id, "status": agreement.status}
        if path == "/_sandbox/billed" and method == "GET":
            return [
                {
                    "product_code": r.product_code,
                    "dimension": r.dimension,
                    "usage_hour": r.usage_hour,
                    "quantity": str(r.quantity),
                    "customer_account_id": r.customer_account_id,
                    "license_arn": r.license_arn,
                    "metering_record_id": r.metering_record_id,
                }
                for r in state.metering.billed()
            ]
        return None


def serve_in_thread(
    state: SandboxState | None = None, port: int = 0, faults: Faults | None = None, strict: bool = True
) -> MarketplaceSandbox:
    """Start a sandbox on 127.0.0.1 in a background thread (``port=0`` picks a free port)."""
    return MarketplaceSandbox(state, port, faults, strict).start()
