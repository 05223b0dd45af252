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

import io
import json
import time
from collections.abc import Callable
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl

import cbor2

from sandboxes._http import (
    DROP,
    DROP_AFTER,
    ERROR,
    THROTTLE,
    ApiError,
    EmulatorHandler,
    EmulatorServer,
    Faults,
)
from sandboxes._model import Problem
from sandboxes._sigv4 import AuthError, SignedRequest, access_key, verify
from sandboxes.marketplace.state import SandboxState, SellerAccount
from sandboxes.marketplace.validation import coerce_timestamps, to_datetime, validator

SIGNING_NAME = "aws-marketplace"
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


class MarketplaceSandbox(EmulatorServer):
    """The four Marketplace services on one 127.0.0.1 port, serving one ``SandboxState``."""

    request_queue_size = 64
    request_id_prefix = "mpsbx-"
    thread_name = "mp-sandbox"

    def __init__(
        self,
        state: SandboxState | None = None,
        port: int = 0,
        faults: Faults | None = None,
        strict: bool = True,
    ) -> None:
        super().__init__(_Handler, port, faults)
        self.state = state or SandboxState()
        self.validators = {name: validator(name) for name in (CATALOG, AGREEMENT, ENTITLEMENT, METERING)}
        self.strict = strict
        self.calls: list[dict[str, Any]] = []  # one entry per authenticated API request

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
        """Forget the recorded calls."""
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

    def succeeded_calls(self) -> int:
        """Calls answered ``ok`` (what ``Faults.outage_after`` counts)."""
        return self.count(outcome="ok")

    def record(self, service: str, operation: str, seller: str | None, outcome: str, **extra: Any) -> None:
        """Remember one authenticated API request and how it ended."""
        with self._lock:
            self.calls.append(
                {"service": service, "operation": operation, "seller": seller, "outcome": outcome, **extra}
            )


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


def _cbor(value: Any) -> bytes:
    """Smithy RPC v2 CBOR: timestamps as tag 1 (epoch seconds)."""
    return cbor2.dumps(value, datetime_as_timestamp=True, timezone=UTC)


def _uncbor(body: bytes) -> Any:
    """Exactly one CBOR data item (``cbor2.loads`` would ignore trailing bytes, which the service refuses)."""
    stream = io.BytesIO(body)
    value = cbor2.CBORDecoder(stream).decode()
    if stream.tell() != len(body):
        raise ValueError(f"{len(body) - stream.tell()} trailing byte(s) after the CBOR item")
    return value


