variable "project" {
  type        = string
  description = "Short project name used in every resource name (<project>-<environment>-...)."
  default     = "pcl"
}

variable "environment" {
  type        = string
  description = "Environment name used in resource names and tags."
  default     = "prod"
}

variable "lakehouse_environment" {
  type        = string
  description = "LAKEHOUSE_ENVIRONMENT passed to the Glue jobs (development, test or production)."
  default     = "production"
}

variable "region" {
  type        = string
  description = "AWS region of the deployment (Partner Central events arrive in us-east-1)."
  default     = "us-east-1"
}

variable "availability_zones" {
  type        = list(string)
  description = "Three or more availability zones of the region."
  default     = ["us-east-1a", "us-east-1b", "us-east-1c"]
}

variable "vpc_cidr_block" {
  type        = string
  description = "CIDR block of the VPC."
  default     = "10.40.0.0/16"
}

variable "enable_nat_gateway" {
  type        = bool
  description = "NAT gateway for the Partner Central API (no VPC endpoint exists for it)."
  default     = true
}

variable "bundle_dir" {
  type        = string
  description = "Output of `lakehouse package`, relative to this directory."
  default     = "../../../dist/glue"
}

variable "key_admin_arns" {
  type        = list(string)
  description = "Administrators of the KMS key (default: the account root, i.e. IAM decides)."
  default     = []
}

variable "force_destroy_buckets" {
  type        = bool
  description = "Let terraform destroy delete non-empty buckets (keep false in production)."
  default     = false
}

variable "partner_central_catalog" {
  type        = string
  description = "Partner Central catalog: \"Sandbox\" for dev, \"AWS\" for production."
  default     = "AWS"
}

variable "approved_action_principal_arns" {
  type        = list(string)
  description = "Control-plane approval executor role(s) allowed to assume the Partner Central write role."
  default     = []
}

variable "tenant_account_ids" {
  type        = list(string)
  description = "Accounts of tenants that created the linked-account role."
  default     = []
}

variable "tenant_schedules" {
  type        = map(string)
  description = "Scheduled pipeline runs: tenant ID -> cron(...) or rate(...)."
  default     = {}
}

variable "partner_central_event_tenants" {
  type        = list(string)
  description = "Tenants whose pipeline runs on Partner Central events."
  default     = []
}

variable "alarm_actions" {
  type        = list(string)
  description = "SNS topic ARNs for pipeline alarms."
  default     = []
}

variable "control_plane_security_group_ids" {
  type        = list(string)
  description = "Security groups of the control-plane API, allowed to reach PostgreSQL."
  default     = []
}

variable "db_instance_class" {
  type        = string
  description = "RDS instance class of the control-plane database."
  default     = "db.r7g.large"
}

variable "db_multi_az" {
  type        = bool
  description = "Multi-AZ control-plane database."
  default     = true
}

variable "db_deletion_protection" {
  type        = bool
  description = "Deletion protection of the control-plane database."
  default     = true
}

variable "warehouse_client_security_group_ids" {
  type        = list(string)
  description = "Security groups allowed to query Redshift (dashboards, BI)."
  default     = []
}

variable "warehouse_base_capacity_rpu" {
  type        = number
  description = "Redshift Serverless base capacity (RPU)."
  default     = 8
}

variable "warehouse_max_capacity_rpu" {
  type        = number
  description = "Redshift Serverless capacity ceiling (RPU)."
  default     = 64
}

variable "tags" {
  type        = map(string)
  description = "Extra tags on every resource."
  default     = {}
}
