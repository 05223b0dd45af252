data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
data "aws_region" "current" {}

locals {
  partition  = data.aws_partition.current.partition
  account    = data.aws_caller_identity.current.account_id
  region     = data.aws_region.current.name
  glue_roles = "arn:${local.partition}:iam::${local.account}:role/${var.name_prefix}-glue-job"
  log_groups = "arn:${local.partition}:logs:${local.region}:${local.account}:log-group:/aws-glue/*"
  tenant_linked_role_arns = [
    for account in var.tenant_account_ids : "arn:${local.partition}:iam::${account}:role/${var.tenant_linked_role_name}"
  ]
  # Partner Central Selling lives in us-east-1. Opportunities carry the account in their ARN; engagement
  # invitations do not (they are shared between accounts).
  pc_catalog_arn   = "arn:${local.partition}:partnercentral:${var.partner_central_region}:${local.account}:catalog/${var.partner_central_catalog}"
  pc_opportunities = "${local.pc_catalog_arn}/opportunity/*"
  pc_invitations   = "arn:${local.partition}:partnercentral:${var.partner_central_region}::catalog/${var.partner_central_catalog}/engagement-invitation/*"
  # Resources of the catalog: the account's (customer accounts, snapshots, jobs, tasks) and the account-less
  # engagement ARNs.
  pc_catalog_resources = [
    "${local.pc_catalog_arn}/*",
    "arn:${local.partition}:partnercentral:${var.partner_central_region}::catalog/${var.partner_central_catalog}/*",
  ]
}

# The Partner Central and Marketplace actions below are exactly what the clients declare they call
# (AWS_OPERATIONS in lakehouse/connectors/*.py, collected by lakehouse/aws_operations.py):
# tests/infra/test_iam_from_code.py fails, naming the role and the action, when a grant is missing or extra.

# ==== Glue job role: what every pipeline job runs as ==================================================
data "aws_iam_policy_document" "glue_trust" {
  statement {
    sid     = "GlueService"
    effect  = "Allow"
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["glue.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account]
    }
  }
}

