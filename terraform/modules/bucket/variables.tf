variable "name" {
  type        = string
  description = "Bucket name (globally unique)."
}

variable "purpose" {
  type        = string
  description = "What the bucket holds; becomes its Purpose tag."
}

variable "kms_key_arn" {
  type        = string
  description = "KMS key for SSE-KMS default encryption; null means SSE-S3 (only for an S3 access-log target, which cannot use SSE-KMS)."
  default     = null
}

variable "access_log_bucket" {
  type        = string
  description = "Bucket that receives this bucket's server access logs; null only for the access-log bucket itself."
  default     = null
}

variable "access_log_prefix" {
  type        = string
  description = "Key prefix of this bucket's access logs in access_log_bucket."
  default     = "s3-access/"
}

variable "noncurrent_version_expiration_days" {
  type        = number
  description = "Days a replaced or deleted object version is kept."
  default     = 30
}

variable "expiration_days" {
  type        = number
  description = "Days after which current objects expire (null: never; set for log buckets)."
  default     = null
}

variable "scratch_prefixes" {
  type        = list(string)
  description = "Key prefixes of scratch data expired after scratch_expiration_days."
  default     = []
}

variable "scratch_expiration_days" {
  type        = number
  description = "Days objects under scratch_prefixes are kept."
  default     = 7
}

variable "object_lock_retention_days" {
  type        = number
  description = "Object Lock (GOVERNANCE) default retention in days; null disables Object Lock (it can only be enabled at creation)."
  default     = null
}

variable "policy_documents" {
  type        = list(string)
  description = "Extra bucket policy documents (JSON) merged with the module's TLS-only statement."
  default     = []
}

variable "force_destroy" {
  type        = bool
  description = "Allow terraform destroy to delete a non-empty bucket (only for throwaway environments)."
  default     = false
}

variable "tags" {
  type        = map(string)
  description = "Tags added to every resource of the module."
  default     = {}
}
