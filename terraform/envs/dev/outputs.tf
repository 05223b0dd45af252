output "lake_root" {
  description = "LAKEHOUSE_LAKE_ROOT of this environment."
  value       = module.platform.lake_root
}

output "state_machine_arn" {
  description = "Start a run: aws stepfunctions start-execution --state-machine-arn <this> --input '{\"tenants\":[\"acme\"]}'."
  value       = module.platform.state_machine_arn
}

output "dead_letter_queue_url" {
  description = "Failed tenant runs land here."
  value       = module.platform.dead_letter_queue_url
}

output "glue_job_names" {
  description = "Glue job of each pipeline step."
  value       = module.platform.glue_job_names
}

output "glue_job_role_arn" {
  description = "Role of the Glue jobs; tenants name it in modules/iam/tenant_linked_account."
  value       = module.platform.glue_job_role_arn
}

output "partner_central_read_role_arn" {
  description = "Read-only Partner Central role assumed by the ingest job."
  value       = module.platform.partner_central_read_role_arn
}

output "partner_central_write_role_arn" {
  description = "Partner Central write role for approved actions (null until approved_action_principal_arns is set)."
  value       = module.platform.partner_central_write_role_arn
}

output "control_plane_db_endpoint" {
  description = "PostgreSQL endpoint of the control plane."
  value       = module.platform.control_plane_db_endpoint
}

output "control_plane_db_secret_arn" {
  description = "Secrets Manager secret with the database master credentials."
  value       = module.platform.control_plane_db_secret_arn
}

output "warehouse_endpoint" {
  description = "Private endpoint of the Redshift Serverless workgroup."
  value       = module.platform.warehouse_endpoint
}

output "secret_names" {
  description = "Secrets whose values you put once after the first apply (docs/deploy.md)."
  value       = module.platform.secret_names
}

output "scheduled_job_schedules" {
  description = "EventBridge Scheduler schedules of the scheduled jobs (metering), one per tenant."
  value       = module.platform.scheduled_job_schedules
}

output "metering_dead_lettered_alarm_arn" {
  description = "Alarm on dead-lettered metering records."
  value       = module.platform.metering_dead_lettered_alarm_arn
}

output "repository_urls" {
  description = "ECR repositories to push the api and dashboards images to."
  value       = module.platform.repository_urls
}

output "load_balancer_dns_name" {
  description = "Point api_hostname and dashboards_hostname at this name."
  value       = module.platform.load_balancer_dns_name
}

output "services_cluster_name" {
  description = "ECS cluster of the services and of the migration task."
  value       = module.platform.services_cluster_name
}

output "migration_task_definition" {
  description = "Run once after each release that adds migrations: aws ecs run-task --task-definition <this>."
  value       = module.platform.migration_task_definition
}

output "migration_network" {
  description = "awsvpcConfiguration for the migration task (subnets and security group)."
  value       = module.platform.migration_network
}

output "control_plane_url" {
  description = "URL of the control-plane API."
  value       = module.platform.control_plane_url
}

output "dashboards_url" {
  description = "URL of the dashboards."
  value       = module.platform.dashboards_url
}
