variable "name_prefix" {
  type        = string
  description = "Prefix of every resource name."
}

variable "vpc_id" {
  type        = string
  description = "VPC of the services and the load balancer."
}

variable "vpc_cidr_block" {
  type        = string
  description = "CIDR of the VPC: the tasks reach the database and the load balancer inside it."
}

variable "private_subnet_ids" {
  type        = list(string)
  description = "Private subnets of the Fargate tasks (no public IPs)."
}

variable "alb_subnet_ids" {
  type        = list(string)
  description = "Subnets of the load balancer: private ones for an internal ALB, public ones when alb_internal is false."
}

variable "alb_internal" {
  type        = bool
  description = "Internal load balancer (reached over VPN / Direct Connect / peering); false makes it internet-facing."
  default     = true
}

variable "alb_ingress_cidrs" {
  type        = list(string)
  description = "CIDR blocks allowed to reach the load balancer on 443."
}

variable "alb_deletion_protection" {
  type        = bool
  description = "Deletion protection of the load balancer."
  default     = true
}

variable "certificate_arn" {
  type        = string
  description = "ACM certificate of the HTTPS listener (covers api_hostname and dashboards_hostname)."
}

variable "api_hostname" {
  type        = string
  description = "Host name routed to the control-plane API (e.g. api.lakehouse.example.com)."
}

variable "dashboards_hostname" {
  type        = string
  description = "Host name routed to the dashboards (e.g. dashboards.lakehouse.example.com)."
}

variable "waf_web_acl_arn" {
  type        = string
  description = "WAFv2 web ACL associated with the load balancer; null: none."
  default     = null
}

variable "access_log_bucket" {
  type        = string
  description = "Bucket (SSE-S3) receiving the load balancer's access logs under alb/."
}

variable "kms_key_arn" {
  type        = string
  description = "Platform KMS key: log groups, image repositories, secrets."
}

variable "api_image" {
  type        = string
  description = "API image reference, by digest (<repo>@sha256:...), built from docker/api/Dockerfile."
}

variable "dashboards_image" {
  type        = string
  description = "Dashboards image reference, by digest, built from docker/dashboards/Dockerfile."
}

variable "secret_arns" {
  type        = map(string)
  description = "modules/secrets output arns: pii_key, jwt_signing, audit_hmac, api_database_url, dashboards_api_key."
}

variable "db_owner_secret_arn" {
  type        = string
  description = "RDS-managed master (owner) secret; only the migration task reads it."
}

variable "db_address" {
  type        = string
  description = "Host name of the control-plane PostgreSQL instance."
}

variable "db_name" {
  type        = string
  description = "Database name of the control plane."
}

variable "lake_root" {
  type        = string
  description = "LAKEHOUSE_LAKE_ROOT (s3://bucket/prefix) the API reads."
}

variable "lake_bucket_arn" {
  type        = string
  description = "ARN of the lake bucket (the API task role reads it)."
}

variable "lake_prefix" {
  type        = string
  description = "Key prefix of the lake inside the lake bucket."
}

variable "lakehouse_environment" {
  type        = string
  description = "LAKEHOUSE_ENVIRONMENT of the containers (production refuses placeholder secrets)."
  default     = "production"
}

variable "api_cpu" {
  type        = number
  description = "Fargate CPU units of one API task."
  default     = 512
}

variable "api_memory" {
  type        = number
  description = "Fargate memory (MiB) of one API task."
  default     = 1024
}

variable "dashboards_cpu" {
  type        = number
  description = "Fargate CPU units of one dashboards task."
  default     = 512
}

variable "dashboards_memory" {
  type        = number
  description = "Fargate memory (MiB) of one dashboards task."
  default     = 2048
}

variable "min_tasks" {
  type        = number
  description = "Minimum running tasks of each service (2 or more spreads them over zones)."
  default     = 2
}

variable "max_tasks" {
  type        = number
  description = "Maximum tasks of each service under autoscaling."
  default     = 6
}

variable "target_cpu_percent" {
  type        = number
  description = "Average CPU utilisation the autoscaling keeps each service at."
  default     = 60
}

variable "log_retention_days" {
  type        = number
  description = "Retention of the services' log groups."
  default     = 365
}

variable "tags" {
  type        = map(string)
  description = "Tags added to every resource of the module."
  default     = {}
}

variable "agent_model_ids" {
  description = "Bedrock foundation models the agent hub's approved prompts use (lakehouse/agents/prompts/*.yaml)"
  type        = list(string)
  default     = ["anthropic.claude-3-5-haiku-20241022-v1:0"]
}
