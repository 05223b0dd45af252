variable "name_prefix" {
  type        = string
  description = "Prefix of every resource name."
}

variable "kms_key_arn" {
  type        = string
  description = "KMS key of the schedules and log groups."
}

variable "scheduled_jobs" {
  type = map(object({
    job_name = string
    job_arn  = string
    schedule = string
  }))
  description = "Scheduled Glue jobs (modules/glue_jobs output scheduled_jobs, generated from lakehouse/pipeline_steps.py SCHEDULED)."
}

variable "tenants" {
  type        = list(string)
  description = "Tenants every scheduled job runs for (one schedule per job and tenant)."
  default     = []
}

variable "metering_output_log_group" {
  type        = string
  description = "CloudWatch log group of the metering job's driver output (where the run summary line is printed)."
}

variable "log_retention_days" {
  type        = number
  description = "Retention of the metering output log group."
  default     = 365
}

variable "alarm_actions" {
  type        = list(string)
  description = "SNS topic ARNs notified when metering dead-letters records."
  default     = []
}

variable "tags" {
  type        = map(string)
  description = "Tags added to every resource of the module."
  default     = {}
}