data "aws_iam_policy_document" "glue_job" {
  statement {
    sid       = "LocateBuckets"
    effect    = "Allow"
    actions   = ["s3:GetBucketLocation"]
    resources = [var.lake_bucket_arn, var.artifacts_bucket_arn]
  }

  statement {
    sid       = "ListLakePrefix"
    effect    = "Allow"
    actions   = ["s3:ListBucket"]
    resources = [var.lake_bucket_arn]
    condition {
      test     = "StringLike"
      variable = "s3:prefix"
      values   = [var.lake_prefix, "${var.lake_prefix}/*"]
    }
  }

  statement {
    sid    = "ReadWriteLakeObjects"
    effect = "Allow"
    actions = [
      "s3:DeleteObject",
      "s3:GetObject",
      "s3:GetObjectVersion",
      "s3:PutObject",
    ]
    resources = ["${var.lake_bucket_arn}/${var.lake_prefix}/*"]
  }

  statement {
    sid       = "ListArtifacts"
    effect    = "Allow"
    actions   = ["s3:ListBucket"]
    resources = [var.artifacts_bucket_arn]
    condition {
      test     = "StringLike"
      variable = "s3:prefix"
      values   = ["glue/*", "tmp/*", "spark-logs/*"]
    }
  }

  statement {
    sid       = "ReadGlueBundle"
    effect    = "Allow"
    actions   = ["s3:GetObject"]
    resources = ["${var.artifacts_bucket_arn}/glue/*"]
  }

  statement {
    sid       = "GlueScratchAndSparkEventLogs"
    effect    = "Allow"
    actions   = ["s3:DeleteObject", "s3:GetObject", "s3:PutObject"]
    resources = ["${var.artifacts_bucket_arn}/tmp/*", "${var.artifacts_bucket_arn}/spark-logs/*"]
  }

  statement {
    sid    = "UseEnvironmentKey"
    effect = "Allow"
    actions = [
      "kms:Decrypt",
      "kms:DescribeKey",
      "kms:Encrypt",
      "kms:GenerateDataKey",
    ]
    resources = [var.kms_key_arn]
  }

  statement {
    sid    = "GlueJobLogs"
    effect = "Allow"
    actions = [
      "logs:AssociateKmsKey",
      "logs:CreateLogGroup",
      "logs:CreateLogStream",
      "logs:PutLogEvents",
    ]
    resources = [local.log_groups, "${local.log_groups}:log-stream:*"]
  }

  statement {
    sid       = "GlueMetrics"
    effect    = "Allow"
    actions   = ["cloudwatch:PutMetricData"]
    resources = ["*"]
    condition {
      test     = "StringEquals"
      variable = "cloudwatch:namespace"
      values   = ["Glue"]
    }
  }

  statement {
    sid     = "ReadOwnConnections"
    effect  = "Allow"
    actions = ["glue:GetConnection"]
    resources = [
      "arn:${local.partition}:glue:${local.region}:${local.account}:catalog",
      "arn:${local.partition}:glue:${local.region}:${local.account}:connection/${var.name_prefix}-*",
    ]
  }

  statement {
    sid    = "DescribeVpcForGlueConnections"
    effect = "Allow"
    actions = [
      "ec2:DescribeNetworkInterfaces",
      "ec2:DescribeRouteTables",
      "ec2:DescribeSecurityGroups",
      "ec2:DescribeSubnets",
      "ec2:DescribeVpcEndpoints",
    ]
    resources = ["*"]
  }

  statement {
    sid       = "DescribeGlueVpc"
    effect    = "Allow"
    actions   = ["ec2:DescribeVpcAttribute"]
    resources = [var.glue_vpc_arn]
  }

  statement {
    sid     = "NetworkInterfacesInGlueSubnets"
    effect  = "Allow"
    actions = ["ec2:CreateNetworkInterface", "ec2:DeleteNetworkInterface"]
    resources = concat(
      var.glue_subnet_arns,
      var.glue_security_group_arns,
      ["arn:${local.partition}:ec2:${local.region}:${local.account}:network-interface/*"],
    )
  }

  statement {
    sid       = "TagGlueNetworkInterfaces"
    effect    = "Allow"
    actions   = ["ec2:CreateTags", "ec2:DeleteTags"]
    resources = ["arn:${local.partition}:ec2:${local.region}:${local.account}:network-interface/*"]
    condition {
      test     = "ForAllValues:StringEquals"
      variable = "aws:TagKeys"
      values   = ["aws-glue-service-resource"]
    }
  }

  statement {
    sid       = "ReadPiiKeySecret"
    effect    = "Allow"
    actions   = ["secretsmanager:GetSecretValue"]
    resources = [var.pii_secret_arn]
  }

  # The platinum job embeds text with Amazon Bedrock (lakehouse.platinum.embedding.BedrockTitanEmbedder).
  statement {
    sid       = "InvokeEmbeddingModel"
    effect    = "Allow"
    actions   = ["bedrock:InvokeModel"]
    resources = ["arn:${local.partition}:bedrock:${local.region}::foundation-model/amazon.titan-embed-text-v2:0"]
  }

  statement {
    sid       = "AssumePartnerCentralReadRole"
    effect    = "Allow"
    actions   = ["sts:AssumeRole"]
    resources = [aws_iam_role.partner_central_read.arn]
  }

  dynamic "statement" {
    for_each = length(local.tenant_linked_role_arns) > 0 ? [1] : []
    content {
      sid       = "AssumeTenantLinkedAccountRoles"
      effect    = "Allow"
      actions   = ["sts:AssumeRole"]
      resources = local.tenant_linked_role_arns
    }
  }
}

resource "aws_iam_role" "glue_job" {
  name                 = "${var.name_prefix}-glue-job"
  description          = "Runs the lakehouse pipeline's Glue jobs"
  assume_role_policy   = data.aws_iam_policy_document.glue_trust.json
  max_session_duration = 3600
  tags                 = var.tags
}

