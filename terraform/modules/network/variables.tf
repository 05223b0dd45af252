variable "name_prefix" {
  type        = string
  description = "Prefix for every resource name, e.g. \"pcl-dev\"."
}

variable "cidr_block" {
  type        = string
  description = "IPv4 CIDR of the VPC; private subnets take /20s (netnum 0..), public subnets start at netnum 8."
  default     = "10.40.0.0/16"

  validation {
    condition     = can(cidrhost(var.cidr_block, 0))
    error_message = "cidr_block must be a valid IPv4 CIDR block."
  }
}

variable "availability_zones" {
  type        = list(string)
  description = "Availability zones for the subnets. Redshift Serverless needs at least three."

  validation {
    condition     = length(var.availability_zones) >= 3
    error_message = "Give at least three availability zones (Redshift Serverless requires three subnets)."
  }
}

variable "enable_nat_gateway" {
  type        = bool
  description = "Create public subnets and one NAT gateway so Glue can reach APIs without a VPC endpoint (the Partner Central Selling API has none)."
  default     = true
}

variable "interface_endpoint_services" {
  type        = list(string)
  description = "AWS services reached through interface VPC endpoints (short names, e.g. \"glue\", \"sts\")."
  default     = ["glue", "sts", "kms", "logs", "secretsmanager", "monitoring"]
}

variable "flow_log_retention_days" {
  type        = number
  description = "Retention of the VPC flow log group, in days."
  default     = 365
}

variable "kms_key_arn" {
  type        = string
  description = "KMS key that encrypts the flow log group."
}

variable "tags" {
  type        = map(string)
  description = "Tags added to every resource of the module."
  default     = {}
}
