"""Selling API payloads shaped like botocore's ``partnercentral-selling`` output shapes (members named exactly as
GetEngagement, ListEngagementMembers, GetAwsOpportunitySummary, GetCustomerAccount, GetResourceSnapshot,
StartOpportunityFromEngagementTask and GetEngagementInvitation answer), with the values a test varies."""

from __future__ import annotations

from typing import Any


def lead_context(
    context_id: str,
    *,
    source: str | None = "MarketingActivity",
    status: str | None = "Qualified",
    interactions: tuple[str, ...] = ("2025-01-05T09:00:00Z",),
    company: str = "Example Corp",
) -> dict[str, Any]:
    """An engagement context of type Lead (LeadContext: QualificationStatus, Customer, Interactions, Insights)."""
    return {
        "Id": context_id,
        "Type": "Lead",
        "Payload": {
            "Lead": {
                "QualificationStatus": status,
                "Customer": {
                    "Industry": "Software",
                    "CompanyName": company,
                    "WebsiteUrl": "https://example.com",
                    "Address": {"City": "Seattle", "CountryCode": "US"},
                    "AwsMaturity": "Growing",
                    "MarketSegment": "Enterprise",
                },
                "Interactions": [
                    {
                        "SourceType": source,
                        "SourceId": "src-1",
                        "SourceName": "re:Invent booth",
                        "Usecase": "Migration",
                        "InteractionDate": at,
                        "CustomerAction": "Requested a call",
                        "BusinessProblem": "Legacy data center",
                        "Contact": {
                            "BusinessTitle": "CTO",
                            "Email": "cto@example.com",
                            "FirstName": "Jane",
                            "LastName": "Doe",
                            "Phone": "+12065550100",
                        },
                    }
                    for at in interactions
                ],
                "Insights": {
                    "LeadReadinessScore": "High",
                    "ChannelRecommendation": {"RecommendedChannel": "Email"},
                },
            }
        },
    }


def project_context(context_id: str) -> dict[str, Any]:
    """An engagement context of type CustomerProject."""
    return {
        "Id": context_id,
        "Type": "CustomerProject",
        "Payload": {
            "CustomerProject": {
                "Customer": {"Industry": "Retail", "CompanyName": "Shop Co", "CountryCode": "DE"},
                "Project": {
                    "Title": "Shop migration",
                    "BusinessProblem": "Peak load",
                    "TargetCompletionDate": "2025-09-30",
                },
            }
        },
    }


def engagement(
    engagement_id: str,
    contexts: list[dict[str, Any]],
    *,
    modified: str = "2025-01-06T10:00:00Z",
    catalog: str = "AWS",
    title: str = "Co-sell",
) -> dict[str, Any]:
    """A GetEngagement response."""
    return {
        "Id": engagement_id,
        "Arn": f"arn:aws:partnercentral:us-east-1:aws:catalog/{catalog}/engagement/{engagement_id}",
        "Title": title,
        "Description": "Joint pursuit",
        "CreatedAt": "2025-01-01T08:00:00Z",
        "CreatedBy": "123456789012",
        "MemberCount": 2,
        "ModifiedAt": modified,
        "ModifiedBy": "123456789012",
        "Contexts": contexts,
    }


def members(engagement_id: str, companies: list[str], *, catalog: str = "AWS") -> dict[str, Any]:
    """A ListEngagementMembers result of one engagement, as the sync lands it (identifier and catalog added)."""
    return {
        "EngagementIdentifier": engagement_id,
        "Catalog": catalog,
        "EngagementMemberList": [
            {"CompanyName": c, "WebsiteUrl": f"https://{c.lower()}.example", "AccountId": f"{i:012d}"}
            for i, c in enumerate(companies, start=1)
        ],
    }


def conversion_task(
    task_id: str,
    engagement_id: str,
    *,
    context_id: str | None,
    opportunity_id: str | None,
    status: str = "COMPLETE",
    started: str = "2025-01-15T09:00:00Z",
) -> dict[str, Any]:
    """A StartOpportunityFromEngagementTask result."""
    out: dict[str, Any] = {
        "TaskId": task_id,
        "TaskArn": f"arn:aws:partnercentral:us-east-1:aws:catalog/AWS/task/{task_id}",
        "StartTime": started,
        "TaskStatus": status,
        "EngagementId": engagement_id,
    }
    if context_id is not None:
        out["ContextId"] = context_id
    if opportunity_id is not None:
        out["OpportunityId"] = opportunity_id
    return out


