output "vpc_id" {
  description = "ID of the VPC."
  value       = aws_vpc.this.id
}

output "vpc_arn" {
  description = "ARN of the VPC."
  value       = aws_vpc.this.arn
}

output "vpc_cidr_block" {
  description = "CIDR block of the VPC."
  value       = aws_vpc.this.cidr_block
}

output "private_subnet_ids" {
  description = "Private subnet IDs, in the order of var.availability_zones."
  value       = [for az in var.availability_zones : aws_subnet.private[az].id]
}

output "private_subnet_arns" {
  description = "Private subnet ARNs, in the order of var.availability_zones."
  value       = [for az in var.availability_zones : aws_subnet.private[az].arn]
}

output "private_subnet_azs" {
  description = "Availability zone of each private subnet, aligned with private_subnet_ids."
  value       = var.availability_zones
}

output "glue_security_group_id" {
  description = "Security group for Glue job workers."
  value       = aws_security_group.glue.id
}

output "glue_security_group_arn" {
  description = "ARN of the Glue workers' security group (for scoping ec2:CreateNetworkInterface)."
  value       = aws_security_group.glue.arn
}

output "s3_endpoint_id" {
  description = "ID of the S3 gateway endpoint."
  value       = aws_vpc_endpoint.s3.id
}

output "public_subnet_ids" {
  description = "Public subnet IDs (empty without the NAT gateway); for an internet-facing load balancer."
  value       = [for az in var.availability_zones : aws_subnet.public[az].id if contains(keys(aws_subnet.public), az)]
}
