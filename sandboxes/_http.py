"""What every emulator shares: the loopback HTTP server, fault injection, the error type and the command line.

A service family subclasses ``EmulatorServer`` (state, validators, counters) and ``EmulatorHandler`` (its wire
protocol), in the spirit of moto's one ``BaseResponse`` under many services. Responses are written whole with
TCP_NODELAY: a keep-alive boto3 client otherwise stalls on delayed ACKs (about 22 calls/s instead of 1,300).
"""

from __future__ import annotations

import argparse
import itertools
import json
import random
import signal
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self

THROTTLE, ERROR, DROP, DROP_AFTER = "throttle", "error", "drop", "drop_after"


class ApiError(Exception):
    """An AWS error answer: ``code`` (the exception shape name), message, HTTP status and extra members."""

    def __init__(self, code: str, message: str, status: int | None = None, **members: Any) -> None:
        super().__init__(f"{code}: {message}")
        self.code, self.message, self.status, self.members = code, message, status, members


@dataclass
class Faults:
    """Fault injection: random throttles and 5xx, added latency, an outage, and scripted exact outcomes.

    ``script`` maps an operation name to the outcomes of its next calls, consumed in order: an error code (any
    modelled error), ``"throttle"``, ``"error"``, ``"drop"`` (close the connection without processing) or
    ``"drop_after"`` (process the call, then close without answering: the client can't know it happened).
    ``outage_after``: after this many successful calls, every call fails with a 5xx.
    """

    throttle_rate: float = 0.0
    error_rate: float = 0.0
    latency_ms: float = 0.0
    operations: list[str] | None = None  # None: every operation
    outage_after: int | None = None
    seed: int | None = None
    script: dict[str, list[str]] = field(default_factory=dict)


