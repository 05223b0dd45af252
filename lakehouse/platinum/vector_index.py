"""Per-tenant vector retrieval on LanceDB datasets under the tenant's lake prefix.

Why LanceDB rather than pgvector: the index lives beside the Delta tables (``<lake_root>/platinum/_vectors/
tenant_id=<id>/``, local or S3 with the lake's storage options), so a Glue job writes it without a database,
and each tenant has its own dataset: a query opens only its scope's dataset, so the tenant filter is applied
before similarity by construction (identical text in another tenant is never a candidate). Rows also carry
``tenant_id`` and every search adds it as a prefilter, as a second guard. Small tables are searched exactly
(flat scan); from ``ANN_MIN_ROWS`` rows on, an IVF-HNSW-SQ index is built and results are re-ranked on the
full vectors (``refine_factor``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa

from lakehouse.errors import BadInput
from lakehouse.io import storage_options
from lakehouse.settings import get_settings
from lakehouse.tenancy import TenantScope, TenantViolation, validate_tenant_id

VECTOR_COLUMN = "vector"
ANN_MIN_ROWS = 20_000
DEFAULT_NPROBES = 20
DEFAULT_REFINE = 10


@dataclass(frozen=True)
class Hit:
    """One retrieved item: its id, cosine distance (0 = same direction) and the stored columns asked for."""

    item_id: str
    distance: float
    fields: dict[str, Any]


def tenant_uri(scope: TenantScope, lake_root: str | None = None) -> str:
    """The scope's tenant's LanceDB database URI (one per tenant)."""
    tenant = validate_tenant_id(scope.require_single("a vector index"))
    root = (lake_root or get_settings().lake_root).rstrip("/")
    return f"{root}/platinum/_vectors/tenant_id={tenant}"


class TenantVectorIndex:
    """The vector tables of one tenant: upsert, delete, (re)index and search, never another tenant's rows."""

    def __init__(self, scope: TenantScope, *, lake_root: str | None = None) -> None:
        import lancedb

        self.tenant_id = scope.require_single("a vector index")
        uri = tenant_uri(scope, lake_root)
        options = storage_options() if uri.startswith(("s3://", "s3a://")) else None
        self._db = lancedb.connect(uri, storage_options=options)

    def _table(self, name: str) -> Any | None:
        try:
            return self._db.open_table(name)
        except (FileNotFoundError, ValueError):
            return None

    def count(self, name: str) -> int:
        """Rows in the tenant's ``name`` table (0 when it does not exist)."""
        table = self._table(name)
        return 0 if table is None else int(table.count_rows())

    def upsert(
        self,
        name: str,
        ids: Sequence[str],
        vectors: np.ndarray[Any, Any],
        extra: dict[str, Sequence[Any]] | None = None,
    ) -> int:
        """Insert or replace rows by id; returns the table's row count afterwards."""
        if len(ids) != len(vectors):
            raise BadInput(f"upsert into {name}: {len(ids)} ids but {len(vectors)} vectors")
        if not len(ids):
            return self.count(name)
        matrix = np.asarray(vectors, dtype=np.float32)
        columns: dict[str, Any] = {
            "tenant_id": pa.array([self.tenant_id] * len(ids), pa.string()),
            "item_id": pa.array(list(ids), pa.string()),
            VECTOR_COLUMN: pa.FixedSizeListArray.from_arrays(
                pa.array(matrix.reshape(-1), pa.float32()), matrix.shape[1]
            ),
        }
        for key, values in (extra or {}).items():
            columns[key] = pa.array(list(values))
        data = pa.table(columns)
        table = self._table(name)
        if table is None:
            self._db.create_table(name, data)
        else:
            table.merge_insert("item_id").when_matched_update_all().when_not_matched_insert_all().execute(
                data
            )
        return self.count(name)

    def dim(self, name: str) -> int | None:
        """Vector size of the tenant's ``name`` table (None when it does not exist)."""
        table = self._table(name)
        return None if table is None else int(table.schema.field(VECTOR_COLUMN).type.list_size)

    def drop(self, name: str) -> None:
        """Remove the tenant's ``name`` table (rebuilt from Delta afterwards)."""
        if self._table(name) is not None:
            self._db.drop_table(name)

    def delete(self, name: str, ids: Sequence[str]) -> None:
        """Remove rows by id."""
        table = self._table(name)
        if table is None or not ids:
            return
        quoted = ", ".join("'" + i.replace("'", "''") + "'" for i in ids)
        table.delete(f"item_id IN ({quoted})")

    def build_index(self, name: str, *, min_rows: int = ANN_MIN_ROWS) -> bool:
        """Build (or rebuild) the ANN index when the table has at least ``min_rows`` rows; whether it did."""
        table = self._table(name)
        if table is None:
            return False
        rows = int(table.count_rows())
        if rows < min_rows:
            return False
        from lancedb.index import IvfHnswSq

        config = IvfHnswSq(distance_type="cosine", num_partitions=max(1, int(math.sqrt(rows) / 4)))
        table.create_index(VECTOR_COLUMN, config=config, replace=True)
        return True

    def search(
        self,
        name: str,
        query: Sequence[float] | np.ndarray[Any, Any],
        *,
        k: int = 10,
        columns: Sequence[str] = (),
        nprobes: int = DEFAULT_NPROBES,
        refine_factor: int = DEFAULT_REFINE,
        exact: bool = False,
    ) -> list[Hit]:
        """The ``k`` nearest rows of this tenant's ``name`` table by cosine distance."""
        table = self._table(name)
        if table is None:
            return []
        builder = (
            table.search(np.asarray(query, dtype=np.float32), vector_column_name=VECTOR_COLUMN)
            .distance_type("cosine")
            .where(f"tenant_id = '{self.tenant_id}'", prefilter=True)
            .select(["tenant_id", "item_id", *columns, "_distance"])
            .limit(k)
        )
        if exact:
            builder = builder.bypass_vector_index()
        else:
            builder = builder.nprobes(nprobes).refine_factor(refine_factor)
        hits = []
        for row in builder.to_list():
            if (
                row["tenant_id"] != self.tenant_id
            ):  # cannot happen with one dataset per tenant; never return it
                raise TenantViolation(
                    f"vector index of tenant {self.tenant_id} returned a row of another tenant"
                )
            hits.append(Hit(row["item_id"], float(row["_distance"]), {c: row.get(c) for c in columns}))
        return hits
