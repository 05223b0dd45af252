output "job_name_prefix" {
  description = "Prefix of every job name; the state machine calls <prefix><step name>."
  value       = "${var.name_prefix}-"
}

output "job_names" {
  description = "Glue job name of each pipeline step."
  value       = { for step, job in aws_glue_job.step : step => job.name }
}

output "job_arns" {
  description = "Glue job ARN of each job (pipeline steps and scheduled jobs)."
  value       = { for step, job in aws_glue_job.step : step => job.arn }
}

output "pipeline_job_arns" {
  description = "Glue job ARNs of the pipeline steps the state machine runs (jobs without a schedule)."
  value       = [for step, job in aws_glue_job.step : job.arn if local.jobs[step].schedule == null]
}

output "scheduled_jobs" {
  description = "Scheduled jobs: name -> { job_name, job_arn, schedule } (EventBridge Scheduler starts them per tenant)."
  value = {
    for step, job in aws_glue_job.step : step => {
      job_name = job.name
      job_arn  = job.arn
      schedule = local.jobs[step].schedule
    } if local.jobs[step].schedule != null
  }
}

output "security_configuration_name" {
  description = "Name of the Glue security configuration (KMS for S3, logs and bookmarks)."
  value       = aws_glue_security_configuration.this.name
}
