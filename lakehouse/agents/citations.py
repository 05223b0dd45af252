"""Citations: every answer cites the rows it used, and each citation is resolved again after generation.

A citation is ``[ref:<ref>]`` in the answer text, where ``<ref>`` is what a tool returned: ``layer.table/<key>``
(a lake row, its key columns other than ``tenant_id`` joined by ``|``), ``doc:<file>#<section>`` or
``catalog:<table>.<column>`` or ``metric:<name>`` (the metrics registry). ``verify`` re-reads each cited lake row under the asking tenant's scope (so a row of
another tenant, or one that does not exist, does not resolve), checks docs and catalog references against the
corpus and the catalog, and ``repair`` drops the lines that carry an unresolvable citation. An answer left with
no valid citation is refused (``UncitedAnswer``) rather than shown.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from lakehouse.agents.data import AgentData
from lakehouse.agents.tools import DocsCorpus
from lakehouse.errors import Refused
from lakehouse.tenancy import TenantScope

CITATION = re.compile(r"\[ref:([^\]\n]+)\]")


class UncitedAnswer(Refused):
    """The answer cites nothing that resolves to the tenant's rows or the platform's docs; it is not shown."""


@dataclass(frozen=True)
class Verdict:
    """One citation and whether it resolved (``why`` names the problem when not)."""

    ref: str
    valid: bool
    why: str = ""


def cited(text: str) -> list[str]:
    """The citations of a text, in order, without repeats."""
    return list(dict.fromkeys(CITATION.findall(text)))


class CitationChecker:
    """Resolves citations for one tenant."""

    def __init__(self, data: AgentData, scope: TenantScope, docs: DocsCorpus) -> None:
        self.data, self.scope, self.docs = data, scope, docs
        self.tenant_id = scope.require_single("citation checks")

    def check(self, ref: str) -> Verdict:
        """Whether ``ref`` names something that exists and that the tenant may cite."""
        from lakehouse import catalog

        if ref.startswith("doc:"):
            return Verdict(ref, self.docs.get(ref) is not None, "no such document section")
        if ref.startswith("metric:"):
            from lakehouse.agents.tools import _metric

            return Verdict(ref, _metric(ref.removeprefix("metric:")) is not None, "no such metric definition")
        if ref.startswith("catalog:"):
            table, _, column = ref.removeprefix("catalog:").rpartition(".")
            try:
                known = column in catalog.get(table).schema.fieldNames()
            except KeyError:
                known = False
            return Verdict(ref, known, "no such table column")
        table, sep, key = ref.partition("/")
        if not sep:
            return Verdict(ref, False, "not a citation of a table row")
        try:
            td = catalog.get(table)
        except KeyError:
            return Verdict(ref, False, f"no table {table}")
        key_columns = [k for k in td.keys if k != "tenant_id"]
        if not key_columns:
            return Verdict(
                ref,
                key == self.tenant_id and bool(self.data.rows(table, self.scope, ["tenant_id"])),
                "not this tenant's row",
            )
        parts = key.split("|")
        if not 0 < len(parts) <= len(key_columns):
            return Verdict(ref, False, f"{table} rows are keyed by {', '.join(key_columns)}")
        # A citation may leave out leading key columns (an opportunity is cited by its id without its catalog):
        # it resolves when at least one of this tenant's rows carries the trailing key values it names.
        named = key_columns[len(key_columns) - len(parts) :]
        rows = self.data.rows(table, self.scope, named)
        found = any([str(r.get(c)) for c in named] == parts for r in rows)
        return Verdict(ref, found, "no such row in this tenant")

    def verify(self, refs: Iterable[str]) -> list[Verdict]:
        return [self.check(r) for r in refs]


def repair(text: str, invalid: set[str]) -> str:
    """The answer without the lines that carry an invalid citation."""
    kept = [line for line in text.splitlines() if not (set(CITATION.findall(line)) & invalid)]
    return "\n".join(kept).strip()
