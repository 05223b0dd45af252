"""The bulk job's CSV through S3 (moto): kept apart from the approval-flow tests, whose AWS calls the IAM-from-code
test records for the Partner Central roles (the bulk bucket's grant is configured with the bucket, not there)."""

from __future__ import annotations

import json

from lakehouse.partner_central import selling_writes as SW


def test_the_s3_uploader_stores_the_bulk_csv_where_the_job_reads_it():
    import boto3
    from moto import mock_aws

    records = [
        {"request_id": "r1", "operation": "CREATE", "opportunity": {"Project": {"Title": "A, \"quoted\""}}},
        {"request_id": "r2", "operation": "UPDATE", "opportunity_id": "O12", "last_modified_date": "2026-01-01T00:00:00Z",
         "opportunity": {"Project": {"Title": "B"}}},
    ]  # fmt: skip
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket="bulk")
        uploader = SW.S3Uploader(s3, "bulk")
        uri = uploader.put("acme/appr-1.csv", SW.bulk_csv(records))
        assert uri == "s3://bulk/partner-central/bulk/acme/appr-1.csv"
        rows = SW.parse_report(uploader.get(uri))
    assert [(r["RequestId"], r["Operation"], r["Identifier"]) for r in rows] == [
        ("r1", "CREATE", ""),
        ("r2", "UPDATE", "O12"),
    ]
    assert json.loads(rows[0]["Payload"]) == records[0]["opportunity"]
