variable "name_prefix" {
  type        = string
  description = "Prefix of the Glue job names: <name_prefix>-<pipeline step name>."
}

variable "bundle_dir" {
  type        = string
  description = "Local directory written by `lakehouse package` (wheel, jobs/*.py, manifest.json), uploaded to the artifacts bucket."
}

variable "artifacts_bucket_name" {
  type        = string
  description = "Bucket for the Glue bundle (glue/), temp files (tmp/) and Spark event logs (spark-logs/)."
}

variable "kms_key_arn" {
  type        = string
  description = "KMS key for the security configuration (S3, CloudWatch Logs, job bookmarks) and uploaded objects."
}

variable "glue_job_role_arn" {
  type        = string
  description = "Role the jobs run as (iam module output glue_job_role_arn)."
}

variable "lake_root" {
  type        = string
  description = "LAKEHOUSE_LAKE_ROOT for the jobs, s3://<bucket>/<prefix> (lake module output lake_root)."
}

variable "environment" {
  type        = string
  description = "LAKEHOUSE_ENVIRONMENT passed to the jobs."
  default     = "production"

  validation {
    condition     = contains(["development", "test", "production"], var.environment)
    error_message = "environment must be development, test or production."
  }
}

variable "subnet_ids" {
  type        = list(string)
  description = "Private subnets for the Glue NETWORK connections (one connection per subnet)."
}

variable "subnet_azs" {
  type        = list(string)
  description = "Availability zone of each subnet in subnet_ids."
}

variable "security_group_id" {
  type        = string
  description = "Security group of the Glue workers (network module output glue_security_group_id)."
}

variable "partner_central_role_arn" {
  type        = string
  description = "Role that jobs with needs_partner_central assume for the Partner Central API (passed as --role_arn)."
}

variable "partner_central_catalog" {
  type        = string
  description = "Partner Central catalog the ingest job reads (passed as --catalog)."
  default     = "AWS"
}

variable "extra_default_arguments" {
  type        = map(string)
  description = "Extra default arguments for every job; they cannot override the module's own arguments."
  default     = {}
}

variable "tags" {
  type        = map(string)
  description = "Tags added to every resource of the module."
  default     = {}
}

variable "metering_job_role_arn" {
  type        = string
  description = "Role of the jobs whose iam_role is \"metering\" (lakehouse/pipeline_steps.py SCHEDULED)."
}

variable "pii_secret_arn" {
  type        = string
  description = "Secrets Manager ARN of the PII key, passed to every job as --lakehouse_pii_secret_arn."
}
