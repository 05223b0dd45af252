output "namespace_name" {
  description = "Redshift Serverless namespace."
  value       = aws_redshiftserverless_namespace.this.namespace_name
}

output "workgroup_name" {
  description = "Redshift Serverless workgroup."
  value       = aws_redshiftserverless_workgroup.this.workgroup_name
}

output "endpoint" {
  description = "Private endpoint address of the workgroup."
  value       = aws_redshiftserverless_workgroup.this.endpoint[0].address
}

output "admin_secret_arn" {
  description = "Secrets Manager secret with the admin credentials (managed by Redshift)."
  value       = aws_redshiftserverless_namespace.this.admin_password_secret_arn
}

output "warehouse_role_arn" {
  description = "Role Redshift uses to read the gold and platinum prefixes of the lake."
  value       = aws_iam_role.warehouse.arn
}
