"""Classification-driven PII redaction: nothing classified ``pii`` is stored raw beyond bronze.

- Emails become ``HMAC-SHA256(tenant key, lower(trim(email)))`` as 64 hex characters, computed inside Spark
  (no Python UDF): equal emails of one tenant hash equally (joinable), other tenants' hashes differ.
- Names are dropped; phone numbers are masked to ``+`` and their last two digits.
- Tenant keys come from a ``KeyProvider``. The default, ``LocalKeyProvider``, derives each tenant's key from
  one secret (``LAKEHOUSE_PII_SECRET``): ``key = HMAC-SHA256(secret, "lakehouse/pii/v1/" + tenant_id)``.
  The secret can also come from AWS Secrets Manager (``LAKEHOUSE_PII_SECRET_ARN``; Glue:
  ``--lakehouse_pii_secret_arn``). Outside production an unset secret falls back to a fixed development
  secret (logged); in production a missing or weak one (``lakehouse.secrets`` policy) is an error.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from lakehouse.catalog import TableDef
from lakehouse.errors import BadInput, LakehouseError
from lakehouse.tenancy import validate_tenant_id

log = logging.getLogger(__name__)

PiiKind = Literal["email", "name", "phone"]
PII_SECRET_ENV = "LAKEHOUSE_PII_SECRET"
_DEV_SECRET = b"lakehouse-development-pii-secret-do-not-use-in-production"
_KEY_CONTEXT = b"lakehouse/pii/v1/"
# JSON keys whose string values are personal data wherever they appear in a Partner Central payload
PAYLOAD_PII_KEYS: tuple[str, ...] = ("Email", "FirstName", "LastName", "Phone")
REDACTED = "[REDACTED]"
_EMAIL_PATTERN = r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+"
# column names that hold raw personal data if they appear in a silver/gold frame
_RAW_PII_NAME = re.compile(
    r"(^|_)(email|e_mail|phone|phone_number|mobile|first_name|last_name|firstname|lastname|full_name)$",
    re.IGNORECASE,
)


class PiiLeak(LakehouseError):
    """A frame about to be written beyond bronze still carries raw personal data; nothing was written."""

    exit_code = 4


class KeyProvider(Protocol):
    """Source of per-tenant HMAC keys for pseudonymising personal data."""

    def key_for(self, tenant_id: str) -> bytes:
        """The tenant's secret key (at least 32 bytes)."""
        ...


@dataclass(frozen=True)
class LocalKeyProvider:
    """Derives each tenant's key from one secret: ``HMAC-SHA256(secret, context + tenant_id)``."""

    secret: bytes

    def __post_init__(self) -> None:
        if len(self.secret) < 16:
            raise BadInput(f"the PII secret must be at least 16 bytes, got {len(self.secret)}")

    def key_for(self, tenant_id: str) -> bytes:
        """The tenant's 32-byte key."""
        validate_tenant_id(tenant_id)
        return hmac.new(self.secret, _KEY_CONTEXT + tenant_id.encode("utf-8"), hashlib.sha256).digest()


def default_key_provider() -> KeyProvider:
    """A LocalKeyProvider over the configured PII secret (Secrets Manager ARN or ``LAKEHOUSE_PII_SECRET``).

    Outside production an unset secret falls back to the development secret; in production a missing or
    weak secret is refused, naming which.
    """
    from lakehouse.secrets import WeakSecret, check_production_secret
    from lakehouse.settings import get_settings

    settings = get_settings()
    try:
        secret = settings.resolved_pii_secret()
        if secret is None and os.environ.get(PII_SECRET_ENV):
            # set after the cached settings were read
            secret = os.environ[PII_SECRET_ENV]
            if settings.environment == "production":
                check_production_secret(PII_SECRET_ENV, secret)
    except (WeakSecret, LookupError) as exc:
        raise BadInput(str(exc)) from None
    if not secret:
        if settings.environment == "production":
            raise BadInput(
                f"{PII_SECRET_ENV} must be set in production (it keys the PII hashes), or "
                "LAKEHOUSE_PII_SECRET_ARN (Glue: --lakehouse_pii_secret_arn) naming it in Secrets Manager"
            )
        log.warning("%s is not set; using the development PII secret", PII_SECRET_ENV)
        return LocalKeyProvider(_DEV_SECRET)
    return LocalKeyProvider(secret.encode("utf-8"))


# ----------------------------------------------------------------------------------------------- columns


def hmac_sha256_hex(value: Column, key: bytes) -> Column:
    """HMAC-SHA256 of a string column's UTF-8 bytes under ``key``, as lowercase hex (RFC 2104, in Spark)."""
    block = hashlib.sha256(key).digest() if len(key) > 64 else key
    block = block.ljust(64, b"\0")
    ipad = bytes(b ^ 0x36 for b in block).hex()
    opad = bytes(b ^ 0x5C for b in block).hex()
    inner = F.unhex(F.sha2(F.concat(F.unhex(F.lit(ipad)), F.encode(value, "UTF-8")), 256))
    return F.sha2(F.concat(F.unhex(F.lit(opad)), inner), 256)


def normalise_email(value: Column) -> Column:
    """Trimmed, lower-cased email; empty strings become null."""
    cleaned = F.lower(F.trim(value))
    return F.when(cleaned == F.lit(""), F.lit(None).cast("string")).otherwise(cleaned)


def hash_email(value: Column, key: bytes) -> Column:
    """Keyed hash of a normalised email (null stays null)."""
    normalised = normalise_email(value)
    return F.when(normalised.isNull(), F.lit(None).cast("string")).otherwise(hmac_sha256_hex(normalised, key))


