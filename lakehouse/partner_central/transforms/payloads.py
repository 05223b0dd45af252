"""Explicit ``from_json`` schemas of the Partner Central payloads kept in bronze.

Mirrors botocore's ``partnercentral-selling`` output shapes (GetOpportunity, GetEngagementInvitation,
ListSolutions' SolutionBase); tests check every member of those shapes is declared here. Timestamps, dates and
amounts are read as strings and typed afterwards, so an unparseable value is caught (quarantined) rather than
silently becoming null.
"""

from __future__ import annotations

from pyspark.sql.types import ArrayType, DataType, StringType, StructField, StructType

S = StringType()


def _struct(*fields: tuple[str, DataType]) -> StructType:
    return StructType([StructField(name, dtype, True) for name, dtype in fields])


def _strings(*names: str) -> StructType:
    return _struct(*[(n, S) for n in names])


STRING_LIST = ArrayType(S)

CONTACT = _strings("Email", "FirstName", "LastName", "BusinessTitle", "Phone")
EXPECTED_CUSTOMER_SPEND = _strings("Amount", "CurrencyCode", "Frequency", "TargetCompany", "EstimationUrl")

OPPORTUNITY = _struct(
    ("Catalog", S),
    ("PrimaryNeedsFromAws", STRING_LIST),
    ("NationalSecurity", S),
    ("PartnerOpportunityIdentifier", S),
    (
        "Customer",
        _struct(
            (
                "Account",
                _struct(
                    ("Industry", S),
                    ("OtherIndustry", S),
                    ("CompanyName", S),
                    ("WebsiteUrl", S),
                    ("AwsAccountId", S),
                    (
                        "Address",
                        _strings("City", "PostalCode", "StateOrRegion", "CountryCode", "StreetAddress"),
                    ),
                    ("Duns", S),
                ),
            ),
            ("Contacts", ArrayType(CONTACT)),
        ),
    ),
    (
        "Project",
        _struct(
            ("DeliveryModels", STRING_LIST),
            ("ExpectedCustomerSpend", ArrayType(EXPECTED_CUSTOMER_SPEND)),
            ("ExpectedContractDuration", _strings("Term", "Value")),
            ("Title", S),
            ("ApnPrograms", STRING_LIST),
            ("CustomerBusinessProblem", S),
            ("CustomerUseCase", S),
            ("RelatedOpportunityIdentifier", S),
            ("SalesActivities", STRING_LIST),
            ("CompetitorName", S),
            ("OtherCompetitorNames", S),
            ("OtherSolutionDescription", S),
            ("AdditionalComments", S),
            ("AwsPartition", S),
        ),
    ),
    ("OpportunityType", S),
    (
        "Marketing",
        _struct(
            ("CampaignName", S),
            ("Source", S),
            ("UseCases", STRING_LIST),
            ("Channels", STRING_LIST),
            ("AwsFundingUsed", S),
        ),
    ),
    (
        "SoftwareRevenue",
        _struct(
            ("DeliveryModel", S),
            ("Value", _strings("Amount", "CurrencyCode")),
            ("EffectiveDate", S),
            ("ExpirationDate", S),
        ),
    ),
    ("Id", S),
    ("Arn", S),
    ("LastModifiedDate", S),
    ("CreatedDate", S),
    (
        "RelatedEntityIdentifiers",
        _struct(
            ("AwsMarketplaceOffers", STRING_LIST),
            ("AwsMarketplaceOfferSets", STRING_LIST),
            ("Solutions", STRING_LIST),
            ("AwsProducts", STRING_LIST),
            ("AwsMarketplaceSolutions", STRING_LIST),
            ("AwsMarketplaceProducts", STRING_LIST),
        ),
    ),
    (
        "LifeCycle",
        _struct(
            ("Stage", S),
            ("ClosedLostReason", S),
            ("NextSteps", S),
            ("TargetCloseDate", S),
            ("ReviewStatus", S),
            ("ReviewComments", S),
            ("ReviewStatusReason", S),
            ("NextStepsHistory", ArrayType(_strings("Value", "Time"))),
        ),
    ),
    ("OpportunityTeam", ArrayType(CONTACT)),
)

