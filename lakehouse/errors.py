"""Typed errors. Each carries the CLI exit code of DESIGN.md: 2 bad input, 3 quality gate, 4 tenancy/authz."""

from __future__ import annotations


class LakehouseError(Exception):
    """Base class; ``exit_code`` is what the CLI exits with when this escapes a command."""

    exit_code = 1


class BadInput(LakehouseError, ValueError):
    """Bad usage or bad input; the message names what was wrong."""

    exit_code = 2


class SchemaMismatch(BadInput):
    """A write whose DataFrame does not match the table's declared schema; nothing was written."""


class QualityGateFailed(LakehouseError):
    """A ``fail`` expectation was violated; nothing from the run was promoted."""

    exit_code = 3


class MissingSuite(QualityGateFailed):
    """A silver, gold or platinum table has no quality suite: its gate fails closed instead of passing empty."""


class Refused(LakehouseError):
    """A tenancy, authorization or quota check refused the action; nothing was done."""

    exit_code = 4
