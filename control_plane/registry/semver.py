"""Semantic versions (2.0.0) and npm-style ranges: ``^1.2``, ``~1.2.3``, ``>=1.0.0 <2.0.0``, ``1.x``, ``*``, ``||``."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import total_ordering

_SEMVER = re.compile(
    r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
    r"(?:-((?:0|[1-9]\d*|\d*[A-Za-z-][0-9A-Za-z-]*)(?:\.(?:0|[1-9]\d*|\d*[A-Za-z-][0-9A-Za-z-]*))*))?"
    r"(?:\+([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?$"
)
_PARTIAL = re.compile(r"^(\d+|[xX*])(?:\.(\d+|[xX*]))?(?:\.(\d+|[xX*]))?(?:-([0-9A-Za-z.-]+))?$")
_COMPARATOR = re.compile(r"^(\^|~|>=|<=|>|<|=)?\s*(.+)$")


@total_ordering
@dataclass(frozen=True)
class Version:
    """A parsed semantic version; build metadata is kept but ignored when comparing."""

    major: int
    minor: int
    patch: int
    prerelease: tuple[str, ...] = ()
    build: str = ""

    @classmethod
    def parse(cls, text: str) -> Version:
        match = _SEMVER.match(text.strip()) if isinstance(text, str) else None
        if not match:
            raise ValueError(f"{text!r} is not a semantic version (MAJOR.MINOR.PATCH[-pre][+build])")
        pre = tuple(match.group(4).split(".")) if match.group(4) else ()
        return cls(int(match.group(1)), int(match.group(2)), int(match.group(3)), pre, match.group(5) or "")

    def _key(self) -> tuple:
        # A release sorts after its prereleases; numeric identifiers sort before alphanumeric ones.
        pre = tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in self.prerelease)
        return (self.major, self.minor, self.patch, 0 if self.prerelease else 1, pre)

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, Version):
            return NotImplemented
        return self._key() < other._key()

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Version) and self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __str__(self) -> str:
        text = f"{self.major}.{self.minor}.{self.patch}"
        if self.prerelease:
            text += "-" + ".".join(self.prerelease)
        return text + (f"+{self.build}" if self.build else "")


def _partial(text: str) -> tuple[list[int | None], tuple[str, ...]]:
    match = _PARTIAL.match(text)
    if not match:
        raise ValueError(f"{text!r} is not a version or partial version")
    parts: list[int | None] = []
    for group in match.groups()[:3]:
        parts.append(None if group is None or group in "xX*" else int(group))
    # "1.x.3" is meaningless: once a part is a wildcard, the rest must be too.
    if any(parts[i] is None and parts[i + 1] is not None for i in range(2)):
        raise ValueError(f"{text!r}: a wildcard must not be followed by a number")
    pre = tuple(match.group(4).split(".")) if match.group(4) else ()
    return parts, pre


Comparator = tuple[str, Version]


def _expand(op: str, text: str) -> list[Comparator]:
    parts, pre = _partial(text)
    major, minor, patch = parts
    floor = Version(major or 0, minor or 0, patch or 0, pre)
    if major is None:
        # "*" (any): no constraint; "> *" and "< *" match nothing.
        return [] if op in ("", "=", "^", "~", ">=", "<=") else [("<", Version(0, 0, 0))]
    if op == "^":
        if major > 0 or minor is None:
            upper = Version(major + 1, 0, 0)
        elif minor > 0 or patch is None:
            upper = Version(0, minor + 1, 0)
        else:
            upper = Version(0, 0, (patch or 0) + 1)
        return [(">=", floor), ("<", upper)]
    if op == "~":
        upper = Version(major + 1, 0, 0) if minor is None else Version(major, minor + 1, 0)
        return [(">=", floor), ("<", upper)]
    if op in ("", "="):
        if minor is None:
            return [(">=", floor), ("<", Version(major + 1, 0, 0))]
        if patch is None:
            return [(">=", floor), ("<", Version(major, minor + 1, 0))]
        return [("=", floor)]
    if op in (">", "<="):
        if minor is None:
            bound = Version(major + 1, 0, 0)
            return [(">=", bound)] if op == ">" else [("<", bound)]
        if patch is None:
            bound = Version(major, minor + 1, 0)
            return [(">=", bound)] if op == ">" else [("<", bound)]
        return [(op, floor)]
    return [(op, floor)]  # ">=" or "<"


@dataclass(frozen=True)
class Range:
    """A version range: OR of AND-ed comparators."""

    text: str
    alternatives: tuple[tuple[Comparator, ...], ...]

    @classmethod
    def parse(cls, text: str) -> Range:
        if not isinstance(text, str) or not text.strip():
            raise ValueError("a version range must be a non-empty string")
        alternatives = []
        for alternative in text.split("||"):
            tokens = alternative.split()
            if not tokens:
                raise ValueError(f"{text!r}: empty alternative in range")
            comparators: list[Comparator] = []
            joined: list[str] = []
            for token in tokens:  # allow ">= 1.0.0" (operator and version separated by a space)
                if joined and joined[-1] in ("^", "~", ">=", "<=", ">", "<", "="):
                    joined[-1] += token
                else:
                    joined.append(token)
            for token in joined:
                match = _COMPARATOR.match(token)
                if not match:
                    raise ValueError(f"{text!r}: cannot read {token!r}")
                comparators.extend(_expand(match.group(1) or "", match.group(2).strip()))
            alternatives.append(tuple(comparators))
        return cls(text.strip(), tuple(alternatives))

    def contains(self, version: Version) -> bool:
        """Whether ``version`` is in the range (prereleases only match a comparator on the same x.y.z)."""
        for comparators in self.alternatives:
            if all(_holds(op, version, bound) for op, bound in comparators) and (
                not version.prerelease
                or any(
                    (b.major, b.minor, b.patch) == (version.major, version.minor, version.patch)
                    and b.prerelease
                    for _, b in comparators
                )
            ):
                return True
        return False


def _holds(op: str, version: Version, bound: Version) -> bool:
    return {
        "=": version == bound,
        ">": version > bound,
        ">=": version >= bound,
        "<": version < bound,
        "<=": version <= bound,
    }[op]
