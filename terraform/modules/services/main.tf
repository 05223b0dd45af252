# The control-plane API and the Streamlit dashboards on ECS Fargate behind one HTTPS load balancer, plus the
# one-off migration task. Images come from docker/api and docker/dashboards (the project wheel, non-root);
# every secret is injected by ECS from Secrets Manager (`secrets`, valueFrom an ARN), never as plain env.
data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
data "aws_region" "current" {}

locals {
  account   = data.aws_caller_identity.current.account_id
  partition = data.aws_partition.current.partition
  region    = data.aws_region.current.name
  api_port  = 8000
  ui_port   = 8501
  # Health routes: the API's GET /health (control_plane/app.py) and Streamlit's own health endpoint.
  # tests/infra/test_dockerfiles.py checks the Dockerfiles' HEALTHCHECKs use the same paths and ports.
  api_health_path = "/health"
  ui_health_path  = "/_stcore/health"
  services        = toset(["api", "dashboards"])
  log_group_arn   = "arn:${local.partition}:logs:${local.region}:${local.account}:log-group:/ecs/${var.name_prefix}/*"
  tmp_volume      = "tmp" # the root filesystem is read-only; /tmp is a task-local scratch volume
  common_env = [
    { name = "LAKEHOUSE_ENVIRONMENT", value = var.lakehouse_environment },
    { name = "LAKEHOUSE_AWS_REGION", value = local.region },
  ]
}

# ---- Images ----------------------------------------------------------------------------------------------------
resource "aws_ecr_repository" "this" {
  for_each             = local.services
  name                 = "${var.name_prefix}/${each.key}"
  image_tag_mutability = "IMMUTABLE"
  image_scanning_configuration {
    scan_on_push = true
  }
  encryption_configuration {
    encryption_type = "KMS"
    kms_key         = var.kms_key_arn
  }
  tags = var.tags
}

# ---- Logs ------------------------------------------------------------------------------------------------------
resource "aws_cloudwatch_log_group" "this" {
  for_each          = toset(["api", "dashboards", "migrate"])
  name              = "/ecs/${var.name_prefix}/${each.key}"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.kms_key_arn
  tags              = var.tags
}

# ---- Cluster ---------------------------------------------------------------------------------------------------
resource "aws_ecs_cluster" "this" {
  name = "${var.name_prefix}-services"
  setting {
    name  = "containerInsights"
    value = "enabled"
  }
  tags = var.tags
}

# ---- Network ---------------------------------------------------------------------------------------------------
resource "aws_security_group" "alb" {
  name        = "${var.name_prefix}-alb"
  description = "HTTPS to the control plane and dashboards load balancer"
  vpc_id      = var.vpc_id
  tags        = var.tags
}

resource "aws_vpc_security_group_ingress_rule" "alb_https" {
  for_each          = toset(var.alb_ingress_cidrs)
  security_group_id = aws_security_group.alb.id
  description       = "HTTPS from ${each.key}"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  cidr_ipv4         = each.key
}

resource "aws_security_group" "api" {
  name        = "${var.name_prefix}-api"
  description = "ECS tasks of the control-plane API"
  vpc_id      = var.vpc_id
  tags        = var.tags
}

resource "aws_security_group" "dashboards" {
  name        = "${var.name_prefix}-dashboards"
  description = "ECS tasks of the dashboards"
  vpc_id      = var.vpc_id
  tags        = var.tags
}

resource "aws_security_group" "migrate" {
  # checkov:skip=CKV2_AWS_5:Attached by `aws ecs run-task` of the one-off migration task (docs/deploy.md), which is not a Terraform resource.
  name        = "${var.name_prefix}-migrate"
  description = "The one-off migration task"
  vpc_id      = var.vpc_id
  tags        = var.tags
}

locals {
  task_security_groups = {
    api        = aws_security_group.api
    dashboards = aws_security_group.dashboards
    migrate    = aws_security_group.migrate
  }
}

resource "aws_vpc_security_group_egress_rule" "alb_to_api" {
  security_group_id            = aws_security_group.alb.id
  description                  = "To the API tasks"
  ip_protocol                  = "tcp"
  from_port                    = local.api_port
  to_port                      = local.api_port
  referenced_security_group_id = aws_security_group.api.id
}

