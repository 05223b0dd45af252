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

locals {
  name_prefix = "${var.project}-${var.environment}"
  bundle_dir  = abspath("${path.root}/${var.bundle_dir}")
}

module "kms" {
  source         = "../../modules/kms"
  name_prefix    = local.name_prefix
  key_admin_arns = var.key_admin_arns
}

module "network" {
  source             = "../../modules/network"
  name_prefix        = local.name_prefix
  cidr_block         = var.vpc_cidr_block
  availability_zones = var.availability_zones
  enable_nat_gateway = var.enable_nat_gateway
  kms_key_arn        = module.kms.key_arn
}

module "lake" {
  source        = "../../modules/lake"
  name_prefix   = local.name_prefix
  kms_key_arn   = module.kms.key_arn
  force_destroy = var.force_destroy_buckets
}

module "iam" {
  source                         = "../../modules/iam"
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
}

module "glue_jobs" {
  source                   = "../../modules/glue_jobs"
  name_prefix              = local.name_prefix
  bundle_dir               = local.bundle_dir
  artifacts_bucket_name    = module.lake.artifacts_bucket_name
  kms_key_arn              = module.kms.key_arn
  glue_job_role_arn        = module.iam.glue_job_role_arn
  lake_root                = module.lake.lake_root
  environment              = var.lakehouse_environment
  subnet_ids               = module.network.private_subnet_ids
  subnet_azs               = module.network.private_subnet_azs
  security_group_id        = module.network.glue_security_group_id
  partner_central_role_arn = module.iam.partner_central_read_role_arn
  partner_central_catalog  = var.partner_central_catalog
}

module "orchestration" {
  source                        = "../../modules/orchestration"
  name_prefix                   = local.name_prefix
  kms_key_arn                   = module.kms.key_arn
  glue_job_name_prefix          = module.glue_jobs.job_name_prefix
  glue_job_arns                 = values(module.glue_jobs.job_arns)
  tenant_schedules              = var.tenant_schedules
  partner_central_event_tenants = var.partner_central_event_tenants
  alarm_actions                 = var.alarm_actions
}

module "control_plane_db" {
  source                     = "../../modules/control_plane_db"
  name_prefix                = local.name_prefix
  vpc_id                     = module.network.vpc_id
  subnet_ids                 = module.network.private_subnet_ids
  allowed_security_group_ids = concat([module.network.glue_security_group_id], var.control_plane_security_group_ids)
  kms_key_arn                = module.kms.key_arn
  instance_class             = var.db_instance_class
  multi_az                   = var.db_multi_az
  deletion_protection        = var.db_deletion_protection
}

module "warehouse" {
  source                     = "../../modules/warehouse"
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
