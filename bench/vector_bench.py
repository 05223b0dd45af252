"""Vector retrieval benchmark: recall@10 against exact search and query latency, N vectors over 10 tenants.

Each tenant gets N/10 vectors in its own LanceDB dataset (lakehouse.platinum.vector_index), drawn from a
mixture of Gaussian clusters on the unit sphere (real sentence embeddings cluster by topic; uniform random
vectors would be the unrealistic worst case), then an IVF-HNSW-SQ index. Queries are fresh draws from the same
mixture; the truth is numpy's exact top 10 over the tenant's vectors. Target at 1M vectors (100k per tenant):
recall@10 >= 0.95, p95 <= 50 ms. Run: .venv/bin/python bench/vector_bench.py --n 50000
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import tempfile
import time
from collections.abc import Sequence

import numpy as np

from lakehouse.platinum.vector_index import TenantVectorIndex
from lakehouse.tenancy import TenantScope


def mixture(rng: np.random.Generator, n: int, centers: np.ndarray, spread: float) -> np.ndarray:
    """``n`` unit vectors around random ``centers``."""
    picks = rng.integers(0, len(centers), n)
    x = centers[picks] + spread * rng.normal(size=(n, centers.shape[1])).astype(np.float32)
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def main(argv: Sequence[str] | None = None) -> None:
    """Build the indexes, query them, print recall@10 and latency percentiles."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=50_000, help="vectors in total (over 10 tenants)")
    parser.add_argument("--dim", type=int, default=384)
    parser.add_argument("--tenants", type=int, default=10)
    parser.add_argument("--queries", type=int, default=100, help="queries per tenant")
    parser.add_argument("--nprobes", type=int, default=20)
    parser.add_argument("--refine", type=int, default=10)
    parser.add_argument("--root", default=None, help="lake root (default: a temporary folder)")
    args = parser.parse_args(argv)
    rng = np.random.default_rng(42)
    root = args.root or tempfile.mkdtemp(prefix="vector-bench-")
    per = args.n // args.tenants
    centers = rng.normal(size=(max(8, per // 200), args.dim)).astype(np.float32)
    recalls: list[float] = []
    latencies: list[float] = []
    build = 0.0
    for t in range(args.tenants):
        scope = TenantScope.for_tenant(f"bench-{t}")
        data = mixture(rng, per, centers, 0.6)
        index = TenantVectorIndex(scope, lake_root=root)
        start = time.perf_counter()
        for lo in range(0, per, 50_000):
            index.upsert("bench", [str(i) for i in range(lo, min(per, lo + 50_000))], data[lo : lo + 50_000])
        index.build_index("bench", min_rows=0)
        build += time.perf_counter() - start
        queries = mixture(rng, args.queries, centers, 0.6)
        truth = np.argsort(-(queries @ data.T), axis=1)[:, :10]
        index.search("bench", queries[0], k=10)  # open the index once before timing
        for q, true in zip(queries, truth, strict=True):
            start = time.perf_counter()
            hits = index.search("bench", q, k=10, nprobes=args.nprobes, refine_factor=args.refine)
            latencies.append(time.perf_counter() - start)
            recalls.append(len({int(h.item_id) for h in hits} & set(true.tolist())) / 10)
    lat = np.array(latencies) * 1000
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"N={args.n} over {args.tenants} tenants ({per} each), dim {args.dim}, IVF-HNSW-SQ, "
        f"nprobes {args.nprobes}, refine x{args.refine}; {os.cpu_count()} CPUs"
    )
    print(f"index build (upsert + train), all tenants: {build:.1f} s")
    print(f"recall@10 vs exact: mean {np.mean(recalls):.3f}, min {np.min(recalls):.2f}")
    print(
        f"latency over {len(lat)} queries: p50 {np.percentile(lat, 50):.1f} ms, "
        f"p95 {np.percentile(lat, 95):.1f} ms, p99 {np.percentile(lat, 99):.1f} ms"
    )
    print(f"peak RSS {rss:.0f} MB")
    if args.root is None:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
