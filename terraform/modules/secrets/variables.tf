variable "name_prefix" {
  type        = string
  description = "Prefix of every secret name (<name_prefix>/<secret>)."
}

variable "kms_key_arn" {
  type        = string
  description = "The platform KMS key that encrypts every secret."
}

variable "recovery_window_days" {
  type        = number
  description = "Days a deleted secret can still be restored (0 deletes at once; dev only)."
  default     = 30
}

variable "tags" {
  type        = map(string)
  description = "Tags added to every resource of the module."
  default     = {}
}
