variable "name_prefix" {
  type        = string
  description = "Prefix for the key alias (alias/<name_prefix>) and description."
}

variable "key_admin_arns" {
  type        = list(string)
  description = "IAM principals allowed to administer the key (not to use it). Empty means the account root, i.e. IAM policies decide."
  default     = []
}

variable "deletion_window_in_days" {
  type        = number
  description = "Waiting period before a scheduled key deletion completes (7-30 days)."
  default     = 30

  validation {
    condition     = var.deletion_window_in_days >= 7 && var.deletion_window_in_days <= 30
    error_message = "deletion_window_in_days must be between 7 and 30."
  }
}

variable "tags" {
  type        = map(string)
  description = "Tags added to every resource of the module."
  default     = {}
}
