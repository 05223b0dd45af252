variable "region" {
  type        = string
  description = "AWS region of the deployment (Partner Central events arrive in us-east-1)."
  default     = "us-east-1"
}

variable "project" {
  type        = string
  description = "Short project name used in every resource name (<project>-<environment>-...)."
  default     = "pcl"
}

variable "environment" {
  type        = string
  description = "Environment name used in resource names and tags."
}

variable "lakehouse_environment" {
  type        = string
  description = "LAKEHOUSE_ENVIRONMENT passed to the Glue jobs (development, test or production)."
  default     = "production"
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
  description = "Let terraform destroy delete non-empty buckets (throwaway environments only)."
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

variable "metering_tenants" {
  type        = list(string)
  description = "Tenants whose usage the hourly metering job sends to AWS Marketplace (one schedule each)."
  default     = []
}

variable "secret_recovery_window_days" {
  type        = number
  description = "Days a deleted secret can be restored."
  default     = 30
}

variable "artifacts_object_lock_days" {
  type        = number
  description = "Object Lock retention of the artifacts bucket (null: off; can only be enabled when the bucket is created)."
  default     = null
}

variable "api_image" {
  type        = string
  description = "API image by digest (<ecr repo>@sha256:...), built from docker/api/Dockerfile."
}

variable "dashboards_image" {
  type        = string
  description = "Dashboards image by digest, built from docker/dashboards/Dockerfile."
}

variable "certificate_arn" {
  type        = string
  description = "ACM certificate of the HTTPS listener, covering api_hostname and dashboards_hostname."
}

variable "api_hostname" {
  type        = string
  description = "Host name of the control-plane API."
}

variable "dashboards_hostname" {
  type        = string
  description = "Host name of the dashboards."
}

variable "alb_internal" {
  type        = bool
  description = "Internal load balancer (default); false puts it in the public subnets, internet-facing."
  default     = true
}

variable "alb_ingress_cidrs" {
  type        = list(string)
  description = "CIDR blocks allowed to reach the load balancer on 443 (VPN, office, or 0.0.0.0/0 with a WAF)."
  default     = []
}

variable "alb_deletion_protection" {
  type        = bool
  description = "Deletion protection of the load balancer."
  default     = true
}

variable "waf_web_acl_arn" {
  type        = string
  description = "WAFv2 web ACL for the load balancer; null: none."
  default     = null
}

variable "services_min_tasks" {
  type        = number
  description = "Minimum tasks of the API and of the dashboards."
  default     = 2
}

variable "services_max_tasks" {
  type        = number
  description = "Maximum tasks of the API and of the dashboards under autoscaling."
  default     = 6
}

variable "tags" {
  type        = map(string)
  description = "Extra tags on every resource (provider default_tags)."
  default     = {}
}
