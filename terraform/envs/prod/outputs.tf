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
