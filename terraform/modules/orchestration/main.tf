data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
data "aws_region" "current" {}

locals {
  account           = data.aws_caller_identity.current.account_id
  state_machine_arn = "arn:${data.aws_partition.current.partition}:states:${data.aws_region.current.name}:${local.account}:stateMachine:${var.name_prefix}-pipeline"
}

# ---- Dead-letter queue: one message per failed tenant run --------------------------------------------------
resource "aws_sqs_queue" "dlq" {
  name                              = "${var.name_prefix}-pipeline-dlq"
  message_retention_seconds         = 1209600
  kms_master_key_id                 = var.kms_key_arn
  kms_data_key_reuse_period_seconds = 3600
  tags                              = var.tags
}

data "aws_iam_policy_document" "dlq" {
  statement {
    sid       = "DenyInsecureTransport"
    effect    = "Deny"
    actions   = ["sqs:*"]
    resources = [aws_sqs_queue.dlq.arn]
    principals {
      type        = "*"
      identifiers = ["*"]
    }
    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }
}

resource "aws_sqs_queue_policy" "dlq" {
  queue_url = aws_sqs_queue.dlq.id
  policy    = data.aws_iam_policy_document.dlq.json
}

# ---- State machine ---------------------------------------------------------------------------------------------
resource "aws_cloudwatch_log_group" "state_machine" {
  name              = "/aws/vendedlogs/states/${var.name_prefix}-pipeline"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.kms_key_arn
  tags              = var.tags
}

data "aws_iam_policy_document" "states_trust" {
  statement {
    sid     = "StepFunctionsService"
    effect  = "Allow"
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["states.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account]
    }
  }
}

data "aws_iam_policy_document" "states" {
  statement {
    sid       = "RunPipelineGlueJobs"
    effect    = "Allow"
    actions   = ["glue:BatchStopJobRun", "glue:GetJobRun", "glue:GetJobRuns", "glue:StartJobRun"]
    resources = var.glue_job_arns
  }

  statement {
    sid       = "DeadLetterFailedTenants"
    effect    = "Allow"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.dlq.arn]
  }

  statement {
    sid       = "UseEnvironmentKey"
    effect    = "Allow"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = [var.kms_key_arn]
  }

  # CloudWatch Logs vended-log delivery and X-Ray accept no resource ARN for these calls.
  statement {
    sid    = "ExecutionLogDelivery"
    effect = "Allow"
    actions = [
      "logs:CreateLogDelivery",
      "logs:DeleteLogDelivery",
      "logs:DescribeLogGroups",
      "logs:DescribeResourcePolicies",
      "logs:GetLogDelivery",
      "logs:ListLogDeliveries",
      "logs:PutResourcePolicy",
      "logs:UpdateLogDelivery",
    ]
    resources = ["*"]
  }

  statement {
    sid    = "Tracing"
    effect = "Allow"
    actions = [
      "xray:GetSamplingRules",
      "xray:GetSamplingTargets",
      "xray:PutTelemetryRecords",
      "xray:PutTraceSegments",
    ]
    resources = ["*"]
  }
}

resource "aws_iam_role" "states" {
  name                 = "${var.name_prefix}-pipeline-states"
  description          = "Runs the pipeline state machine"
  assume_role_policy   = data.aws_iam_policy_document.states_trust.json
  max_session_duration = 3600
  tags                 = var.tags
}

resource "aws_iam_role_policy" "states" {
  name   = "run-pipeline"
  role   = aws_iam_role.states.id
  policy = data.aws_iam_policy_document.states.json
}

resource "aws_sfn_state_machine" "pipeline" {
  name     = "${var.name_prefix}-pipeline"
  role_arn = aws_iam_role.states.arn
  type     = "STANDARD"

  # Generated from lakehouse/pipeline_steps.py by `lakehouse package` (lakehouse.deploy.asl).
  definition = templatefile("${path.module}/generated/state_machine.asl.json", {
    glue_job_prefix = var.glue_job_name_prefix
    dlq_url         = aws_sqs_queue.dlq.url
  })

  logging_configuration {
    log_destination        = "${aws_cloudwatch_log_group.state_machine.arn}:*"
    include_execution_data = true
    level                  = "ALL"
  }

  tracing_configuration {
    enabled = true
  }

  encryption_configuration {
    type                              = "CUSTOMER_MANAGED_KMS_KEY"
    kms_key_id                        = var.kms_key_arn
    kms_data_key_reuse_period_seconds = 300
  }

  tags = var.tags

  depends_on = [aws_iam_role_policy.states]
}