resource "aws_vpc_security_group_egress_rule" "alb_to_dashboards" {
  security_group_id            = aws_security_group.alb.id
  description                  = "To the dashboards tasks"
  ip_protocol                  = "tcp"
  from_port                    = local.ui_port
  to_port                      = local.ui_port
  referenced_security_group_id = aws_security_group.dashboards.id
}

resource "aws_vpc_security_group_ingress_rule" "api_from_alb" {
  security_group_id            = aws_security_group.api.id
  description                  = "From the load balancer"
  ip_protocol                  = "tcp"
  from_port                    = local.api_port
  to_port                      = local.api_port
  referenced_security_group_id = aws_security_group.alb.id
}

resource "aws_vpc_security_group_ingress_rule" "dashboards_from_alb" {
  security_group_id            = aws_security_group.dashboards.id
  description                  = "From the load balancer"
  ip_protocol                  = "tcp"
  from_port                    = local.ui_port
  to_port                      = local.ui_port
  referenced_security_group_id = aws_security_group.alb.id
}

resource "aws_vpc_security_group_ingress_rule" "alb_from_dashboards" {
  security_group_id            = aws_security_group.alb.id
  description                  = "The dashboards call the API through the load balancer"
  ip_protocol                  = "tcp"
  from_port                    = 443
  to_port                      = 443
  referenced_security_group_id = aws_security_group.dashboards.id
}

# Every task: HTTPS out (AWS APIs through endpoints or NAT, the API through the load balancer).
resource "aws_vpc_security_group_egress_rule" "task_https" {
  for_each          = local.task_security_groups
  security_group_id = each.value.id
  description       = "HTTPS (AWS APIs, the load balancer)"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  cidr_ipv4         = "0.0.0.0/0"
}

resource "aws_vpc_security_group_egress_rule" "task_postgres" {
  for_each          = toset(["api", "migrate"])
  security_group_id = local.task_security_groups[each.key].id
  description       = "PostgreSQL inside the VPC"
  ip_protocol       = "tcp"
  from_port         = 5432
  to_port           = 5432
  cidr_ipv4         = var.vpc_cidr_block
}

# ---- Load balancer ---------------------------------------------------------------------------------------------
resource "aws_lb" "this" {
  name                       = "${var.name_prefix}-services"
  load_balancer_type         = "application"
  internal                   = var.alb_internal
  subnets                    = var.alb_subnet_ids
  security_groups            = [aws_security_group.alb.id]
  drop_invalid_header_fields = true
  enable_deletion_protection = var.alb_deletion_protection

  access_logs {
    bucket  = var.access_log_bucket
    prefix  = "alb"
    enabled = true
  }

  tags = var.tags
}

resource "aws_wafv2_web_acl_association" "this" {
  count        = var.waf_web_acl_arn == null ? 0 : 1
  resource_arn = aws_lb.this.arn
  web_acl_arn  = var.waf_web_acl_arn
}

resource "aws_lb_target_group" "api" {
  name        = "${var.name_prefix}-api"
  port        = local.api_port
  protocol    = "HTTP"
  target_type = "ip"
  vpc_id      = var.vpc_id
  health_check {
    path                = local.api_health_path
    matcher             = "200"
    interval            = 15
    healthy_threshold   = 2
    unhealthy_threshold = 3
  }
  tags = var.tags
}

resource "aws_lb_target_group" "dashboards" {
  name        = "${var.name_prefix}-dashboards"
  port        = local.ui_port
  protocol    = "HTTP"
  target_type = "ip"
  vpc_id      = var.vpc_id
  health_check {
    path                = local.ui_health_path
    matcher             = "200"
    interval            = 15
    healthy_threshold   = 2
    unhealthy_threshold = 3
  }
  stickiness {
    type    = "lb_cookie" # Streamlit keeps a session per browser over one websocket
    enabled = true
  }
  tags = var.tags
}

resource "aws_lb_listener" "https" {
  load_balancer_arn = aws_lb.this.arn
  port              = 443
  protocol          = "HTTPS"
  ssl_policy        = "ELBSecurityPolicy-TLS13-1-2-2021-06"
  certificate_arn   = var.certificate_arn

  default_action {
    type = "fixed-response"
    fixed_response {
      content_type = "text/plain"
      message_body = "unknown host"
      status_code  = "404"
    }
  }
  tags = var.tags
}

