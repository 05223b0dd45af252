"""Semantic versions (2.0.0) and npm-style ranges (``^1.2``, ``~1.2.3``, ``>=1.0.0 <2.0.0``, ``1.x``, ``*``, ``||``).

Both come from ``semantic_version``: its ``Version`` is strict SemVer 2.0.0 and its ``NpmSpec`` implements npm's
range grammar, including npm's prerelease rule (a prerelease only matches a comparator on the same x.y.z that
itself has a prerelease). This module only turns the library's errors into messages that name the bad text.
"""

from __future__ import annotations

import re

from semantic_version import NpmSpec, Version

# npm accepts a space between an operator and its version (">= 1.0.0"); NpmSpec does not, so it is closed first.
_OPERATOR_GAP = re.compile(r"(\^|~|>=|<=|>|<|=)\s+")

__all__ = ["NpmSpec", "Version", "in_range", "parse_range", "parse_version"]


def parse_version(text: str) -> Version:
    """A strict semantic version (MAJOR.MINOR.PATCH[-pre][+build]); ValueError names the text otherwise."""
    try:
        return Version(text.strip())
    except ValueError:
        raise ValueError(f"{text!r} is not a semantic version (MAJOR.MINOR.PATCH[-pre][+build])") from None


def parse_range(text: str) -> NpmSpec:
    """An npm-style version range; ValueError names the text when it cannot be read."""
    if not text.strip():
        raise ValueError("a version range must be a non-empty string")
    try:
        return NpmSpec(_OPERATOR_GAP.sub(r"\1", text.strip()))
    except ValueError as exc:
        raise ValueError(f"{text!r} is not a version range: {exc}") from None


def in_range(version: Version, wanted: NpmSpec) -> bool:
    """Whether ``version`` satisfies ``wanted`` (build metadata is ignored, as SemVer precedence says)."""
    return bool(wanted.match(version.truncate("prerelease")))
