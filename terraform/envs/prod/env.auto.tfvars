# The prod profile. Deployment-specific values (certificate, host names, images) go in terraform.tfvars.
environment                 = "prod"
lakehouse_environment       = "production"
partner_central_catalog     = "AWS"
force_destroy_buckets       = false
db_instance_class           = "db.r7g.large"
db_multi_az                 = true
db_deletion_protection      = true
warehouse_max_capacity_rpu  = 64
secret_recovery_window_days = 30
alb_deletion_protection     = true
services_min_tasks          = 2
services_max_tasks          = 6
artifacts_object_lock_days  = 30
