output "load_balancer_dns_name" {
  description = "DNS name of the load balancer: point api_hostname and dashboards_hostname at it (CNAME/alias)."
  value       = aws_lb.this.dns_name
}

output "repository_urls" {
  description = "ECR repository URL of each image: api, dashboards."
  value       = { for name, repo in aws_ecr_repository.this : name => repo.repository_url }
}

output "cluster_name" {
  description = "ECS cluster of the services and the migration task."
  value       = aws_ecs_cluster.this.name
}

output "migration_task_definition" {
  description = "Task definition family of the one-off migration task."
  value       = aws_ecs_task_definition.migrate.family
}

output "task_security_group_ids" {
  description = "Security group of each task family (api, dashboards, migrate); api and migrate reach PostgreSQL."
  value       = { for name, sg in local.task_security_groups : name => sg.id }
}

output "private_subnet_ids" {
  description = "Subnets to pass to `aws ecs run-task` for the migration task."
  value       = var.private_subnet_ids
}

output "api_task_role_arn" {
  description = "Role the API tasks run as."
  value       = aws_iam_role.api_task.arn
}

output "control_plane_url" {
  description = "URL of the control-plane API."
  value       = "https://${var.api_hostname}"
}

output "dashboards_url" {
  description = "URL of the dashboards."
  value       = "https://${var.dashboards_hostname}"
}
