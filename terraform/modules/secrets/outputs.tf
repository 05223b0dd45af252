output "arns" {
  description = "Secret ARN by key: pii_key, jwt_signing, audit_hmac, api_database_url, dashboards_api_key."
  value       = { for key, secret in aws_secretsmanager_secret.this : key => secret.arn }
}

output "names" {
  description = "Secret name by key (for `aws secretsmanager put-secret-value --secret-id`)."
  value       = { for key, secret in aws_secretsmanager_secret.this : key => secret.name }
}
