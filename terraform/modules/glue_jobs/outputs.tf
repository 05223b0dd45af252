output "job_name_prefix" {
  description = "Prefix of every job name; the state machine calls <prefix><step name>."
  value       = "${var.name_prefix}-"
}

output "job_names" {
  description = "Glue job name of each pipeline step."
  value       = { for step, job in aws_glue_job.step : step => job.name }
}

output "job_arns" {
  description = "Glue job ARN of each pipeline step."
  value       = { for step, job in aws_glue_job.step : step => job.arn }
}

output "security_configuration_name" {
  description = "Name of the Glue security configuration (KMS for S3, logs and bookmarks)."
  value       = aws_glue_security_configuration.this.name
}
