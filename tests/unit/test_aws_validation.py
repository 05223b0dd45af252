"""The product's dry-run check reads botocore's model: what the SDK refuses and what AWS's servers refuse."""

from __future__ import annotations

from lakehouse.aws_validation import RequestCheck


def test_a_valid_request_has_no_problems() -> None:
    check = RequestCheck("partnercentral-selling")
    assert check("ListOpportunities", {"Catalog": "Sandbox", "MaxResults": 20}) == []


def test_server_side_enums_maximums_and_patterns_are_reported_with_the_member_path() -> None:
    check = RequestCheck("partnercentral-selling")
    problems = check(
        "ListOpportunities",
        {
            "Catalog": "Sandbox",
            "MaxResults": 101,
            "LifeCycleStage": ["Nearly won"],
            "Identifier": ["not-an-id"],
        },
    )
    assert sorted(p["FieldName"] for p in problems) == ["Identifier[0]", "LifeCycleStage[0]", "MaxResults"]
    assert any("'Nearly won' is not one of" in p["Message"] for p in problems)


def test_what_botocore_itself_refuses_is_reported_too() -> None:
    problems = RequestCheck("partnercentral-selling")("GetOpportunity", {"Catalog": "Sandbox", "Bogus": 1})
    messages = " ".join(p["Message"] for p in problems)
    assert "Identifier" in messages and "Bogus" in messages
