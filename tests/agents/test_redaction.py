"""``lakehouse.privacy.redact_text``: the free-text redaction agents apply to questions, context and answers."""

from __future__ import annotations

import pytest

from lakehouse.privacy import REDACTED, redact_text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("mail jane.doe+x@customer.example now", f"mail {REDACTED} now"),
        ("call +1 415 555 0100 today", f"call {REDACTED} today"),
        ("call (415) 555-0100", f"call {REDACTED}"),
        ("first name: Jane, stage Qualified", f"first name: {REDACTED}, stage Qualified"),
        (
            "O3000000015 closes 2026-11-30, spend 12500.00 USD",
            "O3000000015 closes 2026-11-30, spend 12500.00 USD",
        ),
        ("account 123456789012 in us-east-1", "account 123456789012 in us-east-1"),
    ],
)
def test_personal_data_is_redacted_and_ids_dates_and_amounts_are_kept(text, expected):
    assert redact_text(text) == expected
