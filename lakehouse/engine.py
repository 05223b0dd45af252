"""The only place a SparkSession is built.

Modes (``LAKEHOUSE_ENGINE``): ``sail`` starts one embedded Sail Spark Connect server per process (Delta native);
``connect`` attaches to ``LAKEHOUSE_SPARK_REMOTE``; ``classic`` uses the JVM session of Glue / EMR / spark-submit,
where delta-spark is on the classpath. Job code is the same in all three.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
from typing import Any

from pyspark.sql import SparkSession

from lakehouse.settings import Settings, get_settings

log = logging.getLogger(__name__)

_lock = threading.Lock()
_session: SparkSession | None = None
# The embedded server must stay referenced for the life of the process: if it is garbage-collected the
# server shuts down and the PySpark client hangs without an error (DESIGN.md engine notes).
_server: Any = None

_DELTA_CONF = {
    "spark.sql.extensions": "io.delta.sql.DeltaSparkSessionExtension",
    "spark.sql.catalog.spark_catalog": "org.apache.spark.sql.delta.catalog.DeltaCatalog",
}


def get_spark(settings: Settings | None = None) -> SparkSession:
    """Return this process's SparkSession, creating it on first use according to the settings."""
    global _session
    with _lock:
        if _session is not None:
            return _session
        settings = settings or get_settings()
        if settings.engine in ("sail", "connect"):
            lazy_plan_logging()
        if settings.engine == "sail":
            _session = _sail_session()
        elif settings.engine == "connect":
            if not settings.spark_remote:
                from lakehouse.errors import BadInput

                raise BadInput("LAKEHOUSE_ENGINE=connect needs LAKEHOUSE_SPARK_REMOTE (e.g. sc://host:15002)")
            _session = SparkSession.builder.remote(settings.spark_remote).getOrCreate()
        else:
            # Glue (--datalake-formats delta) and spark-submit --packages/--conf bring Delta's extension and
            # catalog; forcing them here would break a session that only runs pure transforms without the jars
            _session = SparkSession.builder.appName("partner-central-lakehouse").getOrCreate()
            missing = [k for k in _DELTA_CONF if not _session.conf.get(k, None)]
            if missing:
                log.warning(
                    "classic Spark session without Delta configuration (%s): Delta tables will not "
                    "work; pass --datalake-formats delta on Glue or Delta's --packages/--conf",
                    missing,
                )
        _session.conf.set("spark.sql.session.timeZone", "UTC")
        atexit.register(stop_spark)
        return _session


def lazy_plan_logging() -> None:
    """Stop pyspark 3.5's Spark Connect client from printing every plan to text when nothing logs it.

    Its ``logger.info(f"Executing plan {self._proto_to_string(plan)}")`` calls format the whole plan proto on every
    execute, analyze and command even though the logger is disabled (``SPARK_CONNECT_LOG_LEVEL`` unset); a plan
    carrying local rows escapes every byte of their Arrow batch. Measured on a 1% incremental pipeline run at 1M
    opportunities: ~1 s of its ~8 s, 0.1-0.3 s per small local frame. With the logger enabled the text is
    produced as before.
    """
    from pyspark.sql.connect.client import core

    original = core.SparkConnectClient._proto_to_string
    if getattr(original, "_lakehouse_lazy", False):
        return

    def _proto_to_string(self: Any, p: Any) -> str:
        if core.logger.disabled or not core.logger.isEnabledFor(logging.INFO):
            return f"<{type(p).__name__}>"
        return original(self, p)

    _proto_to_string._lakehouse_lazy = True  # type: ignore[attr-defined]
    setattr(core.SparkConnectClient, "_proto_to_string", _proto_to_string)  # noqa: B010  (a method patch mypy refuses)


def sail_remote_url() -> str:
    """The sc:// URL of this process's embedded Sail server (started on demand)."""
    get_spark()
    if _server is None:
        raise RuntimeError("the current engine is not the embedded Sail server")
    host, port = _server.listening_address
    return f"sc://{host}:{port}"


def _sail_session() -> SparkSession:
    global _server
    os.environ.setdefault("RUST_LOG", "error")  # Sail logs every session at INFO and no-op persists at WARN
    from pysail.spark import SparkConnectServer

    server = SparkConnectServer(ip="127.0.0.1", port=0)
    server.start(background=True)
    _server = server
    host, port = server.listening_address
    log.debug("embedded Sail server listening on %s:%s", host, port)
    return SparkSession.builder.remote(f"sc://{host}:{port}").getOrCreate()


def stop_spark() -> None:
    """Stop the session and, in sail mode, the embedded server (registered at exit)."""
    global _session, _server
    with _lock:
        if _session is not None:
            try:
                _session.stop()
            except Exception:
                log.debug("spark session stop failed", exc_info=True)
            _session = None
        if _server is not None:
            try:
                _server.stop()
            except Exception:
                log.debug("sail server stop failed", exc_info=True)
            _server = None
