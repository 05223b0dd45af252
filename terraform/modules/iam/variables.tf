variable "name_prefix" {
  type        = string
  description = "Prefix of every role name."
}

variable "lake_bucket_arn" {
  type        = string
  description = "ARN of the lake bucket."
}

variable "lake_prefix" {
  type        = string
  description = "Key prefix of the lake inside the lake bucket."
}

variable "artifacts_bucket_arn" {
  type        = string
  description = "ARN of the artifacts bucket (Glue scripts, wheel, temp files, Spark event logs)."
}

variable "kms_key_arn" {
  type        = string
  description = "ARN of the environment's KMS key."
}

variable "glue_vpc_arn" {
  type        = string
  description = "VPC of the Glue connections (ec2:DescribeVpcAttribute is scoped to it)."
}

variable "glue_subnet_arns" {
  type        = list(string)
  description = "Subnets where Glue may create network interfaces."
}

variable "glue_security_group_arns" {
  type        = list(string)
  description = "Security groups Glue may attach to its network interfaces."
}

variable "partner_central_catalog" {
  type        = string
  description = "Partner Central catalog the roles may use: \"AWS\" (production) or \"Sandbox\"."
  default     = "AWS"

  validation {
    condition     = contains(["AWS", "Sandbox"], var.partner_central_catalog)
    error_message = "partner_central_catalog must be \"AWS\" or \"Sandbox\"."
  }
}

variable "partner_central_region" {
  type        = string
  description = "Region of the Partner Central Selling API (its ARNs name it)."
  default     = "us-east-1"
}

variable "pii_secret_arn" {
  type        = string
  description = "Secrets Manager secret with the PII pseudonymisation key; the Glue job roles may read it."
}

variable "approved_action_principal_arns" {
  type        = list(string)
  description = "Principals (the control plane's approval executor) that may assume the Partner Central write role. Empty: the write role is not created."
  default     = []
}

variable "tenant_account_ids" {
  type        = list(string)
  description = "AWS accounts of tenants that linked their account (see modules/iam/tenant_linked_account); the Glue role may assume their linked-account role."
  default     = []

  validation {
    condition     = alltrue([for a in var.tenant_account_ids : can(regex("^[0-9]{12}$", a))])
    error_message = "tenant_account_ids must be 12-digit AWS account IDs."
  }
}

variable "tenant_linked_role_name" {
  type        = string
  description = "Name of the role each tenant creates in its account with modules/iam/tenant_linked_account."
  default     = "PartnerCentralLakehouseLinkedAccess"
}

variable "tags" {
  type        = map(string)
  description = "Tags added to every resource of the module."
  default     = {}
}