# ---- EventBridge: schedules per tenant, and Partner Central events --------------------------------------------
data "aws_iam_policy_document" "events_trust" {
  statement {
    sid     = "EventBridgeService"
    effect  = "Allow"
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["events.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account]
    }
  }
}

data "aws_iam_policy_document" "events" {
  statement {
    sid       = "StartPipeline"
    effect    = "Allow"
    actions   = ["states:StartExecution"]
    resources = [local.state_machine_arn]
  }
}

resource "aws_iam_role" "events" {
  name                 = "${var.name_prefix}-pipeline-events"
  description          = "Lets EventBridge start the pipeline"
  assume_role_policy   = data.aws_iam_policy_document.events_trust.json
  max_session_duration = 3600
  tags                 = var.tags
}

resource "aws_iam_role_policy" "events" {
  name   = "start-pipeline"
  role   = aws_iam_role.events.id
  policy = data.aws_iam_policy_document.events.json
}

resource "aws_cloudwatch_event_rule" "tenant_schedule" {
  for_each            = var.tenant_schedules
  name                = "${var.name_prefix}-pipeline-${each.key}"
  description         = "Scheduled pipeline run for tenant ${each.key}"
  schedule_expression = each.value
  tags                = var.tags
}

resource "aws_cloudwatch_event_target" "tenant_schedule" {
  for_each = var.tenant_schedules
  rule     = aws_cloudwatch_event_rule.tenant_schedule[each.key].name
  arn      = aws_sfn_state_machine.pipeline.arn
  role_arn = aws_iam_role.events.arn
  input    = jsonencode({ tenants = [each.key], trigger = "schedule" })
}

resource "aws_cloudwatch_event_rule" "partner_central" {
  count       = length(var.partner_central_event_tenants) > 0 ? 1 : 0
  name        = "${var.name_prefix}-pipeline-partner-central-events"
  description = "Run the pipeline when Partner Central Selling emits an event"
  event_pattern = jsonencode(merge(
    { source = ["aws.partnercentral-selling"] },
    length(var.partner_central_event_detail_types) > 0 ? { "detail-type" = var.partner_central_event_detail_types } : {},
  ))
  tags = var.tags
}

resource "aws_cloudwatch_event_target" "partner_central" {
  count    = length(var.partner_central_event_tenants) > 0 ? 1 : 0
  rule     = aws_cloudwatch_event_rule.partner_central[0].name
  arn      = aws_sfn_state_machine.pipeline.arn
  role_arn = aws_iam_role.events.arn

  input_transformer {
    input_paths = {
      event_id    = "$.id"
      detail_type = "$.detail-type"
    }
    input_template = "{\"tenants\": ${jsonencode(var.partner_central_event_tenants)}, \"trigger\": {\"event_id\": <event_id>, \"detail_type\": <detail_type>}}"
  }
}

# ---- Alarms ---------------------------------------------------------------------------------------------------
resource "aws_cloudwatch_metric_alarm" "executions_failed" {
  alarm_name          = "${var.name_prefix}-pipeline-executions-failed"
  alarm_description   = "A pipeline execution failed; the failed tenants are in ${aws_sqs_queue.dlq.name}."
  namespace           = "AWS/States"
  metric_name         = "ExecutionsFailed"
  dimensions          = { StateMachineArn = aws_sfn_state_machine.pipeline.arn }
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = var.alarm_actions
  tags                = var.tags
}

resource "aws_cloudwatch_metric_alarm" "dlq_not_empty" {
  alarm_name          = "${var.name_prefix}-pipeline-dlq-not-empty"
  alarm_description   = "Failed tenant runs are waiting in the dead-letter queue."
  namespace           = "AWS/SQS"
  metric_name         = "ApproximateNumberOfMessagesVisible"
  dimensions          = { QueueName = aws_sqs_queue.dlq.name }
  statistic           = "Maximum"
  period              = 300
  evaluation_periods  = 1
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = var.alarm_actions
  tags                = var.tags
}
