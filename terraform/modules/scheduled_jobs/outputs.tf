output "schedule_names" {
  description = "EventBridge Scheduler schedule of each (job, tenant): <job>-<tenant>."
  value       = [for schedule in aws_scheduler_schedule.job : schedule.name]
}

output "metering_dead_lettered_alarm_arn" {
  description = "Alarm raised when the metering job dead-letters usage records."
  value       = aws_cloudwatch_metric_alarm.metering_dead_lettered.arn
}