resource "aws_lb_listener_rule" "host" {
  for_each     = { api = var.api_hostname, dashboards = var.dashboards_hostname }
  listener_arn = aws_lb_listener.https.arn
  priority     = each.key == "api" ? 10 : 20
  action {
    type             = "forward"
    target_group_arn = each.key == "api" ? aws_lb_target_group.api.arn : aws_lb_target_group.dashboards.arn
  }
  condition {
    host_header {
      values = [each.value]
    }
  }
  tags = var.tags
}

# ---- IAM: execution roles read exactly the secrets their task injects; the API task role reads the lake ----
data "aws_iam_policy_document" "ecs_tasks_trust" {
  statement {
    sid     = "EcsTasks"
    effect  = "Allow"
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["ecs-tasks.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account]
    }
  }
}

locals {
  execution = {
    api = {
      repository = "api"
      secrets = [
        var.secret_arns["api_database_url"],
        var.secret_arns["audit_hmac"],
        var.secret_arns["jwt_signing"],
        var.secret_arns["pii_key"],
      ]
    }
    dashboards = { repository = "dashboards", secrets = [var.secret_arns["dashboards_api_key"]] }
    migrate    = { repository = "api", secrets = [var.db_owner_secret_arn] }
  }
}

data "aws_iam_policy_document" "execution" {
  for_each = local.execution

  statement {
    sid       = "EcrAuth"
    effect    = "Allow"
    actions   = ["ecr:GetAuthorizationToken"]
    resources = ["*"]
  }

  statement {
    sid       = "PullImage"
    effect    = "Allow"
    actions   = ["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"]
    resources = [aws_ecr_repository.this[each.value.repository].arn]
  }

  statement {
    sid       = "WriteLogs"
    effect    = "Allow"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.this[each.key].arn}:log-stream:*"]
  }

  statement {
    sid       = "InjectSecrets"
    effect    = "Allow"
    actions   = ["secretsmanager:GetSecretValue"]
    resources = each.value.secrets
  }

  statement {
    sid       = "DecryptSecretsAndImages"
    effect    = "Allow"
    actions   = ["kms:Decrypt"]
    resources = [var.kms_key_arn]
  }
}

resource "aws_iam_role" "execution" {
  for_each             = local.execution
  name                 = "${var.name_prefix}-${each.key}-execution"
  description          = "ECS execution role of ${each.key}: pulls its image, writes its logs, injects its secrets"
  assume_role_policy   = data.aws_iam_policy_document.ecs_tasks_trust.json
  max_session_duration = 3600
  tags                 = var.tags
}

resource "aws_iam_role_policy" "execution" {
  for_each = local.execution
  name     = "ecs-execution"
  role     = aws_iam_role.execution[each.key].id
  policy   = data.aws_iam_policy_document.execution[each.key].json
}

data "aws_iam_policy_document" "api_task" {
  statement {
    sid       = "ListLakePrefix"
    effect    = "Allow"
    actions   = ["s3:ListBucket"]
    resources = [var.lake_bucket_arn]
    condition {
      test     = "StringLike"
      variable = "s3:prefix"
      values   = [var.lake_prefix, "${var.lake_prefix}/*"]
    }
  }

  statement {
    sid       = "ReadLake"
    effect    = "Allow"
    actions   = ["s3:GetObject"]
    resources = ["${var.lake_bucket_arn}/${var.lake_prefix}/*"]
  }

  statement {
    sid       = "DecryptLake"
    effect    = "Allow"
    actions   = ["kms:Decrypt"]
    resources = [var.kms_key_arn]
  }

  # The agent hub calls Bedrock Converse (bedrock:InvokeModel) with the models its approved prompts name.
  statement {
    sid     = "ConverseWithAgentModels"
    effect  = "Allow"
    actions = ["bedrock:InvokeModel"]
    resources = [
      for model in var.agent_model_ids : "arn:${local.partition}:bedrock:${local.region}::foundation-model/${model}"
    ]
  }
}

