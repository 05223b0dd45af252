"""PII redaction: keyed email hashes, phone masks, classification-driven redact, leak guards."""

from __future__ import annotations

import hashlib
import hmac

import pytest
from pyspark.sql import functions as F

from lakehouse import catalog
from lakehouse.errors import BadInput
from lakehouse.partner_central.entities import silver
from lakehouse.privacy import (
    LocalKeyProvider,
    PiiLeak,
    assert_no_raw_pii,
    default_key_provider,
    hash_email,
    hmac_sha256_hex,
    mask_phone,
    pii_free_layers_check,
    redact,
    redact_json_text,
)


@pytest.mark.parametrize("key", [b"k" * 32, b"short-key-16byte", b"x" * 100])
def test_hmac_in_spark_equals_python_hmac(spark, key):
    values = ["alice@example.com", "ünïcode@exämple.de", ""]
    df = spark.createDataFrame([(v,) for v in values], "v string")
    got = [r.h for r in df.select(hmac_sha256_hex(F.col("v"), key).alias("h")).collect()]
    assert got == [hmac.new(key, v.encode(), hashlib.sha256).hexdigest() for v in values]


def test_hash_email_normalises_case_and_space_and_keeps_nulls(spark):
    key = b"k" * 32
    df = spark.createDataFrame([(" Bob@Example.COM ",), ("bob@example.com",), (None,), ("  ",)], "e string")
    got = [r.h for r in df.select(hash_email(F.col("e"), key).alias("h")).collect()]
    want = hmac.new(key, b"bob@example.com", hashlib.sha256).hexdigest()
    assert got == [want, want, None, None]


def test_tenant_keys_differ_and_are_stable():
    provider = LocalKeyProvider(b"a-secret-of-enough-length")
    assert provider.key_for("acme") == provider.key_for("acme")
    assert provider.key_for("acme") != provider.key_for("globex")
    assert (
        provider.key_for("acme")
        == hmac.new(b"a-secret-of-enough-length", b"lakehouse/pii/v1/acme", hashlib.sha256).digest()
    )
    assert LocalKeyProvider(b"another-secret-value").key_for("acme") != provider.key_for("acme")


def test_key_provider_refuses_short_secrets_and_bad_tenants():
    with pytest.raises(BadInput, match="at least 16 bytes"):
        LocalKeyProvider(b"short")
    with pytest.raises(ValueError, match="invalid tenant id"):
        LocalKeyProvider(b"a-secret-of-enough-length").key_for("../etc")


def test_default_key_provider_reads_the_secret_and_refuses_none_in_production(monkeypatch):
    from lakehouse.settings import get_settings

    monkeypatch.setenv("LAKEHOUSE_PII_SECRET", "env-secret-0123456789")
    get_settings.cache_clear()
    assert default_key_provider().key_for("acme") == LocalKeyProvider(b"env-secret-0123456789").key_for(
        "acme"
    )
    monkeypatch.delenv("LAKEHOUSE_PII_SECRET")
    monkeypatch.setenv("LAKEHOUSE_ENVIRONMENT", "production")
    get_settings.cache_clear()
    try:
        with pytest.raises(BadInput, match="LAKEHOUSE_PII_SECRET must be set in production"):
            default_key_provider()
    finally:
        monkeypatch.delenv("LAKEHOUSE_ENVIRONMENT")
        get_settings.cache_clear()


def test_mask_phone_keeps_plus_and_last_two_digits(spark):
    df = spark.createDataFrame([("+15551234567",), ("+49 151 1234",), ("+7",), (None,), ("n/a",)], "p string")
    got = [r.m for r in df.select(mask_phone(F.col("p")).alias("m")).collect()]
    assert got == ["+*********67", "+*******34", "+*", None, None]


def test_redact_applies_the_classification(spark):
    df = spark.createDataFrame(
        [("acme", "a@b.example", "Ann", "Lee", "+15550001111", "CTO")],
        "tenant_id string, email string, first_name string, last_name string, phone string, title string",
    )
    classification = {
        "tenant_id": "internal",
        "email": "pii",
        "first_name": "pii",
        "last_name": "pii",
        "phone": "pii",
        "title": "confidential",
    }
    kinds = {"email": "email", "first_name": "name", "last_name": "name", "phone": "phone"}
    out = redact(df, classification, kinds, b"k" * 32)
    assert out.columns == ["tenant_id", "email_hash", "phone_masked", "title"]
    assert [tuple(r) for r in out.collect()] == [
        ("acme", hmac.new(b"k" * 32, b"a@b.example", hashlib.sha256).hexdigest(), "+*********11", "CTO")
    ]
    with pytest.raises(BadInput, match=r"\['phone'\] have no redaction kind"):
        redact(df, classification, {k: v for k, v in kinds.items() if k != "phone"}, b"k" * 32)


def test_redact_json_text_hides_contact_values_and_stray_emails(spark):
    text = (
        '{"Contacts": [{"Email": "x@y.example", "FirstName": "Quo \\"Q\\" Vadis", "LastName" : "Z", '
        '"Phone":"+1555", "BusinessTitle": "CEO"}], "Note": "mail me at someone@else.example", "Phone": null}'
    )
    got = (
        spark.createDataFrame([(text,)], "t string").select(redact_json_text(F.col("t")).alias("r")).first().r
    )
    assert got == (
        '{"Contacts": [{"Email": "[REDACTED]", "FirstName": "[REDACTED]", "LastName" : "[REDACTED]", '
        '"Phone":"[REDACTED]", "BusinessTitle": "CEO"}], "Note": "mail me at [REDACTED]", "Phone": null}'
    )


def test_assert_no_raw_pii_refuses_pii_unclassified_and_pii_named_columns(spark):
    ok = spark.createDataFrame([("acme", "O1")], "tenant_id string, opportunity_id string")
    assert_no_raw_pii(ok, silver.OPPORTUNITY)
    leaky = spark.createDataFrame(
        [("acme", "O1", "a@b.c")], "tenant_id string, opportunity_id string, email string"
    )
    with pytest.raises(PiiLeak, match="'email' is not classified; 'email' is named like raw personal data"):
        assert_no_raw_pii(leaky, silver.OPPORTUNITY)


def test_no_table_beyond_bronze_declares_a_pii_column():
    assert pii_free_layers_check(catalog.all_tables()) == []
