data "aws_region" "current" {}

locals {
  # The job list comes from lakehouse/pipeline_steps.py (lakehouse.deploy.generate); do not edit it here.
  job_list = jsondecode(file("${path.module}/generated/glue_jobs.json"))
  jobs     = local.job_list.jobs

  manifest_path = "${var.bundle_dir}/manifest.json"
  manifest      = fileexists(local.manifest_path) ? jsondecode(file(local.manifest_path)) : null
  wheel_key     = local.manifest == null ? "glue/MISSING.whl" : "glue/${local.manifest.wheel}"
  s3            = "s3://${var.artifacts_bucket_name}"

  python_modules = local.manifest == null ? [] : local.manifest.python_modules
  default_arguments = {
    "--job-language"                     = "python"
    "--datalake-formats"                 = "delta"
    "--conf"                             = "spark.sql.extensions=io.delta.sql.DeltaSparkSessionExtension --conf spark.sql.catalog.spark_catalog=org.apache.spark.sql.delta.catalog.DeltaCatalog"
    "--additional-python-modules"        = join(",", concat(["${local.s3}/${local.wheel_key}"], local.python_modules))
    "--python-modules-installer-option"  = "--no-deps"
    "--TempDir"                          = "${local.s3}/tmp/"
    "--enable-metrics"                   = "true"
    "--enable-observability-metrics"     = "true"
    "--enable-continuous-cloudwatch-log" = "true"
    "--enable-spark-ui"                  = "true"
    "--spark-event-logs-path"            = "${local.s3}/spark-logs/"
    "--job-bookmark-option"              = "job-bookmark-disable"
    "--lakehouse_engine"                 = "classic"
    "--lakehouse_lake_root"              = var.lake_root
    "--lakehouse_environment"            = var.environment
    "--lakehouse_aws_region"             = data.aws_region.current.name
    "--lakehouse_pii_secret_arn"         = var.pii_secret_arn
  }
  role_arns = {
    pipeline = var.glue_job_role_arn
    metering = var.metering_job_role_arn
  }
  # Read by jobs/ingest_partner_central.py (--role-arn / --role_arn, --catalog).
  partner_central_arguments = {
    "--role_arn" = var.partner_central_role_arn
    "--catalog"  = var.partner_central_catalog
  }
}

# Fails the plan with a useful message when `lakehouse package` has not been run.
resource "terraform_data" "bundle_check" {
  input = local.manifest_path

  lifecycle {
    precondition {
      condition     = local.manifest != null
      error_message = "No Glue bundle at ${var.bundle_dir}: run `lakehouse package --out ${var.bundle_dir}` first."
    }
    precondition {
      condition     = local.manifest == null ? true : alltrue([for name, job in local.jobs : contains(keys(local.manifest.scripts), name)])
      error_message = "The Glue bundle is older than the pipeline steps: run `lakehouse package` again."
    }
  }
}

# ---- Bundle upload ---------------------------------------------------------------------------------------
resource "aws_s3_object" "wheel" {
  count       = local.manifest == null ? 0 : 1
  bucket      = var.artifacts_bucket_name
  key         = local.wheel_key
  source      = "${var.bundle_dir}/${local.manifest.wheel}"
  source_hash = filemd5("${var.bundle_dir}/${local.manifest.wheel}")
  kms_key_id  = var.kms_key_arn
  tags        = var.tags
}

resource "aws_s3_object" "script" {
  for_each    = local.manifest == null ? {} : local.jobs
  bucket      = var.artifacts_bucket_name
  key         = "glue/jobs/${each.value.script_file}"
  source      = "${var.bundle_dir}/jobs/${each.value.script_file}"
  source_hash = filemd5("${var.bundle_dir}/jobs/${each.value.script_file}")
  kms_key_id  = var.kms_key_arn
  tags        = var.tags
}

# ---- Encryption and network ----------------------------------------------------------------------------
resource "aws_glue_security_configuration" "this" {
  name = "${var.name_prefix}-jobs"

  encryption_configuration {
    s3_encryption {
      s3_encryption_mode = "SSE-KMS"
      kms_key_arn        = var.kms_key_arn
    }
    cloudwatch_encryption {
      cloudwatch_encryption_mode = "SSE-KMS"
      kms_key_arn                = var.kms_key_arn
    }
    job_bookmarks_encryption {
      job_bookmarks_encryption_mode = "CSE-KMS"
      kms_key_arn                   = var.kms_key_arn
    }
  }
}

resource "aws_glue_connection" "network" {
  count           = length(var.subnet_ids)
  name            = "${var.name_prefix}-network-${count.index}"
  connection_type = "NETWORK"

  physical_connection_requirements {
    availability_zone      = var.subnet_azs[count.index]
    subnet_id              = var.subnet_ids[count.index]
    security_group_id_list = [var.security_group_id]
  }

  tags = var.tags
}

# ---- One Glue 5.1 job per pipeline step --------------------------------------------------------------------
resource "aws_glue_job" "step" {
  for_each = local.jobs

  name                   = "${var.name_prefix}-${each.key}"
  description            = "${each.value.layer}: ${each.value.description}"
  role_arn               = local.role_arns[each.value.iam_role]
  glue_version           = "5.1"
  worker_type            = each.value.worker_type
  number_of_workers      = each.value.number_of_workers
  timeout                = each.value.timeout_minutes
  max_retries            = 0 # Step Functions retries; a Glue-level retry would double them
  security_configuration = aws_glue_security_configuration.this.name
  connections            = aws_glue_connection.network[*].name

  command {
    name            = "glueetl"
    python_version  = "3"
    script_location = "${local.s3}/glue/${each.value.script}"
  }

  execution_property {
    max_concurrent_runs = local.job_list.max_concurrent_runs
  }

  # Extra and per-job arguments (pipeline_steps.py) first: they may add parameters but never override the
  # defaults (Delta, wheel, settings).
  default_arguments = merge(
    var.extra_default_arguments,
    each.value.arguments,
    local.default_arguments,
    each.value.needs_partner_central ? local.partner_central_arguments : {},
  )

  tags = merge(var.tags, { PipelineStep = each.key, Layer = each.value.layer, Schedule = coalesce(each.value.schedule, "state-machine") })

  depends_on = [terraform_data.bundle_check, aws_s3_object.script, aws_s3_object.wheel]
}