# Marketplace catalog reads and approved change sets run in the API (registration, approvals); the actions are
# exactly what lakehouse/connectors/marketplace.py declares for the "catalog" role (tests/infra checks it).
data "aws_iam_policy_document" "marketplace_catalog" {
  statement {
    sid    = "MarketplaceCatalogEntities"
    effect = "Allow"
    actions = [
      "aws-marketplace:BatchDescribeEntities",
      "aws-marketplace:DescribeChangeSet",
      "aws-marketplace:StartChangeSet",
    ]
    resources = ["arn:${local.partition}:aws-marketplace:${local.region}:${local.account}:AWSMarketplace/*"]
  }

  statement {
    sid    = "MarketplaceListsAndAgreements"
    effect = "Allow"
    actions = [
      "aws-marketplace:GetAgreementTerms",
      "aws-marketplace:GetEntitlements",
      "aws-marketplace:ListChangeSets",
      "aws-marketplace:ListEntities",
      "aws-marketplace:SearchAgreements",
    ]
    resources = ["*"]
  }
}

resource "aws_iam_role" "api_task" {
  name                 = "${var.name_prefix}-api-task"
  description          = "What the control-plane API calls: the lake (read) and AWS Marketplace catalog"
  assume_role_policy   = data.aws_iam_policy_document.ecs_tasks_trust.json
  max_session_duration = 3600
  tags                 = var.tags
}

resource "aws_iam_role_policy" "api_task" {
  name   = "lake-read"
  role   = aws_iam_role.api_task.id
  policy = data.aws_iam_policy_document.api_task.json
}

resource "aws_iam_role_policy" "api_marketplace_catalog" {
  name   = "marketplace-catalog"
  role   = aws_iam_role.api_task.id
  policy = data.aws_iam_policy_document.marketplace_catalog.json
}

# ---- Task definitions ------------------------------------------------------------------------------------------
locals {
  hardening = {
    readonlyRootFilesystem = true
    privileged             = false
    user                   = "10001:10001"
    linuxParameters        = { initProcessEnabled = true, capabilities = { drop = ["ALL"] } }
    mountPoints            = [{ sourceVolume = local.tmp_volume, containerPath = "/tmp", readOnly = false }]
  }
  logging = {
    for name in ["api", "dashboards", "migrate"] : name => {
      logDriver = "awslogs"
      options = {
        awslogs-group         = aws_cloudwatch_log_group.this[name].name
        awslogs-region        = local.region
        awslogs-stream-prefix = name
      }
    }
  }
}

resource "aws_ecs_task_definition" "api" {
  family                   = "${var.name_prefix}-api"
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = var.api_cpu
  memory                   = var.api_memory
  execution_role_arn       = aws_iam_role.execution["api"].arn
  task_role_arn            = aws_iam_role.api_task.arn
  volume {
    name = local.tmp_volume
  }
  container_definitions = jsonencode([merge(local.hardening, {
    name         = "api"
    image        = var.api_image
    essential    = true
    portMappings = [{ containerPort = local.api_port, protocol = "tcp" }]
    environment = concat(local.common_env, [
      { name = "LAKEHOUSE_LAKE_ROOT", value = var.lake_root },
      { name = "LAKEHOUSE_AUTO_MIGRATE", value = "false" }, # the migration task migrates, as the owner
    ])
    secrets = [
      { name = "LAKEHOUSE_DATABASE_URL", valueFrom = var.secret_arns["api_database_url"] },
      { name = "LAKEHOUSE_JWT_SECRET", valueFrom = var.secret_arns["jwt_signing"] },
      { name = "LAKEHOUSE_AUDIT_HMAC_KEY", valueFrom = var.secret_arns["audit_hmac"] },
      { name = "LAKEHOUSE_PII_SECRET", valueFrom = var.secret_arns["pii_key"] },
    ]
    logConfiguration = local.logging["api"]
  })])
  tags = var.tags
}

