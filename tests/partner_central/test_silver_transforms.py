"""Bronze -> silver transforms on tiny inline frames, compared exactly (chispa)."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import date, datetime
from decimal import Decimal

import botocore.loaders
import pytest
from chispa import assert_df_equality
from pyspark.sql import functions as F
from pyspark.sql.types import StructType

from lakehouse.partner_central.entities import silver
from lakehouse.partner_central.transforms import payloads as pcj
from lakehouse.partner_central.transforms import silver as tx

from .conftest import _BRONZE_SCHEMA, bronze_rows, fixture_opportunity, opportunity, utc

pytestmark = pytest.mark.slow  # over a second of work in all: left out of `make test-fast`

KEY = b"k" * 32
INGESTED = utc(2025, 1, 1)


def bronze_df(spark, payloads, run_id="r1", ingested_at=INGESTED, tenant="acme"):
    rows = bronze_rows(tenant, payloads, run_id=run_id, ingested_at=ingested_at)
    return spark.createDataFrame(
        [tuple(r[n] for n in _BRONZE_SCHEMA.fieldNames()) for r in rows], _BRONZE_SCHEMA
    )


def py_hmac(email: str) -> str:
    return hmac.new(KEY, email.strip().lower().encode(), hashlib.sha256).hexdigest()


def test_json_schemas_declare_every_member_of_the_botocore_output_shapes():
    model = botocore.loaders.Loader().load_service_model("partnercentral-selling", "service-2")
    shapes = model["shapes"]

    def missing(shape_name: str, schema: StructType, path: str) -> list[str]:
        out = []
        for member, ref in shapes[shape_name]["members"].items():
            if member not in schema.fieldNames():
                out.append(f"{path}.{member}")
                continue
            target = shapes[ref["shape"]]
            field_type = schema[member].dataType
            if target["type"] == "structure":
                out += missing(ref["shape"], field_type, f"{path}.{member}")
            elif target["type"] == "list" and shapes[target["member"]["shape"]]["type"] == "structure":
                out += missing(target["member"]["shape"], field_type.elementType, f"{path}.{member}[]")
        return out

    ops = model["operations"]
    assert missing(ops["GetOpportunity"]["output"]["shape"], pcj.OPPORTUNITY, "GetOpportunity") == []
    assert (
        missing(ops["GetEngagementInvitation"]["output"]["shape"], pcj.ENGAGEMENT_INVITATION, "Invitation")
        == []
    )
    assert missing("SolutionBase", pcj.SOLUTION, "SolutionBase") == []


def test_parse_types_the_aws_fixture_dates_timestamps_and_string_amounts(spark):
    doc = fixture_opportunity()
    doc["Project"]["ExpectedCustomerSpend"].append(
        {
            "Amount": "531.0",
            "CurrencyCode": "EUR",
            "Frequency": "Monthly",
            "TargetCompany": "AWS",
            "EstimationUrl": None,
        }
    )
    doc["SoftwareRevenue"] = {
        "DeliveryModel": "Contract",
        "Value": {"Amount": "1200.5", "CurrencyCode": "USD"},
        "EffectiveDate": "2025-01-01",
        "ExpirationDate": None,
    }
    parsed = tx.parse_opportunities(bronze_df(spark, [doc]), email_key=KEY)
    got = parsed.select(
        "tenant_id",
        "opportunity_id",
        "catalog",
        "stage",
        "review_status",
        "target_close_date",
        "created_at",
        "last_modified_at",
        "software_revenue_amount",
        "software_revenue_effective_date",
        "expected_customer_spend_count",
        "opportunity_team_count",
        "quarantine_reason",
        F.col("spend").getItem(0).amount.alias("spend0"),
        F.col("spend").getItem(1).amount.alias("spend1"),
    )
    expected = spark.createDataFrame(
        [
            (
                "acme",
                "O1111111",
                "AWS",
                "Launched",
                "Approved",
                date(2029, 5, 5),
                datetime(2024, 11, 14, 19, 32, 3),
                datetime(2024, 11, 14, 19, 32, 3),
                Decimal("1200.50"),
                date(2025, 1, 1),
                2,
                1,
                "",
                Decimal("531.00"),
                Decimal("531.00"),
            )
        ],
        got.schema,
    )
    assert_df_equality(got, expected, ignore_nullable=True)


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        ("not json", tx.REASON_NOT_JSON),
        ('["a JSON array"]', tx.REASON_NOT_JSON),
        (opportunity(None), tx.REASON_NO_ID),
        (opportunity("  "), tx.REASON_NO_ID),
        (opportunity("O1", modified="yesterday"), tx.REASON_BAD_LAST_MODIFIED),
        (opportunity("O1", modified=None), tx.REASON_BAD_LAST_MODIFIED),
        (opportunity("O1", spend=[("12,50", "USD", "Monthly")]), tx.REASON_BAD_AMOUNT),
        (opportunity("O1", spend=[("1.234", "USD", "Monthly")]), tx.REASON_BAD_AMOUNT),
        (opportunity("O1", spend=[("-5", "USD", "Monthly")]), tx.REASON_BAD_AMOUNT),
        (opportunity("O1", close="2025-02-30"), "unparseable LifeCycle.TargetCloseDate"),
        (
            opportunity(None, modified="x", spend=[("abc", "USD", "Monthly")]),
            f"{tx.REASON_NO_ID}; {tx.REASON_BAD_LAST_MODIFIED}; {tx.REASON_BAD_AMOUNT}",
        ),
        (
            opportunity(
                "O1",
                spend=[
                    ("531", "USD", "Monthly"),
                    ("531.0", "USD", "Monthly"),
                    (None, "USD", "Monthly"),
                    ("", "USD", "Monthly"),
                ],
            ),
            "",
        ),
    ],
)
def test_parse_gives_each_malformed_record_its_reasons(spark, payload, reason):
    parsed = tx.parse_opportunities(bronze_df(spark, [payload]), email_key=KEY)
    assert [r.quarantine_reason for r in parsed.collect()] == [reason]


def test_parse_keeps_a_redacted_payload_only_for_quarantined_rows(spark):
    bad = opportunity(
        None,
        contacts=[
            {
                "Email": "jane@corp.example",
                "FirstName": "Jane",
                "LastName": "Roe",
                "Phone": "+4915112345678",
                "BusinessTitle": "CFO",
            }
        ],
    )
    parsed = tx.parse_opportunities(bronze_df(spark, [bad, opportunity("O2")]), email_key=KEY)
    rows = {r.opportunity_id: r.payload_redacted for r in parsed.collect()}
    assert rows["O2"] is None
    redacted = json.loads(rows[None])
    assert redacted["Customer"]["Contacts"] == [
        {
            "Email": "[REDACTED]",
            "FirstName": "[REDACTED]",
            "LastName": "[REDACTED]",
            "Phone": "[REDACTED]",
            "BusinessTitle": "CFO",
        }
    ]
    assert redacted["Project"] == bad["Project"]


def test_split_quarantine_separates_rows_with_a_reason(spark):
    df = spark.createDataFrame(
        [("a", ""), ("b", "missing Id"), ("c", None)], "id string, quarantine_reason string"
    )
    good, bad = tx.split_quarantine(df)
    assert sorted(r.id for r in good.collect()) == ["a", "c"]
    assert [r.id for r in bad.collect()] == ["b"]


def test_latest_versions_prefers_latest_modified_then_latest_ingested(spark):
    schema = (
        "tenant_id string, opportunity_id string, last_modified_at timestamp, source_ingested_at timestamp, "
        "source_payload_sha256 string, v string"
    )
    t = datetime
    df = spark.createDataFrame(
        [
            ("acme", "O1", t(2025, 1, 1), t(2025, 2, 1), "h1", "old"),
            ("acme", "O1", t(2025, 1, 2), t(2025, 1, 5), "h2", "newest-modified"),
            ("acme", "O2", t(2025, 1, 1), t(2025, 1, 1), "h3", "first-ingest"),
            ("acme", "O2", t(2025, 1, 1), t(2025, 1, 3), "h4", "tie-later-ingest"),
            ("other", "O1", t(2020, 1, 1), t(2020, 1, 1), "h5", "other-tenant"),
        ],
        schema,
    )
    got = tx.latest_versions(df, ("tenant_id", "opportunity_id"))
    expected = spark.createDataFrame(
        [
            ("acme", "O1", t(2025, 1, 2), t(2025, 1, 5), "h2", "newest-modified"),
            ("acme", "O2", t(2025, 1, 1), t(2025, 1, 3), "h4", "tie-later-ingest"),
            ("other", "O1", t(2020, 1, 1), t(2020, 1, 1), "h5", "other-tenant"),
        ],
        schema,
    )
    assert_df_equality(got, expected, ignore_row_order=True)


def test_newer_than_current_keeps_new_keys_and_strictly_newer_versions(spark):
    schema = (
        "tenant_id string, opportunity_id string, last_modified_at timestamp, source_ingested_at timestamp"
    )
    t = datetime
    batch = spark.createDataFrame(
        [
            ("acme", "NEW", t(2025, 1, 1), t(2025, 1, 1)),
            ("acme", "NEWER", t(2025, 1, 2), t(2025, 1, 1)),
            ("acme", "OLDER", t(2024, 12, 1), t(2025, 3, 1)),
            ("acme", "SAME", t(2025, 1, 1), t(2025, 1, 1)),
            ("acme", "REINGESTED", t(2025, 1, 1), t(2025, 2, 1)),
        ],
        schema,
    )
    current = spark.createDataFrame(
        [
            ("acme", "NEWER", t(2025, 1, 1), t(2025, 1, 1)),
            ("acme", "OLDER", t(2025, 1, 1), t(2025, 1, 1)),
            ("acme", "SAME", t(2025, 1, 1), t(2025, 1, 1)),
            ("acme", "REINGESTED", t(2025, 1, 1), t(2025, 1, 1)),
        ],
        schema,
    )
    got = tx.newer_than_current(batch, current, ("tenant_id", "opportunity_id"))
    assert sorted(r.opportunity_id for r in got.collect()) == ["NEW", "NEWER", "REINGESTED"]


def test_to_opportunity_spend_has_one_row_per_entry_in_list_order(spark):
    doc = opportunity("O7", spend=[("531", "USD", "Monthly"), ("12.5", "EUR", "Monthly")])
    parsed = tx.parse_opportunities(bronze_df(spark, [doc, opportunity("O8", spend=[])]), email_key=KEY)
    got = tx.to_opportunity_spend(parsed)
    lm = datetime(2025, 1, 10, 10, 0)
    expected = spark.createDataFrame(
        [
            (
                "acme",
                "AWS",
                "O7",
                0,
                Decimal("531.00"),
                "USD",
                "Monthly",
                "AWS",
                None,
                lm,
                "r1",
                "open-2025-01",
            ),
            (
                "acme",
                "AWS",
                "O7",
                1,
                Decimal("12.50"),
                "EUR",
                "Monthly",
                "AWS",
                None,
                lm,
                "r1",
                "open-2025-01",
            ),
        ],
        silver.OPPORTUNITY_SPEND.schema,
    )
    assert_df_equality(got, expected, ignore_row_order=True, ignore_nullable=True)


def test_to_opportunity_contact_hashes_emails_masks_phones_and_drops_names(spark):
    doc = opportunity(
        "O9",
        stage="Launched",
        contacts=[
            {
                "Email": " Jane.Roe@Corp.Example ",
                "FirstName": "Jane",
                "LastName": "Roe",
                "Phone": "+4915112345678",
                "BusinessTitle": "CFO",
            }
        ],
        team=[
            {
                "Email": "rep@partner.example",
                "FirstName": "Rep",
                "LastName": "One",
                "Phone": None,
                "BusinessTitle": "OpportunityOwner",
            }
        ],
    )
    got = tx.to_opportunity_contact(tx.parse_opportunities(bronze_df(spark, [doc]), email_key=KEY))
    lm = datetime(2025, 1, 10, 10, 0)
    expected = spark.createDataFrame(
        [
            (
                "acme",
                "AWS",
                "O9",
                "customer",
                0,
                py_hmac("jane.roe@corp.example"),
                "+***********78",
                "CFO",
                lm,
                "r1",
                "closed-2025-01",
            ),
            (
                "acme",
                "AWS",
                "O9",
                "opportunity_team",
                0,
                py_hmac("rep@partner.example"),
                None,
                "OpportunityOwner",
                lm,
                "r1",
                "closed-2025-01",
            ),
        ],
        silver.OPPORTUNITY_CONTACT.schema,
    )
    assert_df_equality(got, expected, ignore_row_order=True, ignore_nullable=True)


def test_to_opportunity_projects_exactly_the_declared_silver_schema(spark):
    got = tx.to_opportunity(tx.parse_opportunities(bronze_df(spark, [fixture_opportunity()]), email_key=KEY))
    assert [(f.name, f.dataType.simpleString()) for f in got.schema.fields] == [
        (f.name, f.dataType.simpleString()) for f in silver.OPPORTUNITY.schema.fields
    ]


@pytest.mark.parametrize(
    ("stage", "modified", "cluster"),
    [
        ("Prospect", "2025-03-31T23:59:59Z", "open-2025-03"),
        ("Committed", "2025-04-01T00:00:00Z", "open-2025-04"),
        (None, "2024-12-15T08:00:00Z", "open-2024-12"),
        ("Launched", "2025-03-31T23:59:59Z", "closed-2025-03"),
        ("Closed Lost", "2023-07-02T10:00:00Z", "closed-2023-07"),
    ],
)
def test_file_cluster_is_open_or_closed_and_the_utc_month_of_last_modified(spark, stage, modified, cluster):
    parsed = tx.parse_opportunities(
        bronze_df(spark, [opportunity("O1", stage=stage, modified=modified)]), email_key=KEY
    )
    assert [r.file_cluster for r in tx.to_opportunity(parsed).collect()] == [cluster]


def test_children_carry_their_parent_opportunitys_file_cluster(spark):
    doc = opportunity(
        "O5",
        stage="Closed Lost",
        modified="2024-02-29T12:00:00Z",
        spend=[("1", "USD", "Monthly")],
        team=[{"Email": "a@b.example", "BusinessTitle": "OpportunityOwner"}],
    )
    parsed = tx.parse_opportunities(bronze_df(spark, [doc]), email_key=KEY)
    assert [r.file_cluster for r in tx.to_opportunity_spend(parsed).collect()] == ["closed-2024-02"]
    assert [r.file_cluster for r in tx.to_opportunity_contact(parsed).collect()] == ["closed-2024-02"]


def test_to_quarantine_keeps_reason_redacted_payload_and_source(spark):
    parsed = tx.parse_opportunities(bronze_df(spark, ["not json"], run_id="run-9"), email_key=KEY)
    _, bad = tx.split_quarantine(parsed)
    got = tx.to_quarantine(bad, entity="opportunity", id_column="opportunity_id", run_id="silver-1")
    sha = hashlib.sha256(b"not json").hexdigest()
    expected = spark.createDataFrame(
        [
            (
                "acme",
                None,
                "opportunity",
                None,
                tx.REASON_NOT_JSON,
                "not json",
                sha,
                "run-9",
                datetime(2025, 1, 1),
                "silver-1",
            )
        ],
        silver.OPPORTUNITY_QUARANTINE.schema,
    )
    assert_df_equality(got, expected, ignore_nullable=True)


def test_parse_solutions_types_created_date_and_flags_missing_ids(spark):
    sol = {
        "Catalog": "AWS",
        "Id": "S-0001",
        "Arn": "S-0001",
        "Name": "Widget",
        "Status": "Active",
        "Category": "Software",
        "CreatedDate": "2024-05-01T08:00:00Z",
    }
    parsed = tx.parse_solutions(bronze_df(spark, [sol, {"Name": "no id"}]))
    got = tx.to_solution(tx.split_quarantine(parsed)[0])
    expected = spark.createDataFrame(
        [
            (
                "acme",
                "S-0001",
                "AWS",
                "S-0001",
                "Widget",
                "Active",
                "Software",
                datetime(2024, 5, 1, 8),
                None,
                datetime(2024, 5, 1, 8),
                "r1",
                datetime(2025, 1, 1),
                hashlib.sha256(json.dumps(sol).encode()).hexdigest(),
            )
        ],
        silver.SOLUTION.schema,
    )
    assert_df_equality(got, expected, ignore_nullable=True)
    assert [r.quarantine_reason for r in parsed.where("solution_id IS NULL").collect()] == [tx.REASON_NO_ID]


def test_parse_engagement_invitations_keeps_only_hashed_sender_emails(spark):
    inv = {
        "Id": "engi-0000000000001",
        "Catalog": "AWS",
        "PayloadType": "OpportunityInvitation",
        "Status": "PENDING",
        "InvitationDate": "2025-01-03T00:00:00Z",
        "SenderCompanyName": "AWS",
        "Payload": {
            "OpportunityInvitation": {
                "SenderContacts": [
                    {
                        "Email": "Seller@Amazon.example",
                        "FirstName": "Sam",
                        "LastName": "Seller",
                        "Phone": "+12065550100",
                        "BusinessTitle": "PSM",
                    }
                ],
                "Customer": {
                    "CompanyName": "Acme Corp",
                    "CountryCode": "US",
                    "Industry": "Retail",
                    "WebsiteUrl": "https://acme.example",
                },
                "Project": {
                    "Title": "Migration",
                    "TargetCompletionDate": "2025-09-30",
                    "BusinessProblem": "Needs to migrate the data center within a year",
                },
                "ReceiverResponsibilities": ["Distributor"],
            }
        },
    }
    parsed = tx.parse_engagement_invitations(bronze_df(spark, [inv]), email_key=KEY)
    got = tx.to_engagement_invitation(parsed).select(
        "invitation_id",
        "status",
        "invitation_date",
        "customer_company_name",
        "project_target_completion_date",
        "sender_contact_count",
        "sender_contact_email_hashes",
        "receiver_responsibilities",
    )
    assert [tuple(r) for r in got.collect()] == [
        (
            "engi-0000000000001",
            "PENDING",
            datetime(2025, 1, 3),
            "Acme Corp",
            date(2025, 9, 30),
            1,
            [py_hmac("seller@amazon.example")],
            ["Distributor"],
        )
    ]
