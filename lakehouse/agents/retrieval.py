"""Retrieval for agents: the tenant's rows ranked for a query, the tenant filter applied before any scoring.

``Retriever`` is the interface tools call. ``Bm25Retriever`` ranks text with BM25+ (``rank-bm25``: a small,
dependency-free implementation of the standard formulas, so no model weights are needed offline). BM25+ rather
than Okapi BM25 because Okapi's idf turns negative for a term in more than half the documents, which on a small
tenant (one or two opportunities) ranks the one matching row below zero; documents sharing no term with the query
are never returned. The documents
it scores are only those the caller passes in, which tools take from ``AgentData`` under the asking tenant's
scope: another tenant's text never enters the index, so it can never be returned, even for identical text.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from rank_bm25 import BM25Plus

from lakehouse.tenancy import TenantScope

_TOKEN = re.compile(r"[a-z0-9]+")
_STOP = frozenset(
    "a an and are as at be by for from has have how i in is it its my of on or our that the this to was what "
    "when where which who why will with do does did me we you your".split()
)


def tokens(text: str) -> list[str]:
    """Lower-cased word tokens without stop words (what BM25 scores)."""
    return [t for t in _TOKEN.findall(text.lower()) if t not in _STOP]


@dataclass(frozen=True)
class Document:
    """A retrievable text and the citation of the row it comes from."""

    ref: str
    text: str


@dataclass(frozen=True)
class Hit:
    """A retrieved document and its score."""

    document: Document
    score: float


class Retriever(Protocol):
    """Ranks documents for a query."""

    def search(self, query: str, documents: Sequence[Document], k: int) -> list[Hit]:
        """The ``k`` best documents for ``query`` (score > 0), best first; ties by ref."""
        ...


class Bm25Retriever:
    """BM25+ over the given documents (built per call: agent corpora are one tenant's rows)."""

    def search(self, query: str, documents: Sequence[Document], k: int) -> list[Hit]:
        wanted = tokens(query)
        if not documents or not wanted:
            return []
        corpus = [tokens(d.text) or ["_"] for d in documents]
        scores = BM25Plus(corpus).get_scores(wanted)
        query_terms = set(wanted)
        ranked = sorted(
            (
                Hit(d, float(s))
                for d, s, terms in zip(documents, scores, corpus, strict=True)
                if query_terms.intersection(terms)
            ),
            key=lambda h: (-h.score, h.document.ref),
        )
        return ranked[:k]


class SemanticSearch(Protocol):
    """Nearest neighbours of a query in the tenant's platinum vector index: ``(item id, distance)``, nearest first."""

    @property
    def model_id(self) -> str:
        """The embedder's id (a tenant index built with another embedder is not searched)."""
        ...

    def search(self, scope: TenantScope, table: str, query: str, k: int) -> list[tuple[str, float]]: ...


class PlatinumVectorSearch:
    """The platinum layer's per-tenant vector index (``lakehouse.platinum.vector_index``) queried with an embedder.

    The index lives under the tenant's own lake prefix, so the tenant filter applies before similarity: another
    tenant's vectors are not in the table searched. The platinum package (and its ``[ml]`` extra, for MiniLM) is
    imported only when a search runs."""

    def __init__(self, embedder: Any | None = None, *, lake_root: str | None = None) -> None:
        self._embedder, self.lake_root = embedder, lake_root

    @property
    def embedder(self) -> Any:
        if self._embedder is None:
            from lakehouse.platinum.embedding import default_embedder

            self._embedder = default_embedder()
        return self._embedder

    @property
    def model_id(self) -> str:
        return str(self.embedder.model_id)

    def search(self, scope: TenantScope, table: str, query: str, k: int) -> list[tuple[str, float]]:
        from lakehouse.platinum.vector_index import TenantVectorIndex

        index = TenantVectorIndex(scope, lake_root=self.lake_root)
        hits = index.search(table, self.embedder.embed([query])[0], k=k)
        return [(str(h.item_id), float(h.distance)) for h in hits]
