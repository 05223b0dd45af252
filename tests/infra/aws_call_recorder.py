"""pytest plugin: record every AWS operation that project code (lakehouse/, not the emulators) sends via botocore.

Used by tests/infra/test_iam_from_code.py, which runs the connector and writer tests in a child pytest with
``-p tests.infra.aws_call_recorder`` and ``LAKEHOUSE_AWS_CALL_LOG=<file>``; the operations land in that file as
JSON ``[[service, operation], ...]``. Patching ``BaseClient._make_api_call`` sees every client call, paginators
included, whatever client the code built; the caller's stack says whether project code made the call.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import pytest

_ROOT = Path(__file__).resolve().parents[2]
_LIBRARY = str(_ROOT / "lakehouse") + os.sep
_EMULATORS = tuple(str(_ROOT / part) + os.sep for part in ("sandboxes",))
_calls: set[tuple[str, str]] = set()


def _called_from_project_code() -> bool:
    """True when the nearest frame outside botocore/boto3 is library code (not a test, not an emulator)."""
    frame = sys._getframe(2)
    while frame is not None:
        name = frame.f_code.co_filename
        if f"{os.sep}botocore{os.sep}" not in name and f"{os.sep}boto3{os.sep}" not in name:
            if name.startswith(_LIBRARY) and not name.startswith(_EMULATORS):
                return True
            if name.startswith(str(_ROOT)):
                return False  # a test or an emulator calling boto3 itself
        frame = frame.f_back  # type: ignore[assignment]
    return False


def pytest_configure(config: pytest.Config) -> None:
    """Wrap botocore's single API-call entry point for the whole child session."""
    from botocore.client import BaseClient

    original = BaseClient._make_api_call

    def recording(self: Any, operation_name: str, api_params: Any) -> Any:
        if _called_from_project_code():
            _calls.add((self.meta.service_model.service_name, operation_name))
        return original(self, operation_name, api_params)

    BaseClient._make_api_call = recording  # type: ignore[method-assign]


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Write what was recorded to LAKEHOUSE_AWS_CALL_LOG."""
    target = os.environ.get("LAKEHOUSE_AWS_CALL_LOG")
    if target:
        Path(target).write_text(json.dumps(sorted(_calls)))
