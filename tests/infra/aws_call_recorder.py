"""pytest plugin: record every AWS operation that project code (lakehouse/, not the emulators) sends via botocore.

Loaded for every session (tests/conftest.py). tests/infra/test_iam_from_code.py checks the record after the
flow tests (connector, writer, Marketplace) have run in the same session: this plugin moves that check to the
end and keeps which flow tests passed. When they were not all part of the session (a run of tests/infra alone),
the check runs them in a child pytest with ``LAKEHOUSE_AWS_CALL_LOG=<file>``, where the operations land as JSON
``[[service, operation], ...]``. Patching ``BaseClient._make_api_call`` sees every client call, paginators
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
_calls_by_module: dict[str, set[tuple[str, str]]] = {}  # test module path -> calls made while it ran
_current_module = ""
_passed: dict[str, int] = {}  # test module path -> tests that passed in this session
_failed: set[str] = set()
_CHECK = "test_iam_from_code.py::test_the_code_calls_only_declared_operations"


def recorded_in_session(modules: tuple[str, ...]) -> set[tuple[str, str]] | None:
    """The calls recorded so far if every one of ``modules`` ran and passed in this session, else None."""
    if all(_passed.get(m) for m in modules) and not _failed.intersection(modules):
        return set().union(*(_calls_by_module.get(m, set()) for m in modules))
    return None


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
            call = (self.meta.service_model.service_name, operation_name)
            _calls.add(call)
            _calls_by_module.setdefault(_current_module, set()).add(call)
        return original(self, operation_name, api_params)

    BaseClient._make_api_call = recording  # type: ignore[method-assign]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Run the declared-operations check last, after the flow tests have recorded their calls."""
    checks = [i for i in items if i.nodeid.endswith(_CHECK)]
    if checks:
        items[:] = [i for i in items if not i.nodeid.endswith(_CHECK)] + checks


def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> None:
    """Note which test module is running, so calls are attributed to it."""
    global _current_module
    _current_module = item.nodeid.split("::", 1)[0]


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    """Keep which test modules passed (a failed flow test means its calls may be missing from the record)."""
    module = report.nodeid.split("::", 1)[0]
    if report.failed:
        _failed.add(module)
    elif report.when == "call" and report.passed:
        _passed[module] = _passed.get(module, 0) + 1


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Write what was recorded to LAKEHOUSE_AWS_CALL_LOG."""
    target = os.environ.get("LAKEHOUSE_AWS_CALL_LOG")
    if target:
        Path(target).write_text(json.dumps(sorted(_calls)))
