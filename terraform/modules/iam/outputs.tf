output "glue_job_role_arn" {
  description = "ARN of the role the Glue jobs run as."
  value       = aws_iam_role.glue_job.arn
}

output "glue_job_role_name" {
  description = "Name of the Glue job role."
  value       = aws_iam_role.glue_job.name
}

output "partner_central_read_role_arn" {
  description = "ARN of the read-only Partner Central role the ingest job assumes."
  value       = aws_iam_role.partner_central_read.arn
}

output "partner_central_write_role_arn" {
  description = "ARN of the Partner Central write role for approved actions (null when not created)."
  value       = try(aws_iam_role.partner_central_write[0].arn, null)
}

output "tenant_linked_role_arns" {
  description = "Tenant linked-account roles the Glue role may assume."
  value       = local.tenant_linked_role_arns
}

output "metering_job_role_arn" {
  description = "ARN of the role the metering Glue job runs as (pipeline grants plus Marketplace metering)."
  value       = aws_iam_role.metering_job.arn
}

output "metering_job_role_name" {
  description = "Name of the metering job role (Glue names the job's log groups after it)."
  value       = aws_iam_role.metering_job.name
}
