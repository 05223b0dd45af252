"""Faults found with real AWS payloads: wrong nested types, field limits, same-date tie-break, catalog keys."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from lakehouse import io
from lakehouse.partner_central import pipeline, shapes
from lakehouse.partner_central.transforms import selling as selling_tx
from lakehouse.partner_central.transforms import silver as tx
from lakehouse.tenancy import TenantScope

from . import selling_data as sd
from .conftest import bronze_rows, opportunity, utc, write_bronze
from .test_selling_transforms import bronze_df as selling_bronze
from .test_silver_transforms import KEY, bronze_df

TENANT = "acme"
AS_OF = date(2025, 6, 1)


def parsed_one(spark, payload: dict[str, Any]) -> dict[str, Any]:
    rows = tx.parse_opportunities(bronze_df(spark, [payload]), email_key=KEY).collect()
    assert len(rows) == 1
    return rows[0].asDict(recursive=True)


def test_the_model_gives_additional_comments_its_255_character_limit():
    limits = shapes.length_limits(shapes.output_shape("GetOpportunity"))
    assert limits["Project.AdditionalComments"] == 255
    kinds = shapes.container_paths(shapes.output_shape("GetOpportunity"))
    assert kinds["Customer.Contacts"] == "list" and kinds["LifeCycle"] == "object"


def test_contacts_sent_as_an_object_are_quarantined_not_counted_minus_one(spark):
    doc = opportunity("O1")
    doc["Customer"]["Contacts"] = {"Email": "a@example.com", "FirstName": "Ann"}
    row = parsed_one(spark, doc)
    assert row["quarantine_reason"] == "Customer.Contacts is not a JSON list"


def test_a_missing_contacts_list_counts_zero_contacts(spark):
    doc = opportunity("O1")
    del doc["Customer"]["Contacts"]
    row = parsed_one(spark, doc)
    assert (row["quarantine_reason"], row["customer_contact_count"]) == ("", 0)


def test_lifecycle_as_a_string_is_quarantined_not_a_null_stage_row(spark):
    doc = opportunity("O1")
    doc["LifeCycle"] = "Qualified"
    row = parsed_one(spark, doc)
    assert row["quarantine_reason"] == "LifeCycle is not a JSON object"


def test_delivery_models_as_a_string_is_quarantined_not_silently_null(spark):
    doc = opportunity("O1")
    doc["Project"]["DeliveryModels"] = "SaaS or PaaS"
    row = parsed_one(spark, doc)
    assert row["quarantine_reason"] == "Project.DeliveryModels is not a JSON list"


def test_a_huge_additional_comment_is_quarantined_not_truncated(spark):
    doc = opportunity("O1")
    doc["Project"]["AdditionalComments"] = "x" * (5 * 1024 * 1024)
    row = parsed_one(spark, doc)
    assert row["quarantine_reason"] == "Project.AdditionalComments is longer than 255 characters"


def test_a_255_character_comment_is_fine(spark):
    doc = opportunity("O1")
    doc["Project"]["AdditionalComments"] = "x" * 255
    row = parsed_one(spark, doc)
    assert (row["quarantine_reason"], len(row["project_additional_comments"])) == ("", 255)


def test_lifecycle_rank_orders_stage_then_review_status(spark):
    df = spark.createDataFrame(
        [
            ("Prospect", "Submitted"),
            ("Prospect", "Approved"),
            ("Qualified", "Pending Submission"),
            ("Launched", "Approved"),
            ("Closed Lost", "Approved"),
            (None, None),
        ],
        "stage string, review_status string",
    )
    got = [r[0] for r in df.select(tx.lifecycle_rank()).collect()]
    assert got == [1, 4, 10, 54, 54, -11]


def silver_rows(spark, table: str) -> list[dict[str, Any]]:
    return [r.asDict(recursive=True) for r in io.read(spark, table, TenantScope.for_tenant(TENANT)).collect()]


@pytest.mark.slow
def test_same_modified_date_keeps_the_later_review_state_whatever_the_hash_or_order(spark, pipeline_lake):
    submitted = opportunity("O1", review="Submitted")
    approved = opportunity("O1", review="Approved")
    # the approved version lands first and the submitted one later: landing order must not win either
    write_bronze(
        spark, "opportunity", bronze_rows(TENANT, [approved], run_id="b1", ingested_at=utc(2025, 1, 1))
    )
    pipeline.run_pipeline(spark, TENANT, as_of=AS_OF, until="silver")
    write_bronze(
        spark, "opportunity", bronze_rows(TENANT, [submitted], run_id="b2", ingested_at=utc(2025, 1, 2))
    )
    pipeline.run_pipeline(spark, TENANT, as_of=AS_OF, until="silver")
    assert [r["review_status"] for r in silver_rows(spark, "silver.opportunity")] == ["Approved"]


@pytest.mark.slow
def test_same_modified_date_in_one_batch_keeps_the_later_review_state(spark, pipeline_lake):
    versions = [opportunity("O1", review=r) for r in ("Approved", "Submitted", "In review")]
    write_bronze(
        spark, "opportunity", bronze_rows(TENANT, versions, run_id="b1", ingested_at=utc(2025, 1, 1))
    )
    pipeline.run_pipeline(spark, TENANT, as_of=AS_OF, until="silver")
    assert [r["review_status"] for r in silver_rows(spark, "silver.opportunity")] == ["Approved"]


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (lambda d: d.update(EngagementTitle="t" * 41), "EngagementTitle is longer than 40 characters"),
        (lambda d: d.update(Payload="LeadInvitation"), "Payload is not a JSON object"),
    ],
)
def test_invitations_get_the_models_checks_and_such_a_lead_is_not_promoted(spark, change, reason):
    doc = sd.lead_invitation("inv-1", "eng-1")
    change(doc)
    invitations = tx.parse_engagement_invitations(selling_bronze(spark, [doc]), email_key=KEY)
    assert [r.quarantine_reason for r in invitations.collect()] == [reason]
    leads = selling_tx.parse_lead_invitations(selling_bronze(spark, [doc]))
    assert [r.quarantine_reason for r in leads.collect()] == [reason]