class _Handler(EmulatorHandler):
    server: MarketplaceSandbox
    json_default = staticmethod(_json_default)

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def do_PATCH(self) -> None:
        self._handle("PATCH")

    def do_DELETE(self) -> None:
        self._handle("DELETE")

    def _handle(self, method: str) -> None:
        path, _, query = self.path.partition("?")
        body = self.read_body()
        if path.startswith("/_sandbox/"):
            self.control(method, path, body)
            return
        try:
            service, operation, protocol = self._route(method, path)
        except ApiError as exc:
            self._error(CATALOG, "rest-json", exc)
            return
        server = self.server
        try:
            seller = self._authenticate(SignedRequest(method, path, query, self.headers, body))
        except AuthError as exc:
            server.record(service, operation, None, exc.code)
            self._error(service, protocol, ApiError(exc.code, exc.message, exc.status))
            return
        params: dict[str, Any] = {}
        try:
            params = self._params(service, operation, protocol, query, body)
            result = self._serve(service, operation, seller, params, len(body))
        except _Drop:
            server.record(service, operation, seller.account_id, "dropped")
            self.close_connection = True
            return
        except ApiError as exc:
            server.record(service, operation, seller.account_id, exc.code)
            self._error(service, protocol, exc)
            return
        records = {"records": len(params.get("UsageRecords") or [])} if operation == "BatchMeterUsage" else {}
        server.record(service, operation, seller.account_id, "ok", **records)
        self._ok(protocol, service, result)

    def _serve(
        self, service: str, operation: str, seller: SellerAccount, params: dict[str, Any], body_size: int
    ) -> dict[str, Any]:
        """Validate, roll the fault dice, then run the operation under the state lock (raises ``ApiError``)."""
        server = self.server
        problems = server.validators[service].input_problems(operation, params)
        if problems:
            raise self._validation_error(service, problems)
        fate = server.fate(operation)
        if server.faults.latency_ms:
            time.sleep(server.faults.latency_ms / 1000.0)
        if fate == DROP:
            raise _Drop()
        if fate is not None and fate != DROP_AFTER:
            raise self._injected(service, fate)
        with server.state.lock:
            result = self._dispatch(service, operation, seller, params, body_size)
        if server.strict:
            bad = server.validators[service].output_problems(operation, result)
            if bad:
                raise ApiError(
                    _SERVER_ERROR[service],
                    "sandbox bug, response does not match the model: "
                    + "; ".join(f"{p.field}: {p.message}" for p in bad[:5]),
                    500,
                )
        if fate == DROP_AFTER:
            raise _Drop()
        return result

    def _injected(self, service: str, fate: str) -> ApiError:
        """The error a fault-injection outcome answers with (a throttle, a 5xx or any modelled error)."""
        if fate in (THROTTLE, "ThrottlingException"):
            code, status = _THROTTLE[service]
            return ApiError(code, "Rate exceeded", status)
        if fate == ERROR:
            return ApiError(_SERVER_ERROR[service], "The sandbox injected a server error", 500)
        model = self.server.validators[service].model
        status = 500 if "Internal" in fate else 400
        if fate in model.shape_names:
            status = (model.shape_for(fate).metadata.get("error") or {}).get("httpStatusCode", status)
        return ApiError(fate, "The sandbox injected this error", status)

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

    def _authenticate(self, request: SignedRequest) -> SellerAccount:
        seller = self.server.state.seller_by_key(access_key(self.headers, (SIGNING_NAME,)))
        if seller is None:
            raise AuthError(
                "UnrecognizedClientException", "The security token included in the request is invalid"
            )
        verify(request, seller.secret_access_key)
        return seller

    def _params(self, service: str, operation: str, protocol: str, query: str, body: bytes) -> dict[str, Any]:
        """The request's parameters, parsed by protocol, with query members and timestamps typed."""
        try:
            if protocol == "cbor":
                params = _uncbor(body) if body else {}
            elif body:
                params = json.loads(body)
            else:
                params = {}
        except (ValueError, cbor2.CBORDecodeError) as exc:
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
        input_shape = self.server.validators[service].model.operation_model(operation).input_shape
        result: dict[str, Any] = coerce_timestamps(params, input_shape)
        return result

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
            self.write(
                200,
                _cbor(result),
                {"Content-Type": "application/cbor", "smithy-protocol": "rpc-v2-cbor"},
            )
        elif protocol == "json":
            body = json.dumps(result, default=_json_default).encode()
            self.write(200, body, {"Content-Type": f"application/x-amz-json-{_JSON_VERSION[service]}"})
        else:
            self.write(
                200, json.dumps(result, default=_json_default).encode(), {"Content-Type": "application/json"}
            )

    def _error(self, service: str, protocol: str, exc: ApiError) -> None:
        status = exc.status or (500 if "Internal" in exc.code else 400)
        if protocol == "cbor":
            answer = {"__type": f"{_NAMESPACE[service]}#{exc.code}", "message": exc.message, **exc.members}
            headers = {"Content-Type": "application/cbor", "smithy-protocol": "rpc-v2-cbor"}
            self.write(status, _cbor(answer), headers)
        elif protocol == "json":
            text = json.dumps(
                {"__type": exc.code, "message": exc.message, **exc.members}, default=_json_default
            )
            headers = {"Content-Type": f"application/x-amz-json-{_JSON_VERSION[service]}"}
            self.write(status, text.encode(), headers)
        else:
            text = json.dumps({"Message": exc.message, **exc.members}, default=_json_default)
            headers = {"Content-Type": "application/json", "x-amzn-ErrorType": exc.code}
            self.write(status, text.encode(), headers)

    # ------------------------------------------------------------------------------------------- control

    def control_result(self, method: str, path: str, payload: dict[str, Any]) -> Any:
        """Test and demo hooks: health, sellers, clock, faults, subscriptions, calls, billed records."""
        with self.server.state.lock:
            return self._control_answer(method, path, payload)

    def _control_answer(self, method: str, path: str, payload: dict[str, Any]) -> Any:
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
