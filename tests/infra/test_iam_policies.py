"""No IAM policy grants a wildcard action, or a "*" resource where the action could be scoped."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.infra import hcl
from tests.infra.hcl import MODULES, TERRAFORM, module, module_dirs, tf_files
from tests.infra.iam_rules import consumers, policy_problems


@pytest.mark.parametrize("directory", module_dirs(), ids=lambda p: str(p.relative_to(TERRAFORM)))
def test_policies_are_least_privilege(directory: Path) -> None:
    assert policy_problems(directory) == []


def test_every_policy_is_parseable_hcl_not_inline_json() -> None:
    for path in tf_files():
        text = path.read_text()
        for attr in ("policy", "assume_role_policy"):
            assert f"{attr} = jsonencode(" not in text.replace("  ", " "), (
                f"{path}: use aws_iam_policy_document"
            )
            assert f"{attr} = <<" not in text.replace("  ", " "), f"{path}: use aws_iam_policy_document"


def test_the_expected_roles_and_policies_exist() -> None:
    iam = module(MODULES / "iam")
    assert {name for (rtype, name) in iam.resources if rtype == "aws_iam_role"} == {
        "glue_job",
        "metering_job",
        "partner_central_read",
        "partner_central_write",
    }
    used = consumers(iam)
    assert used["glue_job"] == [("aws_iam_role_policy", "policy")] * 2  # the Glue role and the metering role
    assert used["marketplace_metering"] == [("aws_iam_role_policy", "policy")]
    assert used["partner_central_write_trust"] == [("aws_iam_role", "assume_role_policy")]
    linked = module(MODULES / "iam" / "tenant_linked_account")
    trust = linked.data[("aws_iam_policy_document", "trust")]["statement"][0]
    assert trust["condition"][0]["variable"] == "sts:ExternalId"
    assert trust["principals"][0]["identifiers"] == ["${var.platform_glue_role_arn}"]


def test_write_role_is_only_for_approved_actions() -> None:
    iam = module(MODULES / "iam")
    trust = iam.data[("aws_iam_policy_document", "partner_central_write_trust")]["statement"][0]
    assert trust["principals"][0]["identifiers"] == "${var.approved_action_principal_arns}"
    assert {(c["test"], c["variable"], tuple(c["values"])) for c in trust["condition"]} == {
        ("Null", "aws:RequestTag/approval_id", ("false",))
    }
    read = iam.data[("aws_iam_policy_document", "partner_central_read")]
    read_actions = [a for st in read["statement"] for a in iam.resolve(st["actions"])]
    assert read_actions and all(a.split(":")[1].startswith(("Get", "List", "Search")) for a in read_actions)


def test_every_bucket_is_the_hardened_bucket_module_with_the_lake_policy_merged() -> None:
    lake = module(MODULES / "lake")
    assert not [r for r in lake.resources if r[0].startswith("aws_s3_")], "buckets belong in modules/bucket"
    assert {call: args["source"] for call, args in lake.modules.items()} == dict.fromkeys(
        ("access_logs", "lake_bucket", "artifacts_bucket"), "../bucket"
    )
    assert lake.modules["lake_bucket"]["policy_documents"] == ["${data.aws_iam_policy_document.lake.json}"]
    assert lake.modules["access_logs"]["kms_key_arn"] is None
    assert all(
        lake.modules[b]["kms_key_arn"] == "${var.kms_key_arn}" for b in ("lake_bucket", "artifacts_bucket")
    )
    bucket = module(MODULES / "bucket")
    assert (
        bucket.data[("aws_iam_policy_document", "this")]["source_policy_documents"]
        == "${var.policy_documents}"
    )
    others = sorted(
        str(p.relative_to(TERRAFORM))
        for p in tf_files()
        if p.parent != MODULES / "bucket" and 'resource "aws_s3_bucket"' in p.read_text()
    )
    assert others == [], f"S3 buckets outside modules/bucket: {others}"


def test_lake_policy_enforces_tls_and_tenant_prefixes() -> None:
    lake = module(MODULES / "lake")
    doc = lake.data[("aws_iam_policy_document", "lake")]
    by_sid = {st["sid"]: st for st in doc["statement"]}
    bucket_doc = module(MODULES / "bucket").data[("aws_iam_policy_document", "this")]
    tls = {st["sid"]: st for st in bucket_doc["statement"]}["DenyInsecureTransport"]
    assert (tls["effect"], tls["condition"][0]["variable"], tls["condition"][0]["values"]) == (
        "Deny",
        "aws:SecureTransport",
        ["false"],
    )
    tenant = by_sid["TenantPrincipalsReadOnlyTheirPartitions"]
    assert tenant["effect"] == "Deny"
    assert tenant["condition"][0]["variable"] == "aws:PrincipalTag/tenant_id"
    assert "${local.lake_arn}/${var.lake_prefix}/*/tenant_id=${local.tenant_tag}/*" in tenant["not_resources"]
    assert lake.locals["tenant_tag"] == "$${aws:PrincipalTag/tenant_id}"
    assert by_sid["TenantPrincipalsNeverWrite"]["effect"] == "Deny"


def test_the_checker_catches_violations(tmp_path: Path) -> None:
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "main.tf").write_text("""
variable "actions" {
  type        = list(string)
  description = "Actions from a variable default."
  default     = ["s3:Get*"]
}
data "aws_iam_policy_document" "wide" {
  statement {
    actions   = ["s3:*"]
    resources = ["*"]
  }
  statement {
    actions   = var.actions
    resources = ["arn:aws:s3:::*"]
  }
  statement {
    actions   = ["cloudwatch:PutMetricData"]
    resources = ["*"]
  }
  statement {
    actions   = ["ec2:DescribeSubnets"]
    resources = ["*"]
    principals {
      type        = "AWS"
      identifiers = ["*"]
    }
  }
}
data "aws_iam_policy_document" "unused" {
  statement {
    actions   = ["s3:GetObject"]
    resources = ["arn:aws:s3:::b/k"]
  }
}
resource "aws_iam_role_policy" "p" {
  policy = data.aws_iam_policy_document.wide.json
}
resource "aws_iam_role_policy" "inline" {
  policy = jsonencode({ Statement = [] })
}
""")
    hcl.module.cache_clear()
    problems = policy_problems(bad)
    text = "\n".join(problems)
    assert "wildcard action(s) ['s3:*']" in text
    assert "s3:* on an unscoped resource" in text
    assert "wildcard action(s) ['s3:Get*']" in text
    assert "s3:Get* on an unscoped resource" in text
    assert "cloudwatch:PutMetricData on '*' needs a cloudwatch:namespace condition" in text
    assert "Allow to principal '*'" in text
    assert "bad/unused: policy document is not used" in text
    assert "aws_iam_role_policy.inline.policy is not an aws_iam_policy_document" in text
    assert len(problems) == 8, problems
