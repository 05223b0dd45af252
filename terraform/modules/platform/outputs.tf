output "lake_root" {
  description = "LAKEHOUSE_LAKE_ROOT of this environment."
  value       = module.lake.lake_root
}

output "state_machine_arn" {
  description = "Start a run: aws stepfunctions start-execution --state-machine-arn <this> --input '{\"tenants\":[\"acme\"]}'."
  value       = module.orchestration.state_machine_arn
}

output "dead_letter_queue_url" {
  description = "Failed tenant runs land here."
  value       = module.orchestration.dead_letter_queue_url
}

output "glue_job_names" {
  description = "Glue job of each pipeline step."
  value       = module.glue_jobs.job_names
}

output "glue_job_role_arn" {
  description = "Role of the Glue jobs; tenants name it in modules/iam/tenant_linked_account."
  value       = module.iam.glue_job_role_arn
}

output "partner_central_read_role_arn" {
  description = "Read-only Partner Central role assumed by the ingest job."
  value       = module.iam.partner_central_read_role_arn
}

output "partner_central_write_role_arn" {
  description = "Partner Central write role for approved actions (null until approved_action_principal_arns is set)."
  value       = module.iam.partner_central_write_role_arn
}

output "control_plane_db_endpoint" {
  description = "PostgreSQL endpoint of the control plane."
  value       = module.control_plane_db.endpoint
}

output "control_plane_db_secret_arn" {
  description = "Secrets Manager secret with the database master credentials."
  value       = module.control_plane_db.master_user_secret_arn
}

output "warehouse_endpoint" {
  description = "Private endpoint of the Redshift Serverless workgroup."
  value       = module.warehouse.endpoint
}

output "secret_names" {
  description = "Secrets whose values you put once after the first apply (docs/deploy.md)."
  value       = module.secrets.names
}

output "scheduled_job_schedules" {
  description = "EventBridge Scheduler schedules of the scheduled jobs (metering), one per tenant."
  value       = module.scheduled_jobs.schedule_names
}

output "metering_dead_lettered_alarm_arn" {
  description = "Alarm on dead-lettered metering records."
  value       = module.scheduled_jobs.metering_dead_lettered_alarm_arn
}

output "repository_urls" {
  description = "ECR repositories to push the api and dashboards images to."
  value       = module.services.repository_urls
}

output "load_balancer_dns_name" {
  description = "Point api_hostname and dashboards_hostname at this name."
  value       = module.services.load_balancer_dns_name
}

output "services_cluster_name" {
  description = "ECS cluster of the services and of the migration task."
  value       = module.services.cluster_name
}

output "migration_task_definition" {
  description = "Run once after each release that adds migrations: aws ecs run-task --task-definition <this>."
  value       = module.services.migration_task_definition
}

output "migration_network" {
  description = "awsvpcConfiguration for the migration task (subnets and security group)."
  value = {
    subnets        = module.services.private_subnet_ids
    securityGroups = [module.services.task_security_group_ids["migrate"]]
  }
}

output "control_plane_url" {
  description = "URL of the control-plane API."
  value       = module.services.control_plane_url
}

output "dashboards_url" {
  description = "URL of the dashboards."
  value       = module.services.dashboards_url
}
