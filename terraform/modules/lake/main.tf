data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
data "aws_elb_service_account" "current" {}

locals {
  account = data.aws_caller_identity.current.account_id
  # Buckets encrypted with the environment's KMS key. Server access logs go to a separate SSE-S3 bucket,
  # because S3 log delivery cannot write to a bucket whose default encryption is SSE-KMS.
  kms_buckets = {
    lake      = "${var.name_prefix}-lake-${local.account}"
    artifacts = "${var.name_prefix}-artifacts-${local.account}"
  }
  access_log_bucket = "${var.name_prefix}-access-logs-${local.account}"
  lake_arn          = "arn:${data.aws_partition.current.partition}:s3:::${local.kms_buckets.lake}"
  # IAM policy variable, escaped so Terraform leaves it alone.
  tenant_tag = "$${aws:PrincipalTag/tenant_id}"
}

# Every bucket is modules/bucket (versioning, encryption, public access block, TLS-only policy, lifecycle, logging).
module "access_logs" {
  source          = "../bucket"
  name            = local.access_log_bucket
  purpose         = "s3-access-logs"
  kms_key_arn     = null # S3 server access log delivery supports SSE-S3 targets only
  expiration_days = var.access_log_retention_days
  # Logging the access-log bucket into itself would loop; AWS advises against it.
  access_log_bucket                  = null
  noncurrent_version_expiration_days = 7
  policy_documents                   = [data.aws_iam_policy_document.access_logs.json]
  force_destroy                      = var.force_destroy
  tags                               = var.tags
}

module "lake_bucket" {
  source                             = "../bucket"
  name                               = local.kms_buckets.lake
  purpose                            = "lake"
  kms_key_arn                        = var.kms_key_arn
  access_log_bucket                  = module.access_logs.id
  access_log_prefix                  = "s3-access/lake/"
  noncurrent_version_expiration_days = var.noncurrent_version_expiration_days
  scratch_prefixes                   = ["tmp/"]
  policy_documents                   = [data.aws_iam_policy_document.lake.json]
  force_destroy                      = var.force_destroy
  tags                               = var.tags
}

module "artifacts_bucket" {
  source                             = "../bucket"
  name                               = local.kms_buckets.artifacts
  purpose                            = "artifacts"
  kms_key_arn                        = var.kms_key_arn
  access_log_bucket                  = module.access_logs.id
  access_log_prefix                  = "s3-access/artifacts/"
  noncurrent_version_expiration_days = var.noncurrent_version_expiration_days
  scratch_prefixes                   = ["tmp/"]
  object_lock_retention_days         = var.artifacts_object_lock_days
  force_destroy                      = var.force_destroy
  tags                               = var.tags
}

# --- Bucket policies (merged with the bucket module's TLS-only statement) -----------------------------
data "aws_iam_policy_document" "access_logs" {
  statement {
    sid     = "S3ServerAccessLogDelivery"
    effect  = "Allow"
    actions = ["s3:PutObject"]
    principals {
      type        = "Service"
      identifiers = ["logging.s3.amazonaws.com"]
    }
    resources = ["arn:${data.aws_partition.current.partition}:s3:::${local.access_log_bucket}/s3-access/*"]
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account]
    }
    condition {
      test     = "ArnLike"
      variable = "aws:SourceArn"
      values   = [for name in values(local.kms_buckets) : "arn:${data.aws_partition.current.partition}:s3:::${name}"]
    }
  }

  # Application load balancer access logs (modules/services) under alb/, written by the region's ELB account.
  statement {
    sid     = "LoadBalancerAccessLogDelivery"
    effect  = "Allow"
    actions = ["s3:PutObject"]
    principals {
      type        = "AWS"
      identifiers = [data.aws_elb_service_account.current.arn]
    }
    resources = ["arn:${data.aws_partition.current.partition}:s3:::${local.access_log_bucket}/alb/AWSLogs/${local.account}/*"]
  }
}

data "aws_iam_policy_document" "lake" {
  statement {
    sid       = "DenyObjectsNotEncryptedWithTheLakeKey"
    effect    = "Deny"
    actions   = ["s3:PutObject"]
    resources = ["${local.lake_arn}/*"]
    principals {
      type        = "*"
      identifiers = ["*"]
    }
    condition {
      test     = "StringNotEqualsIfExists"
      variable = "s3:x-amz-server-side-encryption-aws-kms-key-id"
      values   = [var.kms_key_arn]
    }
  }

  # Principals carrying a tenant_id tag (tenant analysts, per-tenant roles, session-tagged sessions) may only
  # read their own tenant's partitions (<lake>/<layer>/<table>/tenant_id=<their id>/...) and the Delta logs
  # that locate them; they never write. The pipeline's untagged Glue role writes, scoped by job code.
  statement {
    sid    = "TenantPrincipalsReadOnlyTheirPartitions"
    effect = "Deny"
    actions = [
      "s3:GetObject",
      "s3:GetObjectVersion",
    ]
    principals {
      type        = "*"
      identifiers = ["*"]
    }
    not_resources = [
      "${local.lake_arn}/${var.lake_prefix}/*/tenant_id=${local.tenant_tag}/*",
      "${local.lake_arn}/${var.lake_prefix}/*/_delta_log/*",
    ]
    condition {
      test     = "Null"
      variable = "aws:PrincipalTag/tenant_id"
      values   = ["false"]
    }
  }

  statement {
    sid    = "TenantPrincipalsNeverWrite"
    effect = "Deny"
    actions = [
      "s3:DeleteObject",
      "s3:DeleteObjectVersion",
      "s3:PutObject",
      "s3:PutObjectTagging",
      "s3:RestoreObject",
    ]
    principals {
      type        = "*"
      identifiers = ["*"]
    }
    resources = ["${local.lake_arn}/*"]
    condition {
      test     = "Null"
      variable = "aws:PrincipalTag/tenant_id"
      values   = ["false"]
    }
  }

  statement {
    sid       = "TenantPrincipalsListOnlyTheirPartitions"
    effect    = "Deny"
    actions   = ["s3:ListBucket", "s3:ListBucketVersions"]
    resources = [local.lake_arn]
    principals {
      type        = "*"
      identifiers = ["*"]
    }
    condition {
      test     = "Null"
      variable = "aws:PrincipalTag/tenant_id"
      values   = ["false"]
    }
    condition {
      test     = "StringNotLike"
      variable = "s3:prefix"
      values = [
        "${var.lake_prefix}/*/tenant_id=${local.tenant_tag}/*",
        "${var.lake_prefix}/*/_delta_log/*",
      ]
    }
  }
}

