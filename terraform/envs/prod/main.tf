# Root of one environment: backend (versions.tf), provider, and the platform. Everything else is in
# modules/platform; this environment differs from the others only by its tfvars (env.auto.tfvars, terraform.tfvars).
provider "aws" {
  region = var.region

  default_tags {
    tags = merge(var.tags, {
      Project     = "partner-central-lakehouse"
      Environment = var.environment
      ManagedBy   = "terraform"
    })
  }
}

module "platform" {
  source = "../../modules/platform"

  project                             = var.project
  environment                         = var.environment
  lakehouse_environment               = var.lakehouse_environment
  availability_zones                  = var.availability_zones
  vpc_cidr_block                      = var.vpc_cidr_block
  enable_nat_gateway                  = var.enable_nat_gateway
  bundle_dir                          = var.bundle_dir
  key_admin_arns                      = var.key_admin_arns
  force_destroy_buckets               = var.force_destroy_buckets
  partner_central_catalog             = var.partner_central_catalog
  approved_action_principal_arns      = var.approved_action_principal_arns
  tenant_account_ids                  = var.tenant_account_ids
  tenant_schedules                    = var.tenant_schedules
  partner_central_event_tenants       = var.partner_central_event_tenants
  alarm_actions                       = var.alarm_actions
  control_plane_security_group_ids    = var.control_plane_security_group_ids
  db_instance_class                   = var.db_instance_class
  db_multi_az                         = var.db_multi_az
  db_deletion_protection              = var.db_deletion_protection
  warehouse_client_security_group_ids = var.warehouse_client_security_group_ids
  warehouse_base_capacity_rpu         = var.warehouse_base_capacity_rpu
  warehouse_max_capacity_rpu          = var.warehouse_max_capacity_rpu
  metering_tenants                    = var.metering_tenants
  secret_recovery_window_days         = var.secret_recovery_window_days
  artifacts_object_lock_days          = var.artifacts_object_lock_days
  api_image                           = var.api_image
  dashboards_image                    = var.dashboards_image
  certificate_arn                     = var.certificate_arn
  api_hostname                        = var.api_hostname
  dashboards_hostname                 = var.dashboards_hostname
  alb_internal                        = var.alb_internal
  alb_ingress_cidrs                   = var.alb_ingress_cidrs
  alb_deletion_protection             = var.alb_deletion_protection
  waf_web_acl_arn                     = var.waf_web_acl_arn
  services_min_tasks                  = var.services_min_tasks
  services_max_tasks                  = var.services_max_tasks
}
