"""Fixtures for the emulator tests: the seeded servers the connector tests use, driven here with plain boto3."""

from __future__ import annotations

from tests.connectors.conftest import boto_client, sandbox
from tests.marketplace.conftest import NOW, mp

__all__ = ["NOW", "boto_client", "mp", "sandbox"]
