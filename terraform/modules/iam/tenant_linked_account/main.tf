# Applied by a tenant in ITS OWN AWS account (the one linked to Partner Central): lets the platform's Glue role
# read that account's Partner Central data, and nothing else, when it presents the tenant's ExternalId.

data "aws_iam_policy_document" "trust" {
  statement {
    sid     = "PlatformGlueRoleWithExternalId"
    effect  = "Allow"
    actions = ["sts:AssumeRole"]
    principals {
      type        = "AWS"
      identifiers = [var.platform_glue_role_arn]
    }
    condition {
      test     = "StringEquals"
      variable = "sts:ExternalId"
      values   = [var.external_id]
    }
  }
}

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}

locals {
  catalog = "catalog/${var.partner_central_catalog}"
  pc      = "arn:${data.aws_partition.current.partition}:partnercentral:${var.partner_central_region}"
}

# Catalog-wide reads are limited to one catalog by partnercentral:Catalog. Gets of one opportunity or invitation
# are scoped by ARN; tags are read on the catalog's resources only.
data "aws_iam_policy_document" "read" {
  statement {
    sid    = "ReadPartnerCentralCatalog"
    effect = "Allow"
    actions = [
      "partnercentral:GetCustomerAccountStatistics",
      "partnercentral:GetSellingSystemSettings",
      "partnercentral:ListCustomerAccountBulkJobResults",
      "partnercentral:ListCustomerAccountBulkJobs",
      "partnercentral:ListEngagementByAcceptingInvitationTasks",
      "partnercentral:ListEngagementFromOpportunityTasks",
      "partnercentral:ListEngagementGroups",
      "partnercentral:ListEngagementInvitations",
      "partnercentral:ListEngagementMembers",
      "partnercentral:ListEngagementResourceAssociations",
      "partnercentral:ListEngagements",
      "partnercentral:ListOpportunities",
      "partnercentral:ListOpportunityBulkJobResults",
      "partnercentral:ListOpportunityBulkJobs",
      "partnercentral:ListOpportunityFromEngagementTasks",
      "partnercentral:ListProspectingFromEngagementTasks",
      "partnercentral:ListResourceSnapshotJobs",
      "partnercentral:ListResourceSnapshots",
      "partnercentral:ListSolutions",
      "partnercentral:SearchCustomerAccounts",
      "partnercentral:SearchEngagements",
      "partnercentral:SearchOpportunities",
    ]
    resources = ["*"]
    condition {
      test     = "StringEquals"
      variable = "partnercentral:Catalog"
      values   = [var.partner_central_catalog]
    }
  }

  statement {
    sid    = "ReadCatalogResources"
    effect = "Allow"
    actions = [
      "partnercentral:GetCustomerAccount",
      "partnercentral:GetCustomerAccountBulkJob",
      "partnercentral:GetCustomerAccountBulkJobReportUrl",
      "partnercentral:GetEngagement",
      "partnercentral:GetOpportunityBulkJobReportUrl",
      "partnercentral:GetProspectingFromEngagementTask",
      "partnercentral:GetResourceSnapshot",
      "partnercentral:GetResourceSnapshotJob",
    ]
    resources = [
      "${local.pc}:${data.aws_caller_identity.current.account_id}:${local.catalog}/*",
      "${local.pc}::${local.catalog}/*",
    ]
  }

  statement {
    sid       = "ReadOpportunities"
    effect    = "Allow"
    actions   = ["partnercentral:GetAwsOpportunitySummary", "partnercentral:GetOpportunity"]
    resources = ["${local.pc}:${data.aws_caller_identity.current.account_id}:${local.catalog}/opportunity/*"]
  }

  statement {
    sid       = "ReadEngagementInvitations"
    effect    = "Allow"
    actions   = ["partnercentral:GetEngagementInvitation"]
    resources = ["${local.pc}::${local.catalog}/engagement-invitation/*"]
  }

  statement {
    sid       = "ReadTagsOfCatalogResources"
    effect    = "Allow"
    actions   = ["partnercentral:ListTagsForResource"]
    resources = ["${local.pc}:${data.aws_caller_identity.current.account_id}:${local.catalog}/*"]
  }
}

resource "aws_iam_role" "this" {
  name                 = var.role_name
  description          = "Read-only Partner Central access for the Partner Central Lakehouse platform"
  assume_role_policy   = data.aws_iam_policy_document.trust.json
  max_session_duration = 3600
  tags                 = var.tags
}

resource "aws_iam_role_policy" "read" {
  name   = "partner-central-read"
  role   = aws_iam_role.this.id
  policy = data.aws_iam_policy_document.read.json
}