def aws_summary(
    opportunity_id: str,
    *,
    stage: str | None = "Qualified",
    score: str | None = "High",
    next_best_actions: str | None = "Schedule a technical deep dive",
    spend: str | None = "1200.50",
    currency: str = "USD",
    recommendations: int = 1,
    catalog: str = "AWS",
) -> dict[str, Any]:
    """A GetAwsOpportunitySummary response."""
    insights: dict[str, Any] = {
        "EngagementScore": score,
        "NextBestActions": next_best_actions,
        "OpportunityQuality": {"Score": 72, "Trend": "Up"},
        "Recommendations": [
            {"Type": f"Type{i}", "Details": "d", "Attributes": {"k": "v"}} for i in range(recommendations)
        ],
        "AwsProductsSpendInsightsBySource": {
            "AWS": {
                "CurrencyCode": currency,
                "Frequency": "Monthly",
                "TotalAmount": spend,
                "TotalPotentialSavingsAmount": "100",
                "AwsProducts": [{"ProductCode": "AmazonEC2", "Amount": "1000", "Categories": ["Compute"]}],
            }
        },
    }
    return {
        "RelatedOpportunityId": opportunity_id,
        "Catalog": catalog,
        "Origin": "Partner Referral",
        "InvolvementType": "Co-Sell",
        "Visibility": "Full",
        "LifeCycle": {"Stage": stage, "TargetCloseDate": "2025-07-01", "NextSteps": "Call"},
        "OpportunityTeam": [
            {"Email": "am@amazon.com", "FirstName": "A", "LastName": "M", "BusinessTitle": "AWSAccountOwner"}
        ],
        "Insights": insights,
        "CosellMotion": "Cosell",
        "CosellMotionReason": "Partner requested",
    }


def customer_account(account_id: str, *, modified: str = "2025-01-03T00:00:00Z") -> dict[str, Any]:
    """A GetCustomerAccount response."""
    return {
        "Arn": f"arn:aws:partnercentral:us-east-1:aws:catalog/AWS/customer-account/{account_id}",
        "Id": account_id,
        "Catalog": "AWS",
        "EnrichmentStatus": "Completed",
        "PartnerAccountIdentifier": "crm-42",
        "CreatedDate": "2025-01-02T00:00:00Z",
        "LastModifiedDate": modified,
        "Issues": [{"Severity": "Low", "Code": "C1", "Message": "m"}],
        "AwsEnrichment": {
            "Customer": {"Segment": "Enterprise", "Geo": "AMER", "Country": "US"},
            "Insights": {"MarketplaceEngagementScore": "Medium"},
        },
        "Account": {
            "CompanyName": "Example Corp",
            "WebsiteUrl": "https://example.com",
            "Duns": "123456789",
            "Address": {"City": "Seattle", "CountryCode": "US"},
            "Industry": "Software",
            "Domain": "example.com",
        },
    }


def snapshot(
    engagement_id: str, opportunity_id: str, revision: int, *, stage: str = "Qualified"
) -> dict[str, Any]:
    """A GetResourceSnapshot response (OpportunitySummary template)."""
    return {
        "Catalog": "AWS",
        "Arn": f"arn:aws:partnercentral:us-east-1:aws:catalog/AWS/snapshot/{engagement_id}/{revision}",
        "CreatedBy": "123456789012",
        "CreatedAt": f"2025-01-{10 + revision:02d}T00:00:00Z",
        "EngagementId": engagement_id,
        "ResourceType": "Opportunity",
        "ResourceId": opportunity_id,
        "ResourceSnapshotTemplateName": "OpportunitySummary",
        "Revision": revision,
        "Payload": {
            "OpportunitySummary": {
                "OpportunityType": "Net New Business",
                "Lifecycle": {"Stage": stage, "ReviewStatus": "Approved", "TargetCloseDate": "2025-08-01"},
                "Customer": {"Account": {"CompanyName": "Example Corp"}},
            }
        },
    }


def lead_invitation(
    invitation_id: str, engagement_id: str, *, status: str = "PENDING", source: str = "Event"
) -> dict[str, Any]:
    """A GetEngagementInvitation response with a LeadInvitation payload."""
    return {
        "Arn": f"arn:aws:partnercentral:us-east-1:aws:catalog/AWS/engagement-invitation/{invitation_id}",
        "PayloadType": "LeadInvitation",
        "Id": invitation_id,
        "EngagementId": engagement_id,
        "EngagementTitle": "AWS lead",
        "Status": status,
        "InvitationDate": "2025-01-04T00:00:00Z",
        "ExpirationDate": "2025-02-04T00:00:00Z",
        "SenderAwsAccountId": "aws",
        "SenderCompanyName": "AWS",
        "Catalog": "AWS",
        "Payload": {
            "LeadInvitation": {
                "Customer": {
                    "Industry": "Healthcare",
                    "CompanyName": "Clinic Inc",
                    "CountryCode": "US",
                    "AwsMaturity": "New",
                },
                "Interaction": {
                    "SourceType": source,
                    "SourceId": "e-1",
                    "SourceName": "Summit",
                    "Usecase": "AI",
                },
            }
        },
        "EnrichmentContext": {
            "LeadInsights": {"LeadReadinessScore": "Medium"},
            "ProspectingResultAws": {"Customer": {"Segment": "SMB"}, "Insights": {"SolutionScore": "80"}},
        },
    }
