# The platform's application secrets, encrypted with the platform key. Terraform creates the containers only:
# values are put with `aws secretsmanager put-secret-value` (docs/deploy.md), so they never enter the state.
# Who may read each one is granted on the reading roles (modules/iam, modules/services), secret by secret.
locals {
  secrets = {
    pii_key = {
      name        = "pii-key"
      description = "Key of the PII pseudonymisation (lakehouse.privacy); read by the Glue jobs and the API."
    }
    jwt_signing = {
      name        = "jwt-signing"
      description = "HS256 signing secret of the control plane's tokens (LAKEHOUSE_JWT_SECRET); read by the API."
    }
    audit_hmac = {
      name        = "audit-hmac"
      description = "HMAC key of the control plane's audit chain; read by the API."
    }
    api_database_url = {
      name        = "api-database-url"
      description = "LAKEHOUSE_DATABASE_URL of the API: the login that is a member of the RLS app roles, never the owner."
    }
    dashboards_api_key = {
      name        = "dashboards-api-key"
      description = "Service API key the dashboards present to the control plane; read by the dashboards only."
    }
  }
}

resource "aws_secretsmanager_secret" "this" {
  # checkov:skip=CKV2_AWS_57:These are externally issued keys and credentials without a rotation Lambda; rotate by putting a new version (docs/deploy.md).
  for_each                = local.secrets
  name                    = "${var.name_prefix}/${each.value.name}"
  description             = each.value.description
  kms_key_id              = var.kms_key_arn
  recovery_window_in_days = var.recovery_window_days
  tags                    = merge(var.tags, { Secret = each.key })
}
