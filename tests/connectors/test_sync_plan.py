"""The sync plans its calls against the rolling-day quota: list first, Get only new or changed versions, AWS
summaries only where AWS engaged; a first load beyond the quota resumes the next day from its watermark."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from lakehouse.partner_central.connector import (
    CallBudget,
    MemorySink,
    PartnerCentralSync,
    SyncPlan,
    aws_engaged,
)

from .conftest import SIZES, reader_for

START = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)


def test_a_first_load_of_50k_fits_one_days_quota_at_one_get_per_record_plus_list_pages():
    plan = SyncPlan(listed=50_000, to_fetch=50_000, engaged=0)
    assert (plan.list_calls, plan.total_calls, plan.days) == (500, 50_500, 0)
    assert plan.calls_per_changed_record == 50_500 / 50_000
    assert plan.completion(START) == START + timedelta(seconds=5_050)  # at AWS's 10 reads/s


def test_a_daily_one_percent_change_costs_one_get_per_change_plus_the_list_pages():
    plan = SyncPlan(
        listed=500, to_fetch=500, engaged=0
    )  # the listing only returns what changed since the watermark
    assert (plan.total_calls, plan.calls_per_changed_record) == (505, 1.01)


def test_a_load_beyond_the_quota_spans_days_and_reports_when_it_will_be_done():
    plan = SyncPlan(listed=150_000, to_fetch=150_000, engaged=30_000, used_today=20_000)
    assert plan.total_calls == 1_500 + 150_000 + 30_000
    assert plan.remaining_today == 80_000 and not plan.fits_today
    assert plan.days == 2  # 101,500 calls beyond today's 80,000: two more quota days
    rest = plan.total_calls - 80_000 - 100_000
    assert plan.completion(START) == START + timedelta(days=2, seconds=rest / 10.0)
    assert plan.summary(START)["expected_completion"] == plan.completion(START).isoformat()


def test_only_opportunities_aws_engaged_on_need_an_aws_summary():
    assert aws_engaged({"LifeCycle": {"ReviewStatus": "Submitted"}})
    assert aws_engaged({"Origin": "AWS Referral", "LifeCycle": {"ReviewStatus": "Pending Submission"}})
    assert not aws_engaged(
        {"LifeCycle": {"ReviewStatus": "Pending Submission"}, "Origin": "Partner Referral"}
    )
    assert not aws_engaged(None)


def test_the_sync_lists_first_then_fetches_summaries_only_for_engaged_opportunities(sandbox):
    sink = MemorySink()
    result = PartnerCentralSync(
        reader_for(sandbox, "acme"), sink, catalog="Sandbox", entities=("opportunity",), aws_summaries=True
    ).run()
    payloads = [json.loads(r.payload) for r in sink.rows[("Sandbox", "opportunity")]]
    engaged = sorted(p["Id"] for p in payloads if aws_engaged(p))
    assert sorted(r.entity_id for r in sink.rows[("Sandbox", "aws_opportunity_summary")]) == engaged
    assert sandbox.calls("GetOpportunity") == SIZES["acme"]
    assert sandbox.calls("GetAwsOpportunitySummary") == len(engaged) > 0
    assert (
        result.plan is not None
        and result.plan.to_fetch == SIZES["acme"]
        and result.plan.listed == SIZES["acme"]
    )
    changed = sandbox.state.touch_opportunities("acme", "Sandbox", count=3)
    sandbox.reset_counters()
    again = PartnerCentralSync(
        reader_for(sandbox, "acme"), sink, catalog="Sandbox", entities=("opportunity",), aws_summaries=True
    ).run()
    assert sandbox.calls("GetOpportunity") == len(changed) == again.plan.to_fetch
    assert sandbox.calls("ListOpportunities") == 1


def test_a_first_load_beyond_the_days_budget_stops_partial_and_the_next_day_resumes_without_refetching(
    sandbox,
):
    sink = MemorySink()
    first = PartnerCentralSync(
        reader_for(sandbox, "acme"), sink, catalog="Sandbox", entities=("opportunity",)
    )
    first.reader.budget = CallBudget(40)
    day_one = first.run()
    assert day_one.status == "partial" and day_one.plan is not None
    assert day_one.plan.total_calls == 1 + SIZES["acme"] and day_one.plan.days == 1
    fetched_day_one = sandbox.calls("GetOpportunity")
    assert fetched_day_one == 39  # 40 calls: 1 list page, 39 Gets
    sandbox.reset_counters()
    second = PartnerCentralSync(
        reader_for(sandbox, "acme"), sink, catalog="Sandbox", entities=("opportunity",)
    )
    second.reader.budget = CallBudget(40)  # the next day's budget
    day_two = second.run()
    assert day_two.status == "succeeded"
    assert sandbox.calls("GetOpportunity") == SIZES["acme"] - fetched_day_one
    assert len(sink.rows[("Sandbox", "opportunity")]) == SIZES["acme"]


def test_engagements_and_customer_accounts_are_fetched_only_when_new_or_changed(sandbox):
    state = sandbox.state
    account = state.tenants["acme"]
    cat = account.catalog("Sandbox")
    state.seed_engagements(account, cat, leads=3, accounts=2)
    engagements, accounts = len(cat.engagements), len(cat._extra.customer_accounts)
    sink = MemorySink()
    entities = ("engagement", "customer_account")
    first = PartnerCentralSync(reader_for(sandbox, "acme"), sink, catalog="Sandbox", entities=entities).run()
    assert first.status == "succeeded"
    assert (sandbox.calls("GetEngagement"), sandbox.calls("GetCustomerAccount")) == (engagements, accounts)
    leads = [json.loads(r.payload) for r in sink.rows[("Sandbox", "engagement")]]
    assert sum(any(c["Type"] == "Lead" for c in e.get("Contexts") or []) for e in leads) == 3
    changed = next(e for e in cat.engagements.values() if e.get("Contexts"))
    state._touch_engagement(account, changed)
    sandbox.reset_counters()
    again = PartnerCentralSync(reader_for(sandbox, "acme"), sink, catalog="Sandbox", entities=entities).run()
    assert (sandbox.calls("GetEngagement"), sandbox.calls("GetCustomerAccount")) == (1, 0)
    assert again.entities["engagement"].skipped_known == engagements - 1
