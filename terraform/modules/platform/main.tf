# The whole platform, composed once: envs/dev and envs/prod only configure the backend and provider and call
# this module; they differ by their tfvars.
locals {
  name_prefix = "${var.project}-${var.environment}"
  bundle_dir  = abspath("${path.root}/${var.bundle_dir}")
}

module "kms" {
  source         = "../kms"
  name_prefix    = local.name_prefix
  key_admin_arns = var.key_admin_arns
}

module "network" {
  source             = "../network"
  name_prefix        = local.name_prefix
  cidr_block         = var.vpc_cidr_block
  availability_zones = var.availability_zones
  enable_nat_gateway = var.enable_nat_gateway
  kms_key_arn        = module.kms.key_arn
}

module "lake" {
  source                     = "../lake"
  name_prefix                = local.name_prefix
  kms_key_arn                = module.kms.key_arn
  force_destroy              = var.force_destroy_buckets
  artifacts_object_lock_days = var.artifacts_object_lock_days
}

module "secrets" {
  source               = "../secrets"
  name_prefix          = local.name_prefix
  kms_key_arn          = module.kms.key_arn
  recovery_window_days = var.secret_recovery_window_days
}

module "iam" {
  source                         = "../iam"
  name_prefix                    = local.name_prefix
  lake_bucket_arn                = module.lake.lake_bucket_arn
  lake_prefix                    = module.lake.lake_prefix
  artifacts_bucket_arn           = module.lake.artifacts_bucket_arn
  kms_key_arn                    = module.kms.key_arn
  glue_vpc_arn                   = module.network.vpc_arn
  glue_subnet_arns               = module.network.private_subnet_arns
  glue_security_group_arns       = [module.network.glue_security_group_arn]
  partner_central_catalog        = var.partner_central_catalog
  approved_action_principal_arns = var.approved_action_principal_arns
  tenant_account_ids             = var.tenant_account_ids
  pii_secret_arn                 = module.secrets.arns["pii_key"]
}

module "glue_jobs" {
  source                   = "../glue_jobs"
  name_prefix              = local.name_prefix
  bundle_dir               = local.bundle_dir
  artifacts_bucket_name    = module.lake.artifacts_bucket_name
  kms_key_arn              = module.kms.key_arn
  glue_job_role_arn        = module.iam.glue_job_role_arn
  metering_job_role_arn    = module.iam.metering_job_role_arn
  pii_secret_arn           = module.secrets.arns["pii_key"]
  lake_root                = module.lake.lake_root
  environment              = var.lakehouse_environment
  subnet_ids               = module.network.private_subnet_ids
  subnet_azs               = module.network.private_subnet_azs
  security_group_id        = module.network.glue_security_group_id
  partner_central_role_arn = module.iam.partner_central_read_role_arn
  partner_central_catalog  = var.partner_central_catalog
}

module "orchestration" {
  source                        = "../orchestration"
  name_prefix                   = local.name_prefix
  kms_key_arn                   = module.kms.key_arn
  glue_job_name_prefix          = module.glue_jobs.job_name_prefix
  glue_job_arns                 = module.glue_jobs.pipeline_job_arns
  tenant_schedules              = var.tenant_schedules
  partner_central_event_tenants = var.partner_central_event_tenants
  alarm_actions                 = var.alarm_actions
}

module "scheduled_jobs" {
  source         = "../scheduled_jobs"
  name_prefix    = local.name_prefix
  kms_key_arn    = module.kms.key_arn
  scheduled_jobs = module.glue_jobs.scheduled_jobs
  tenants        = var.metering_tenants
  # Glue writes a job's driver output to this group when the job has a security configuration.
  metering_output_log_group = "/aws-glue/jobs/${module.glue_jobs.security_configuration_name}-role/${module.iam.metering_job_role_name}/output"
  alarm_actions             = var.alarm_actions
}

module "control_plane_db" {
  source      = "../control_plane_db"
  name_prefix = local.name_prefix
  vpc_id      = module.network.vpc_id
  subnet_ids  = module.network.private_subnet_ids
  allowed_security_group_ids = concat(
    [module.network.glue_security_group_id, module.services.task_security_group_ids["api"], module.services.task_security_group_ids["migrate"]],
    var.control_plane_security_group_ids,
  )
  kms_key_arn         = module.kms.key_arn
  instance_class      = var.db_instance_class
  multi_az            = var.db_multi_az
  deletion_protection = var.db_deletion_protection
}

module "services" {
  source                  = "../services"
  name_prefix             = local.name_prefix
  vpc_id                  = module.network.vpc_id
  vpc_cidr_block          = var.vpc_cidr_block
  private_subnet_ids      = module.network.private_subnet_ids
  alb_subnet_ids          = var.alb_internal ? module.network.private_subnet_ids : module.network.public_subnet_ids
  alb_internal            = var.alb_internal
  alb_ingress_cidrs       = var.alb_ingress_cidrs
  alb_deletion_protection = var.alb_deletion_protection
  certificate_arn         = var.certificate_arn
  api_hostname            = var.api_hostname
  dashboards_hostname     = var.dashboards_hostname
  waf_web_acl_arn         = var.waf_web_acl_arn
  access_log_bucket       = module.lake.access_log_bucket_name
  kms_key_arn             = module.kms.key_arn
  api_image               = var.api_image
  dashboards_image        = var.dashboards_image
  secret_arns             = module.secrets.arns
  db_owner_secret_arn     = module.control_plane_db.master_user_secret_arn
  db_address              = module.control_plane_db.address
  db_name                 = module.control_plane_db.database_name
  lake_root               = module.lake.lake_root
  lake_bucket_arn         = module.lake.lake_bucket_arn
  lake_prefix             = module.lake.lake_prefix
  lakehouse_environment   = var.lakehouse_environment
  min_tasks               = var.services_min_tasks
  max_tasks               = var.services_max_tasks
}

module "warehouse" {
  source                     = "../warehouse"
  name_prefix                = local.name_prefix
  vpc_id                     = module.network.vpc_id
  subnet_ids                 = module.network.private_subnet_ids
  allowed_security_group_ids = var.warehouse_client_security_group_ids
  kms_key_arn                = module.kms.key_arn
  lake_bucket_arn            = module.lake.lake_bucket_arn
  lake_prefix                = module.lake.lake_prefix
  base_capacity_rpu          = var.warehouse_base_capacity_rpu
  max_capacity_rpu           = var.warehouse_max_capacity_rpu
}