resource "aws_ecs_task_definition" "dashboards" {
  family                   = "${var.name_prefix}-dashboards"
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = var.dashboards_cpu
  memory                   = var.dashboards_memory
  execution_role_arn       = aws_iam_role.execution["dashboards"].arn
  volume {
    name = local.tmp_volume
  }
  # The dashboards only call the control plane (its URL and a service key): no task role, no lake access.
  container_definitions = jsonencode([merge(local.hardening, {
    name         = "dashboards"
    image        = var.dashboards_image
    essential    = true
    portMappings = [{ containerPort = local.ui_port, protocol = "tcp" }]
    environment = concat(local.common_env, [
      { name = "LAKEHOUSE_CONTROL_PLANE_URL", value = "https://${var.api_hostname}" },
    ])
    secrets = [
      { name = "LAKEHOUSE_CONTROL_PLANE_API_KEY", valueFrom = var.secret_arns["dashboards_api_key"] },
    ]
    logConfiguration = local.logging["dashboards"]
  })])
  tags = var.tags
}

# One-off: `aws ecs run-task --task-definition <prefix>-migrate` (docs/deploy.md). Runs the Alembic migrations
# as the RDS owner, which creates the RLS roles; the API then connects with api_database_url, never as the owner.
resource "aws_ecs_task_definition" "migrate" {
  family                   = "${var.name_prefix}-migrate"
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = 256
  memory                   = 512
  execution_role_arn       = aws_iam_role.execution["migrate"].arn
  volume {
    name = local.tmp_volume
  }
  container_definitions = jsonencode([merge(local.hardening, {
    name      = "migrate"
    image     = var.api_image
    essential = true
    command   = ["python", "/opt/lakehouse/migrate.py"]
    environment = concat(local.common_env, [
      { name = "DB_HOST", value = var.db_address },
      { name = "DB_NAME", value = var.db_name },
    ])
    secrets = [
      { name = "DB_USERNAME", valueFrom = "${var.db_owner_secret_arn}:username::" },
      { name = "DB_PASSWORD", valueFrom = "${var.db_owner_secret_arn}:password::" },
    ]
    logConfiguration = local.logging["migrate"]
  })])
  tags = var.tags
}

# ---- Services and autoscaling ------------------------------------------------------------------------------------
locals {
  service_defs = {
    api        = { task = aws_ecs_task_definition.api.arn, tg = aws_lb_target_group.api.arn, port = local.api_port }
    dashboards = { task = aws_ecs_task_definition.dashboards.arn, tg = aws_lb_target_group.dashboards.arn, port = local.ui_port }
  }
}

resource "aws_ecs_service" "this" {
  for_each                          = local.service_defs
  name                              = each.key
  cluster                           = aws_ecs_cluster.this.id
  task_definition                   = each.value.task
  desired_count                     = var.min_tasks
  launch_type                       = "FARGATE"
  platform_version                  = "LATEST"
  health_check_grace_period_seconds = 60
  propagate_tags                    = "SERVICE"

  network_configuration {
    subnets          = var.private_subnet_ids
    security_groups  = [each.key == "api" ? aws_security_group.api.id : aws_security_group.dashboards.id]
    assign_public_ip = false
  }

  load_balancer {
    target_group_arn = each.value.tg
    container_name   = each.key
    container_port   = each.value.port
  }

  deployment_circuit_breaker {
    enable   = true
    rollback = true
  }

  lifecycle {
    ignore_changes = [desired_count] # owned by autoscaling after creation
  }

  depends_on = [aws_lb_listener_rule.host]
  tags       = var.tags
}

resource "aws_appautoscaling_target" "this" {
  for_each           = aws_ecs_service.this
  service_namespace  = "ecs"
  resource_id        = "service/${aws_ecs_cluster.this.name}/${each.value.name}"
  scalable_dimension = "ecs:service:DesiredCount"
  min_capacity       = var.min_tasks
  max_capacity       = var.max_tasks
}

resource "aws_appautoscaling_policy" "cpu" {
  for_each           = aws_appautoscaling_target.this
  name               = "${var.name_prefix}-${each.key}-cpu"
  policy_type        = "TargetTrackingScaling"
  service_namespace  = each.value.service_namespace
  resource_id        = each.value.resource_id
  scalable_dimension = each.value.scalable_dimension

  target_tracking_scaling_policy_configuration {
    target_value = var.target_cpu_percent
    predefined_metric_specification {
      predefined_metric_type = "ECSServiceAverageCPUUtilization"
    }
  }
}