def mask_phone(value: Column) -> Column:
    """``+``, one ``*`` per hidden digit, then the last two digits (all hidden if 2 or fewer); null if no digits."""
    digits = F.regexp_replace(value, r"[^0-9]", "")
    n = F.length(digits)
    return (
        F.when(value.isNull() | (n == 0), F.lit(None).cast("string"))
        .when(n <= 2, F.concat(F.lit("+"), _stars(n)))
        .otherwise(F.concat(F.lit("+"), _stars(n - 2), F.substring(digits, -2, 2)))
    )


def _stars(count: Column) -> Column:
    return F.array_join(F.array_repeat(F.lit("*"), count), "")


def redact_json_text(value: Column, pii_keys: Sequence[str] = PAYLOAD_PII_KEYS) -> Column:
    """A JSON text with the string values of ``pii_keys`` and any email address replaced by [REDACTED]."""
    keys = "|".join(re.escape(k) for k in pii_keys)
    by_key = F.regexp_replace(value, rf'"({keys})"(\s*):(\s*)"(?:[^"\\]|\\.)*"', f'"$1"$2:$3"{REDACTED}"')
    return F.regexp_replace(by_key, _EMAIL_PATTERN, REDACTED)


# ---------------------------------------------------------------------------------------------- frames


_OUTPUT_SUFFIX: dict[str, str] = {"email": "_hash", "phone": "_masked"}


def snake_case(name: str) -> str:
    """``BusinessTitle`` -> ``business_title`` (API field names to lake column names)."""
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name).lower()


def redacted_name(column: str, kind: PiiKind) -> str | None:
    """The output column a pii column becomes (None: dropped)."""
    suffix = _OUTPUT_SUFFIX.get(kind)
    return f"{snake_case(column)}{suffix}" if suffix else None


def _redacted_fields(
    fields: list[str],
    classification: Mapping[str, str],
    kinds: Mapping[str, PiiKind],
    key: bytes,
    get: Callable[[str], Column],
) -> list[Column]:
    """Each field redacted by its classification: pii by kind (hash / mask / drop), others unchanged."""
    unclassified = [f for f in fields if f not in classification]
    if unclassified:
        raise BadInput(f"field(s) {unclassified} have no classification; classify them before redaction")
    no_kind = [f for f in fields if classification[f] == "pii" and f not in kinds]
    if no_kind:
        raise BadInput(f"pii column(s) {no_kind} have no redaction kind (email, name or phone)")
    out: list[Column] = []
    for f in fields:
        if classification[f] != "pii":
            out.append(get(f).alias(snake_case(f)))
        elif kinds[f] == "email":
            out.append(hash_email(get(f), key).alias(redacted_name(f, "email")))  # type: ignore[arg-type]
        elif kinds[f] == "phone":
            out.append(mask_phone(get(f)).alias(redacted_name(f, "phone")))  # type: ignore[arg-type]
        # names: dropped
    return out


def redact(
    df: DataFrame,
    classification: Mapping[str, str],
    kinds: Mapping[str, PiiKind],
    key: bytes,
) -> DataFrame:
    """Replace every column classified ``pii``: emails -> ``<col>_hash``, phones -> ``<col>_masked``, names dropped.

    Every column needs a classification and every pii column a kind; other columns pass through in order.
    """
    return df.select(*_redacted_fields(df.columns, classification, kinds, key, F.col))


def redact_struct(
    value: Column,
    classification: Mapping[str, str],
    kinds: Mapping[str, PiiKind],
    key: bytes,
) -> Column:
    """A struct's redacted copy (fields in ``classification`` order, snake_case names); usable inside lambdas."""
    return F.struct(*_redacted_fields(list(classification), classification, kinds, key, lambda f: value[f]))


def assert_no_raw_pii(df: DataFrame, table: TableDef) -> None:
    """Refuse a frame bound for ``table`` that carries a column classified pii or named like raw personal data."""
    problems: list[str] = []
    for c in df.columns:
        level = table.classification.get(c)
        if level == "pii":
            problems.append(f"{c!r} is classified pii")
        elif level is None:
            problems.append(f"{c!r} is not classified")
        if _RAW_PII_NAME.search(c):
            problems.append(f"{c!r} is named like raw personal data")
    if problems and table.layer != "bronze":
        raise PiiLeak(f"frame for {table.qualified_name} refused: " + "; ".join(problems))


def pii_free_layers_check(tables: list[TableDef]) -> list[str]:
    """Tables beyond bronze that declare a pii column (must be empty)."""
    return [
        f"{t.qualified_name}.{c}" for t in tables if t.layer != "bronze" for c in t.columns_classified("pii")
    ]


# ------------------------------------------------------------------------------------------------ free text

_EMAIL_TEXT = re.compile(_EMAIL_PATTERN)
# international (+...) numbers, and North-American style 3-3-4 groups; dates and ids do not match
_PHONE_TEXT = re.compile(r"\+\d[\d\s().-]{6,}\d|\(?\b\d{3}\)?[\s.-]\d{3}[\s.-]\d{4}\b")
_NAMED_TEXT = re.compile(
    r"(?i)\b(first ?name|last ?name|full ?name|contact name)\s*[:=]\s*[\"']?[^\s,;\"']+(?:\s+[A-Z][a-z]+)?"
)


def redact_text(text: str) -> str:
    """Free text with email addresses, phone numbers and labelled personal names replaced by [REDACTED].

    The Python twin of ``redact_json_text`` for text that never reaches Spark (agent questions, retrieved
    context, answers): the same email pattern and marker, so a redacted value looks the same everywhere.
    """
    text = _EMAIL_TEXT.sub(REDACTED, text)
    text = _PHONE_TEXT.sub(REDACTED, text)
    return _NAMED_TEXT.sub(lambda m: f"{m.group(1)}: {REDACTED}", text)
