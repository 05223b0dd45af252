output "role_arn" {
  description = "ARN to register with the platform (control plane) for this tenant."
  value       = aws_iam_role.this.arn
}