resource "aws_iam_role_policy" "glue_job" {
  name   = "lakehouse-pipeline"
  role   = aws_iam_role.glue_job.id
  policy = data.aws_iam_policy_document.glue_job.json
}

# ==== Partner Central read role: assumed by the ingest job =============================================
data "aws_iam_policy_document" "partner_central_read_trust" {
  statement {
    sid     = "GlueJobRole"
    effect  = "Allow"
    actions = ["sts:AssumeRole"]
    principals {
      type        = "AWS"
      identifiers = [local.glue_roles]
    }
  }
}

# Catalog-wide reads (lists, searches, engagements, tasks, snapshots, customer accounts, bulk jobs) are limited to one
# catalog by the partnercentral:Catalog condition key (as in AWS's managed policies). Calls on one opportunity or
# invitation are scoped to their ARNs; tags are read on the catalog's resources only.
data "aws_iam_policy_document" "partner_central_read" {
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
    resources = local.pc_catalog_resources
  }

  statement {
    sid       = "ReadOpportunities"
    effect    = "Allow"
    actions   = ["partnercentral:GetAwsOpportunitySummary", "partnercentral:GetOpportunity"]
    resources = [local.pc_opportunities]
  }

  statement {
    sid       = "ReadEngagementInvitations"
    effect    = "Allow"
    actions   = ["partnercentral:GetEngagementInvitation"]
    resources = [local.pc_invitations]
  }

  statement {
    sid       = "ReadTagsOfCatalogResources"
    effect    = "Allow"
    actions   = ["partnercentral:ListTagsForResource"]
    resources = local.pc_catalog_resources
  }
}

resource "aws_iam_role" "partner_central_read" {
  name                 = "${var.name_prefix}-partner-central-read"
  description          = "Read-only Partner Central Selling access for ingestion"
  assume_role_policy   = data.aws_iam_policy_document.partner_central_read_trust.json
  max_session_duration = 3600
  tags                 = var.tags
  depends_on           = [aws_iam_role.glue_job]
}

resource "aws_iam_role_policy" "partner_central_read" {
  name   = "partner-central-read"
  role   = aws_iam_role.partner_central_read.id
  policy = data.aws_iam_policy_document.partner_central_read.json
}

# ==== Partner Central write role: only for approved actions ==========================================
# Assumable only by the approval executor, and only with an approval_id session tag, which CloudTrail records
# beside every write made with the session.
data "aws_iam_policy_document" "partner_central_write_trust" {
  count = length(var.approved_action_principal_arns) > 0 ? 1 : 0

  statement {
    sid     = "ApprovalExecutorWithApprovalId"
    effect  = "Allow"
    actions = ["sts:AssumeRole", "sts:TagSession"]
    principals {
      type        = "AWS"
      identifiers = var.approved_action_principal_arns
    }
    condition {
      test     = "Null"
      variable = "aws:RequestTag/approval_id"
      values   = ["false"]
    }
  }
}