SOLUTION = _strings(
    "Catalog", "Id", "Arn", "Name", "Status", "Category", "CreatedDate", "AwsMarketplaceSolutionArn"
)

_ENGAGEMENT_CUSTOMER = _strings("Industry", "CompanyName", "WebsiteUrl", "CountryCode")

ENGAGEMENT_INVITATION = _struct(
    ("Arn", S),
    ("PayloadType", S),
    ("Id", S),
    ("EngagementId", S),
    ("EngagementTitle", S),
    ("Status", S),
    ("InvitationDate", S),
    ("ExpirationDate", S),
    ("SenderAwsAccountId", S),
    ("SenderCompanyName", S),
    ("Receiver", _struct(("Account", _strings("Alias", "AwsAccountId")))),
    ("Catalog", S),
    ("RejectionReason", S),
    (
        "Payload",
        _struct(
            (
                "OpportunityInvitation",
                _struct(
                    ("SenderContacts", ArrayType(CONTACT)),
                    ("ReceiverResponsibilities", STRING_LIST),
                    ("Customer", _ENGAGEMENT_CUSTOMER),
                    (
                        "Project",
                        _struct(
                            ("BusinessProblem", S),
                            ("Title", S),
                            ("TargetCompletionDate", S),
                            ("ExpectedCustomerSpend", ArrayType(EXPECTED_CUSTOMER_SPEND)),
                        ),
                    ),
                    ("OpportunityType", S),
                ),
            ),
            (
                "LeadInvitation",
                _struct(
                    (
                        "Customer",
                        _strings(
                            "Industry",
                            "CompanyName",
                            "WebsiteUrl",
                            "CountryCode",
                            "AwsMaturity",
                            "MarketSegment",
                        ),
                    ),
                    (
                        "Interaction",
                        _strings("SourceType", "SourceId", "SourceName", "Usecase", "ContactBusinessTitle"),
                    ),
                ),
            ),
            (
                "AccountPlanningInvitation",
                _struct(
                    ("AccountIdentifier", S),
                    ("Customer", _ENGAGEMENT_CUSTOMER),
                    ("SenderContacts", ArrayType(CONTACT)),
                    ("PreferredContact", _strings("Window", "Timezone")),
                ),
            ),
        ),
    ),
    ("InvitationMessage", S),
    ("EngagementDescription", S),
    ("ExistingMembers", ArrayType(_strings("CompanyName", "WebsiteUrl"))),
    (
        "EnrichmentContext",
        _struct(
            (
                "ProspectingResultAws",
                _struct(
                    (
                        "Customer",
                        _struct(
                            ("AccountName", S),
                            ("Geo", S),
                            ("Region", S),
                            ("SubRegion", S),
                            ("Country", S),
                            ("Industry", S),
                            ("SubIndustry", S),
                            ("Segment", S),
                            ("CompanySize", S),
                            ("EligiblePrograms", STRING_LIST),
                            ("PublicProfileSummary", S),
                        ),
                    ),
                    (
                        "Insights",
                        _strings(
                            "MarketplaceEngagementScore",
                            "SolutionScore",
                            "SolutionCategory",
                            "SolutionSubCategory",
                        ),
                    ),
                ),
            ),
            (
                "LeadInsights",
                _struct(
                    ("LeadReadinessScore", S),
                    (
                        "ChannelRecommendation",
                        _struct(
                            ("RecommendedChannel", S),
                            ("BestOutreachWindows", ArrayType(_strings("Day", "StartTimeUtc", "EndTimeUtc"))),
                        ),
                    ),
                ),
            ),
        ),
    ),
)
