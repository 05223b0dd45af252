variable "name_prefix" {
  type        = string
  description = "Prefix of the bucket names: <name_prefix>-lake-<account>, <name_prefix>-artifacts-<account>, <name_prefix>-access-logs-<account>."
}

variable "lake_prefix" {
  type        = string
  description = "Key prefix of the lake inside the lake bucket; LAKEHOUSE_LAKE_ROOT becomes s3://<bucket>/<lake_prefix>."
  default     = "lake"

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9_-]*$", var.lake_prefix))
    error_message = "lake_prefix must be one path segment of a-z, 0-9, '_' or '-'."
  }
}

variable "kms_key_arn" {
  type        = string
  description = "KMS key for default encryption of the lake and artifact buckets."
}

variable "noncurrent_version_expiration_days" {
  type        = number
  description = "Days a replaced or deleted object version is kept (Delta time travel beyond this needs the current version)."
  default     = 30
}

variable "access_log_retention_days" {
  type        = number
  description = "Days S3 server access logs are kept."
  default     = 365
}

variable "artifacts_object_lock_days" {
  type        = number
  description = "Object Lock retention (days, GOVERNANCE) of the artifacts bucket; null: no Object Lock (only settable at creation)."
  default     = null
}

variable "force_destroy" {
  type        = bool
  description = "Allow terraform destroy to delete non-empty buckets (only for throwaway environments)."
  default     = false
}

variable "tags" {
  type        = map(string)
  description = "Tags added to every resource of the module."
  default     = {}
}
