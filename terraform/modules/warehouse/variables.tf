variable "name_prefix" {
  type        = string
  description = "Prefix of the namespace, workgroup and role names."
}

variable "vpc_id" {
  type        = string
  description = "VPC of the workgroup."
}

variable "subnet_ids" {
  type        = list(string)
  description = "Private subnets of the workgroup (Redshift Serverless needs three AZs)."
}

variable "allowed_security_group_ids" {
  type        = list(string)
  description = "Security groups allowed to connect on 5439 (dashboards, BI tools, the control plane)."
  default     = []
}

variable "kms_key_arn" {
  type        = string
  description = "KMS key for the namespace data and the admin secret."
}

variable "lake_bucket_arn" {
  type        = string
  description = "Lake bucket; the warehouse role may read its gold and platinum prefixes."
}

variable "lake_prefix" {
  type        = string
  description = "Key prefix of the lake inside the lake bucket."
}

variable "database_name" {
  type        = string
  description = "Database created in the namespace."
  default     = "lakehouse"
}

variable "admin_username" {
  type        = string
  description = "Admin user; its password is generated and kept in Secrets Manager by Redshift."
  default     = "lakehouse_admin"
}

variable "base_capacity_rpu" {
  type        = number
  description = "Base capacity of the workgroup in RPUs (multiples of 8, 8-512)."
  default     = 8
}

variable "max_capacity_rpu" {
  type        = number
  description = "Upper bound of the workgroup's capacity in RPUs (cost guard)."
  default     = 64
}

variable "tags" {
  type        = map(string)
  description = "Tags added to every resource of the module."
  default     = {}
}
