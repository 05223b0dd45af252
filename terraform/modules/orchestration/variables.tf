variable "name_prefix" {
  type        = string
  description = "Prefix of every resource name."
}

variable "kms_key_arn" {
  type        = string
  description = "KMS key for the dead-letter queue, the state machine's data and its log group."
}

variable "glue_job_name_prefix" {
  type        = string
  description = "Prefix of the Glue job names (glue_jobs module output job_name_prefix); the state machine calls <prefix><step>."
}

variable "glue_job_arns" {
  type        = list(string)
  description = "ARNs of the Glue jobs the state machine may start and watch."
}

variable "tenant_schedules" {
  type        = map(string)
  description = "Scheduled runs: tenant ID -> EventBridge schedule expression, e.g. { acme = \"cron(0 3 * * ? *)\" }."
  default     = {}

  validation {
    condition     = alltrue([for t, s in var.tenant_schedules : can(regex("^[a-z0-9][a-z0-9_-]{0,62}$", t)) && can(regex("^(cron|rate)\\(.+\\)$", s))])
    error_message = "Keys must be tenant IDs (a-z, 0-9, '_', '-') and values cron(...) or rate(...) expressions."
  }
}

variable "partner_central_event_tenants" {
  type        = list(string)
  description = "Tenants whose pipeline runs when a Partner Central (aws.partnercentral-selling) event arrives on this account's default bus. Empty: no event rule."
  default     = []
}

variable "partner_central_event_detail_types" {
  type        = list(string)
  description = "detail-type values that trigger a run; empty matches every Partner Central Selling event."
  default     = []
}

variable "log_retention_days" {
  type        = number
  description = "Retention of the state machine's log group, in days."
  default     = 365
}

variable "alarm_actions" {
  type        = list(string)
  description = "SNS topic ARNs notified when an execution fails or the dead-letter queue is not empty."
  default     = []
}

variable "tags" {
  type        = map(string)
  description = "Tags added to every resource of the module."
  default     = {}
}