class EmulatorServer(ThreadingHTTPServer):
    """A threaded HTTP server on 127.0.0.1 with fault dice, request ids and a background-thread lifecycle."""

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128
    request_id_prefix = "sbx-"
    thread_name = "sandbox"

    def __init__(self, handler: type[EmulatorHandler], port: int = 0, faults: Faults | None = None) -> None:
        super().__init__(("127.0.0.1", port), handler)
        self._lock = threading.Lock()
        self.faults = faults or Faults()
        self._rng = random.Random(self.faults.seed)
        self._request_ids = itertools.count(1)
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """``http://127.0.0.1:<port>``, the ``endpoint_url`` for boto3."""
        host, port = self.server_address[:2]
        return f"http://{host!s}:{port}"

    def next_request_id(self) -> str:
        """A fresh ``x-amzn-RequestId``."""
        return f"{self.request_id_prefix}{next(self._request_ids):012d}"

    def set_faults(self, faults: Faults | None = None, **changes: Any) -> None:
        """Replace the fault settings (``set_faults(throttle_rate=0.3)`` or a ``Faults``)."""
        with self._lock:
            self.faults = faults or Faults(**changes)
            self._rng = random.Random(self.faults.seed)

    def script(self, operation: str, *outcomes: str) -> None:
        """Queue exact outcomes for the next calls of ``operation`` (see ``Faults``)."""
        with self._lock:
            self.faults.script.setdefault(operation, []).extend(outcomes)

    def succeeded_calls(self) -> int:
        """Calls served successfully so far (what ``Faults.outage_after`` counts); families override it."""
        return 0

    def fate(self, operation: str) -> str | None:
        """The fate of one call: None (serve), a scripted outcome, ``"throttle"`` or ``"error"``."""
        succeeded = self.succeeded_calls() if self.faults.outage_after is not None else 0
        with self._lock:
            queued = self.faults.script.get(operation)
            if queued:
                return queued.pop(0)
            f = self.faults
            if f.operations is not None and operation not in f.operations:
                return None
            if f.outage_after is not None and succeeded >= f.outage_after:
                return ERROR
            roll = self._rng.random()
            if roll < f.throttle_rate:
                return THROTTLE
            if roll < f.throttle_rate + f.error_rate:
                return ERROR
            return None

    def start(self) -> Self:
        """Serve in a daemon thread (returns self; use ``stop()`` or a ``with`` block)."""
        self._thread = threading.Thread(
            target=self.serve_forever,
            kwargs={"poll_interval": 0.1},
            name=f"{self.thread_name}-{self.server_address[1]}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and release the port."""
        self.shutdown()
        self.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


class EmulatorHandler(BaseHTTPRequestHandler):
    """HTTP/1.1 keep-alive handler that writes each response in one piece, with TCP_NODELAY."""

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server: EmulatorServer

    def log_message(self, format: str, *args: Any) -> None:
        """Silent: tests and benchmarks read counters, not access logs."""

    def read_body(self) -> bytes:
        """The request body (``Content-Length`` bytes)."""
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def write(self, status: int, body: bytes, headers: dict[str, str]) -> None:
        """Status line, headers and body in one write."""
        reason = HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else "Error"
        lines = [
            f"HTTP/1.1 {status} {reason}",
            f"x-amzn-RequestId: {self.server.next_request_id()}",
            f"Content-Length: {len(body)}",
        ]
        lines += [f"{k}: {v}" for k, v in headers.items()]
        if self.close_connection:
            lines.append("Connection: close")
        self.wfile.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)
        self.wfile.flush()

    def write_json(self, status: int, value: Any, default: Callable[[Any], Any] | None = None) -> None:
        """A plain JSON answer (the ``/_sandbox/`` control endpoints)."""
        self.write(status, json.dumps(value, default=default).encode(), {"Content-Type": "application/json"})

    def control(self, method: str, path: str, body: bytes) -> None:
        """Answer a ``/_sandbox/`` control request (not part of any AWS API) with ``control_result``."""
        try:
            payload = json.loads(body) if body else {}
            if not isinstance(payload, dict):
                raise TypeError("body must be a JSON object")
            result = self.control_result(method, path, payload)
        except (KeyError, ValueError, TypeError, ApiError) as exc:
            self.write_json(400, {"error": f"bad control request: {exc}"})
            return
        if result is None:
            self.write_json(404, {"error": "unknown sandbox control endpoint"})
        else:
            self.write_json(200, result, default=self.json_default)

    def control_result(self, method: str, path: str, payload: dict[str, Any]) -> Any:
        """The answer to a control request, or None when ``path`` names no control endpoint."""
        return None

    @staticmethod
    def json_default(value: Any) -> Any:
        """How values JSON cannot carry are written (families with timestamps override it)."""
        raise TypeError(f"cannot serialise {type(value).__name__}")


# ------------------------------------------------------------------------------------------------ command line


def command_line(prog: str, description: str | None, port: int) -> argparse.ArgumentParser:
    """The options every emulator's ``__main__`` takes: port, fault rates and ``--ready-json``."""
    parser = argparse.ArgumentParser(prog=prog, description=description)
    parser.add_argument("--port", type=int, default=port, help="port on 127.0.0.1 (0 picks a free one)")
    parser.add_argument("--throttle-rate", type=float, default=0.0)
    parser.add_argument("--error-rate", type=float, default=0.0)
    parser.add_argument("--latency-ms", type=float, default=0.0)
    parser.add_argument("--ready-json", action="store_true", help="print one JSON line describing the server")
    return parser


def faults_of(args: argparse.Namespace) -> Faults:
    """The ``Faults`` the command-line options ask for."""
    return Faults(args.throttle_rate, args.error_rate, args.latency_ms)


def _interrupt(*_: object) -> None:
    raise KeyboardInterrupt


def serve_foreground(server: EmulatorServer, ready: dict[str, Any] | None, banner: str) -> int:
    """Print ``ready`` as one JSON line (or ``banner``), then serve until Ctrl-C or SIGTERM; returns 0."""
    signal.signal(signal.SIGTERM, _interrupt)
    print(json.dumps(ready) if ready is not None else banner, flush=True)
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0
