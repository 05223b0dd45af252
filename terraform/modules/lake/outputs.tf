output "lake_bucket_name" {
  description = "Name of the lake bucket."
  value       = module.lake_bucket.id
}

output "lake_bucket_arn" {
  description = "ARN of the lake bucket."
  value       = module.lake_bucket.arn
}

output "lake_prefix" {
  description = "Key prefix of the lake inside the lake bucket."
  value       = var.lake_prefix
}

output "lake_root" {
  description = "Value for LAKEHOUSE_LAKE_ROOT (s3://<bucket>/<prefix>)."
  value       = "s3://${module.lake_bucket.id}/${var.lake_prefix}"
}

output "artifacts_bucket_name" {
  description = "Name of the bucket holding Glue scripts, the wheel, Glue temp files and Spark event logs."
  value       = module.artifacts_bucket.id
}

output "artifacts_bucket_arn" {
  description = "ARN of the artifacts bucket."
  value       = module.artifacts_bucket.arn
}

output "access_log_bucket_name" {
  description = "Name of the S3 server access log bucket."
  value       = module.access_logs.id
}
