"""Lineage: LineageEdge rows (input table@version -> output table@version per run) and OpenLineage run events.

Run events go through the ``openlineage-python`` client. The sink is the client's own configuration when one
is given (``OPENLINEAGE_URL``, ``OPENLINEAGE_CONFIG`` or ``OPENLINEAGE__TRANSPORT__*``); otherwise a JSON-lines
file, ``LAKEHOUSE_OPENLINEAGE_FILE`` or ``<lake_root>/_lineage/openlineage.jsonl`` (``./.openlineage.jsonl``
when the lake is on S3). Emitting is best effort: a broken sink is logged and never fails the data run.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pyspark.sql import DataFrame, SparkSession

log = logging.getLogger(__name__)

NAMESPACE = "partner-central-lakehouse"
PRODUCER = "https://github.com/partner-central-lakehouse/lakehouse"
OPENLINEAGE_FILE_ENV = "LAKEHOUSE_OPENLINEAGE_FILE"


@dataclass(frozen=True)
class LineageEdge:
    """One input table@version feeding one output table@version in a job run."""

    tenant_id: str
    run_id: str
    job_name: str
    input_table: str
    input_version: int | None
    output_table: str
    output_version: int | None
    recorded_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    def as_row(self) -> tuple[Any, ...]:
        """The ops.lineage_edge row."""
        return (
            self.tenant_id,
            self.run_id,
            self.job_name,
            self.input_table,
            self.input_version,
            self.output_table,
            self.output_version,
            self.recorded_at,
        )


def edges(
    tenant_id: str,
    run_id: str,
    job_name: str,
    inputs: dict[str, int | None],
    outputs: dict[str, int | None],
) -> list[LineageEdge]:
    """Every input -> every output of one run."""
    now = datetime.now(UTC)
    return [
        LineageEdge(tenant_id, run_id, job_name, i, iv, o, ov, now)
        for i, iv in sorted(inputs.items())
        for o, ov in sorted(outputs.items())
    ]


def edges_frame(spark: SparkSession, rows: Sequence[LineageEdge]) -> DataFrame:
    """ops.lineage_edge rows."""
    from lakehouse.ops import LINEAGE_EDGE

    return spark.createDataFrame([e.as_row() for e in rows], LINEAGE_EDGE.schema)


def default_event_file() -> str:
    """Where run events go when no OpenLineage transport is configured."""
    from lakehouse.settings import get_settings

    if os.environ.get(OPENLINEAGE_FILE_ENV):
        return os.environ[OPENLINEAGE_FILE_ENV]
    settings = get_settings()
    if settings.is_s3:
        return str(Path(".openlineage.jsonl").resolve())
    return str(Path(settings.lake_root).expanduser().resolve() / "_lineage" / "openlineage.jsonl")


def _configured_elsewhere() -> bool:
    return any(
        k == "OPENLINEAGE_URL" or k == "OPENLINEAGE_CONFIG" or k.startswith("OPENLINEAGE__TRANSPORT")
        for k in os.environ
    )


def make_client(event_file: str | None = None) -> Any:
    """An OpenLineageClient: the environment's transport if configured, else a JSON-lines file transport."""
    from openlineage.client import OpenLineageClient

    if event_file is None and _configured_elsewhere():
        return OpenLineageClient()
    from openlineage.client.transport.file import FileConfig, FileTransport

    path = event_file or default_event_file()
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    return OpenLineageClient(transport=FileTransport(FileConfig(log_file_path=path, append=True)))


class RunEvents:
    """START / COMPLETE / FAIL OpenLineage events of one job run (one OpenLineage run id per run)."""

    def __init__(self, job_name: str, run_id: str, tenant_id: str, client: Any | None = None) -> None:
        from openlineage.client.uuid import generate_new_uuid

        self.job_name, self.run_id, self.tenant_id = job_name, run_id, tenant_id
        self.ol_run_id = str(generate_new_uuid())
        self._client = client

    @property
    def client(self) -> Any:
        """The OpenLineage client (created on first use)."""
        if self._client is None:
            self._client = make_client()
        return self._client

    def start(self, inputs: dict[str, int | None]) -> None:
        """Emit START with the input tables (and versions read)."""
        self._emit("START", inputs, {})

    def complete(self, inputs: dict[str, int | None], outputs: dict[str, int | None]) -> None:
        """Emit COMPLETE with inputs and the output tables at the versions written."""
        self._emit("COMPLETE", inputs, outputs)

    def fail(self, inputs: dict[str, int | None], error: BaseException) -> None:
        """Emit FAIL with the error message."""
        self._emit("FAIL", inputs, {}, error=error)

    def _emit(
        self,
        state: str,
        inputs: dict[str, int | None],
        outputs: dict[str, int | None],
        error: BaseException | None = None,
    ) -> None:
        try:
            self.client.emit(self._event(state, inputs, outputs, error))
        except Exception:
            log.warning("could not emit OpenLineage %s event for %s", state, self.job_name, exc_info=True)

    def _event(
        self,
        state: str,
        inputs: dict[str, int | None],
        outputs: dict[str, int | None],
        error: BaseException | None,
    ) -> Any:
        from openlineage.client.event_v2 import InputDataset, Job, OutputDataset, Run, RunEvent, RunState
        from openlineage.client.facet_v2 import (
            dataset_version_dataset,
            datasource_dataset,
            error_message_run,
            job_type_job,
        )

        def facets(version: int | None) -> dict[str, Any]:
            base: dict[str, Any] = {
                "dataSource": datasource_dataset.DatasourceDatasetFacet(name=NAMESPACE, uri=_lake_uri()),
            }
            if version is not None:
                base["version"] = dataset_version_dataset.DatasetVersionDatasetFacet(
                    datasetVersion=str(version)
                )
            return base

        run_facets: dict[str, Any] = {}
        if error is not None:
            run_facets["errorMessage"] = error_message_run.ErrorMessageRunFacet(
                message=str(error)[:2000], programmingLanguage="python"
            )
        return RunEvent(
            eventType=getattr(RunState, state),
            eventTime=datetime.now(UTC).isoformat(),
            run=Run(runId=self.ol_run_id, facets=run_facets),
            job=Job(
                namespace=f"{NAMESPACE}/{self.tenant_id}",
                name=self.job_name,
                facets={
                    "jobType": job_type_job.JobTypeJobFacet(
                        processingType="BATCH", integration="SPARK", jobType="JOB"
                    )
                },
            ),
            inputs=[
                InputDataset(namespace=NAMESPACE, name=t, facets=facets(v)) for t, v in sorted(inputs.items())
            ],
            outputs=[
                OutputDataset(namespace=NAMESPACE, name=t, facets=facets(v))
                for t, v in sorted(outputs.items())
            ],
            producer=PRODUCER,
        )


def _lake_uri() -> str:
    from lakehouse.settings import get_settings

    root = get_settings().lake_root
    return root if "://" in root else Path(root).expanduser().resolve().as_uri()
