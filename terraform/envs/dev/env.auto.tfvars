# The dev profile. Deployment-specific values (certificate, host names, images) go in terraform.tfvars.
environment                 = "dev"
lakehouse_environment       = "development"
partner_central_catalog     = "Sandbox"
force_destroy_buckets       = true
db_instance_class           = "db.t4g.micro"
db_multi_az                 = false
db_deletion_protection      = true
warehouse_max_capacity_rpu  = 16
secret_recovery_window_days = 7
alb_deletion_protection     = false
services_min_tasks          = 1
services_max_tasks          = 2
