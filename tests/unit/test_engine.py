"""The embedded engine's session setup."""

from __future__ import annotations

import logging


def test_plans_are_printed_to_text_only_when_spark_connect_logging_is_on(spark, monkeypatch):
    from pyspark.sql.connect.client import core

    plan = spark.createDataFrame([(1, "x" * 100)], "id int, v string")._plan.to_proto(spark.client)
    assert spark.client._proto_to_string(plan) == "<Plan>"  # logger disabled: nothing formatted

    monkeypatch.setattr(core.logger, "disabled", False)
    # setLevel (not the attribute) clears the logger's isEnabledFor cache, which earlier tests have filled;
    # a process-wide logging.disable() from another library would hide INFO too.
    previous_level, previous_disable = core.logger.level, logging.root.manager.disable
    core.logger.setLevel(logging.INFO)
    logging.disable(logging.NOTSET)
    try:
        text = spark.client._proto_to_string(plan)
    finally:
        core.logger.setLevel(previous_level)
        logging.disable(previous_disable)
    assert "local_relation" in text and len(text) > 100  # enabled: the plan as before