data "aws_iam_policy_document" "partner_central_write" {
  statement {
    sid    = "ApprovedChangesToOpportunities"
    effect = "Allow"
    actions = [
      "partnercentral:AssignOpportunity",
      "partnercentral:AssociateOpportunity",
      "partnercentral:DisassociateOpportunity",
      "partnercentral:GetOpportunity",
      "partnercentral:SubmitOpportunity",
      "partnercentral:UpdateOpportunity",
    ]
    resources = [local.pc_opportunities]
  }

  statement {
    sid    = "ApprovedInvitationDecisions"
    effect = "Allow"
    actions = [
      "partnercentral:AcceptEngagementInvitation",
      "partnercentral:GetEngagementInvitation",
      "partnercentral:RejectEngagementInvitation",
      "partnercentral:StartEngagementByAcceptingInvitationTask",
    ]
    resources = [local.pc_invitations]
  }

  # Creations, engagement and customer-account changes, tasks, bulk jobs and their reads have no per-resource ARN
  # in the approved flows: limited to the catalog.
  statement {
    sid    = "ApprovedCreationsInCatalog"
    effect = "Allow"
    actions = [
      "partnercentral:CreateCustomerAccount",
      "partnercentral:CreateEngagement",
      "partnercentral:CreateOpportunity",
      "partnercentral:ListEngagementByAcceptingInvitationTasks",
      "partnercentral:ListEngagementFromOpportunityTasks",
      "partnercentral:ListOpportunityBulkJobResults",
      "partnercentral:ListOpportunityBulkJobs",
      "partnercentral:ListOpportunityFromEngagementTasks",
      "partnercentral:PutSellingSystemSettings",
      "partnercentral:StartCustomerAccountBulkJob",
      "partnercentral:StartEngagementFromOpportunityTask",
      "partnercentral:StartOpportunityBulkJob",
      "partnercentral:StartProspectingFromEngagementTask",
    ]
    resources = ["*"]
    condition {
      test     = "StringEquals"
      variable = "partnercentral:Catalog"
      values   = [var.partner_central_catalog]
    }
  }

  statement {
    sid    = "ApprovedChangesToCatalogResources"
    effect = "Allow"
    actions = [
      "partnercentral:CreateEngagementContext",
      "partnercentral:CreateEngagementInvitation",
      "partnercentral:CreateResourceSnapshot",
      "partnercentral:CreateResourceSnapshotJob",
      "partnercentral:DeleteCustomerAccount",
      "partnercentral:DeleteResourceSnapshotJob",
      "partnercentral:GetOpportunityBulkJobReportUrl",
      "partnercentral:StartOpportunityFromEngagementTask",
      "partnercentral:StartResourceSnapshotJob",
      "partnercentral:StopResourceSnapshotJob",
      "partnercentral:TagResource",
      "partnercentral:UntagResource",
      "partnercentral:UpdateCustomerAccount",
      "partnercentral:UpdateEngagementContext",
    ]
    resources = local.pc_catalog_resources
  }
}

resource "aws_iam_role" "partner_central_write" {
  count                = length(var.approved_action_principal_arns) > 0 ? 1 : 0
  name                 = "${var.name_prefix}-partner-central-write"
  description          = "Partner Central writes, used only to carry out approved actions"
  assume_role_policy   = data.aws_iam_policy_document.partner_central_write_trust[0].json
  max_session_duration = 3600
  tags                 = var.tags
}

resource "aws_iam_role_policy" "partner_central_write" {
  count  = length(var.approved_action_principal_arns) > 0 ? 1 : 0
  name   = "partner-central-approved-writes"
  role   = aws_iam_role.partner_central_write[0].id
  policy = data.aws_iam_policy_document.partner_central_write.json
}

# ==== Metering job role: the Glue role's pipeline grants plus Marketplace metering ========================
# metering_hourly runs as its own role so only that job can call BatchMeterUsage / ResolveCustomer.
data "aws_iam_policy_document" "marketplace_metering" {
  statement {
    sid       = "MarketplaceMetering"
    effect    = "Allow"
    actions   = ["aws-marketplace:BatchMeterUsage", "aws-marketplace:ResolveCustomer"]
    resources = ["*"]
  }
}

resource "aws_iam_role" "metering_job" {
  name                 = "${var.name_prefix}-metering-job"
  description          = "Runs the hourly Marketplace metering Glue job"
  assume_role_policy   = data.aws_iam_policy_document.glue_trust.json
  max_session_duration = 3600
  tags                 = var.tags
}

resource "aws_iam_role_policy" "metering_job_pipeline" {
  name   = "lakehouse-pipeline"
  role   = aws_iam_role.metering_job.id
  policy = data.aws_iam_policy_document.glue_job.json
}

resource "aws_iam_role_policy" "metering_job_marketplace" {
  name   = "marketplace-metering"
  role   = aws_iam_role.metering_job.id
  policy = data.aws_iam_policy_document.marketplace_metering.json
}
