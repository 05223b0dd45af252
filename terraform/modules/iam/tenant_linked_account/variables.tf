variable "platform_glue_role_arn" {
  type        = string
  description = "ARN of the platform's Glue job role (output glue_job_role_arn of the platform deployment) that will assume this role."
}

variable "external_id" {
  type        = string
  description = "ExternalId the platform issued to this tenant (from the control plane); guards against the confused-deputy problem."
  sensitive   = true

  validation {
    condition     = length(var.external_id) >= 16 && can(regex("^[A-Za-z0-9+=,.@:/-]+$", var.external_id))
    error_message = "external_id must be at least 16 characters of A-Z, a-z, 0-9 or +=,.@:/-."
  }
}

variable "role_name" {
  type        = string
  description = "Name of the role; must match tenant_linked_role_name of the platform's iam module."
  default     = "PartnerCentralLakehouseLinkedAccess"
}

variable "partner_central_catalog" {
  type        = string
  description = "Partner Central catalog the platform may read: \"AWS\" or \"Sandbox\"."
  default     = "AWS"

  validation {
    condition     = contains(["AWS", "Sandbox"], var.partner_central_catalog)
    error_message = "partner_central_catalog must be \"AWS\" or \"Sandbox\"."
  }
}

variable "partner_central_region" {
  type        = string
  description = "Region of the Partner Central Selling API."
  default     = "us-east-1"
}

variable "tags" {
  type        = map(string)
  description = "Tags added to the role."
  default     = {}
}
