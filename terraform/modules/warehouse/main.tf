data "aws_caller_identity" "current" {}

locals {
  served_prefixes = ["${var.lake_prefix}/gold", "${var.lake_prefix}/platinum"]
}

# ---- Role Redshift uses to read the gold and platinum marts from the lake ------------------------------------
data "aws_iam_policy_document" "trust" {
  statement {
    sid     = "RedshiftServices"
    effect  = "Allow"
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["redshift.amazonaws.com", "redshift-serverless.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [data.aws_caller_identity.current.account_id]
    }
  }
}

data "aws_iam_policy_document" "read_marts" {
  statement {
    sid       = "LocateLakeBucket"
    effect    = "Allow"
    actions   = ["s3:GetBucketLocation"]
    resources = [var.lake_bucket_arn]
  }

  statement {
    sid       = "ListServedPrefixes"
    effect    = "Allow"
    actions   = ["s3:ListBucket"]
    resources = [var.lake_bucket_arn]
    condition {
      test     = "StringLike"
      variable = "s3:prefix"
      values   = [for p in local.served_prefixes : "${p}/*"]
    }
  }

  statement {
    sid       = "ReadServedObjects"
    effect    = "Allow"
    actions   = ["s3:GetObject", "s3:GetObjectVersion"]
    resources = [for p in local.served_prefixes : "${var.lake_bucket_arn}/${p}/*"]
  }

  statement {
    sid       = "DecryptLake"
    effect    = "Allow"
    actions   = ["kms:Decrypt", "kms:DescribeKey"]
    resources = [var.kms_key_arn]
  }
}

resource "aws_iam_role" "warehouse" {
  name                 = "${var.name_prefix}-warehouse"
  description          = "Redshift Serverless: read gold and platinum marts from the lake"
  assume_role_policy   = data.aws_iam_policy_document.trust.json
  max_session_duration = 3600
  tags                 = var.tags
}

resource "aws_iam_role_policy" "warehouse" {
  name   = "read-marts"
  role   = aws_iam_role.warehouse.id
  policy = data.aws_iam_policy_document.read_marts.json
}

# ---- Network ---------------------------------------------------------------------------------------------------
resource "aws_security_group" "workgroup" {
  name        = "${var.name_prefix}-warehouse"
  description = "Redshift Serverless: 5439 from the allowed security groups only"
  vpc_id      = var.vpc_id
  tags        = var.tags
}

resource "aws_vpc_security_group_ingress_rule" "redshift" {
  for_each                     = toset(var.allowed_security_group_ids)
  security_group_id            = aws_security_group.workgroup.id
  description                  = "Redshift from ${each.key}"
  ip_protocol                  = "tcp"
  from_port                    = 5439
  to_port                      = 5439
  referenced_security_group_id = each.key
}

# ---- Namespace and workgroup ------------------------------------------------------------------------------------
resource "aws_redshiftserverless_namespace" "this" {
  namespace_name                   = "${var.name_prefix}-warehouse"
  db_name                          = var.database_name
  admin_username                   = var.admin_username
  manage_admin_password            = true
  admin_password_secret_kms_key_id = var.kms_key_arn
  kms_key_id                       = var.kms_key_arn
  iam_roles                        = [aws_iam_role.warehouse.arn]
  default_iam_role_arn             = aws_iam_role.warehouse.arn
  log_exports                      = ["connectionlog", "useractivitylog", "userlog"]
  tags                             = var.tags
}

resource "aws_redshiftserverless_workgroup" "this" {
  workgroup_name       = "${var.name_prefix}-warehouse"
  namespace_name       = aws_redshiftserverless_namespace.this.namespace_name
  base_capacity        = var.base_capacity_rpu
  max_capacity         = var.max_capacity_rpu
  enhanced_vpc_routing = true
  publicly_accessible  = false
  subnet_ids           = var.subnet_ids
  security_group_ids   = [aws_security_group.workgroup.id]

  config_parameter {
    parameter_key   = "require_ssl"
    parameter_value = "true"
  }

  config_parameter {
    parameter_key   = "enable_user_activity_logging"
    parameter_value = "true"
  }

  tags = var.tags
}
