data "aws_caller_identity" "current" {}

locals {
  runs = {
    for pair in setproduct(keys(var.scheduled_jobs), var.tenants) : "${pair[0]}-${pair[1]}" => {
      job    = pair[0]
      tenant = pair[1]
    }
  }
  # Space-delimited pattern over the summary line jobs/metering_hourly.py prints (MeteringResult.summary):
  # "tenant T: N record(s) over H hour(s); A new, S sent, K already sent, D dead-lettered, P still pending; ..."
  # tests/infra/test_metering_deploy.py matches it against the real summary() output.
  dead_lettered_pattern = "[w1=tenant, tenant, records, w4=\"record(s)\", w5=over, hours, w7=\"hour(s);\", new, w9=\"new,\", sent, w11=\"sent,\", already, w13=already, w14=\"sent,\", dead_lettered, w16=\"dead-lettered,\", ...]"
}

# ---- EventBridge Scheduler: one schedule per scheduled job and tenant --------------------------------------
resource "aws_scheduler_schedule_group" "jobs" {
  name = "${var.name_prefix}-jobs"
  tags = var.tags
}

data "aws_iam_policy_document" "scheduler_trust" {
  statement {
    sid     = "EventBridgeScheduler"
    effect  = "Allow"
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["scheduler.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [data.aws_caller_identity.current.account_id]
    }
  }
}

data "aws_iam_policy_document" "scheduler" {
  statement {
    sid       = "StartScheduledGlueJobs"
    effect    = "Allow"
    actions   = ["glue:StartJobRun"]
    resources = [for job in values(var.scheduled_jobs) : job.job_arn]
  }

  # Schedules are encrypted with the platform key; the scheduler decrypts them with this role.
  statement {
    sid       = "DecryptSchedules"
    effect    = "Allow"
    actions   = ["kms:Decrypt"]
    resources = [var.kms_key_arn]
  }
}

resource "aws_iam_role" "scheduler" {
  name                 = "${var.name_prefix}-job-scheduler"
  description          = "Lets EventBridge Scheduler start the scheduled Glue jobs"
  assume_role_policy   = data.aws_iam_policy_document.scheduler_trust.json
  max_session_duration = 3600
  tags                 = var.tags
}

resource "aws_iam_role_policy" "scheduler" {
  name   = "start-scheduled-jobs"
  role   = aws_iam_role.scheduler.id
  policy = data.aws_iam_policy_document.scheduler.json
}

resource "aws_scheduler_schedule" "job" {
  for_each    = local.runs
  name        = each.key
  group_name  = aws_scheduler_schedule_group.jobs.name
  description = "${each.value.job} for tenant ${each.value.tenant}"
  kms_key_arn = var.kms_key_arn

  schedule_expression          = var.scheduled_jobs[each.value.job].schedule
  schedule_expression_timezone = "UTC"

  flexible_time_window {
    mode = "OFF"
  }

  target {
    arn      = "arn:aws:scheduler:::aws-sdk:glue:startJobRun"
    role_arn = aws_iam_role.scheduler.arn
    input = jsonencode({
      JobName = var.scheduled_jobs[each.value.job].job_name
      Arguments = {
        "--tenant_id" = each.value.tenant
        "--run_id"    = "<aws.scheduler.execution-id>"
      }
    })
    retry_policy {
      maximum_retry_attempts       = 2
      maximum_event_age_in_seconds = 1800
    }
  }
}

# ---- Dead-lettered metering records: a metric from the job's summary line, and an alarm --------------------
resource "aws_cloudwatch_log_group" "metering_output" {
  name              = var.metering_output_log_group
  retention_in_days = var.log_retention_days
  kms_key_id        = var.kms_key_arn
  tags              = var.tags
}

resource "aws_cloudwatch_log_metric_filter" "metering_dead_lettered" {
  name           = "${var.name_prefix}-metering-dead-lettered"
  log_group_name = aws_cloudwatch_log_group.metering_output.name
  pattern        = local.dead_lettered_pattern

  metric_transformation {
    name          = "MeteringRecordsDeadLettered"
    namespace     = "Lakehouse/${var.name_prefix}"
    value         = "$dead_lettered"
    default_value = "0"
    unit          = "Count"
  }
}

resource "aws_cloudwatch_metric_alarm" "metering_dead_lettered" {
  alarm_name          = "${var.name_prefix}-metering-dead-lettered"
  alarm_description   = "Metering dead-lettered usage records: see silver.meter_usage_deadletter for the reasons."
  namespace           = "Lakehouse/${var.name_prefix}"
  metric_name         = "MeteringRecordsDeadLettered"
  statistic           = "Sum"
  period              = 3600
  evaluation_periods  = 1
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = var.alarm_actions
  tags                = var.tags
}
