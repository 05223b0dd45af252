"""The Bedrock models the code calls are exactly the ones Terraform lets it call."""

from __future__ import annotations

import re

from tests.infra.hcl import MODULES, module


def _policy_text(name: str) -> str:
    return (MODULES / name / "main.tf").read_text()


def test_the_glue_role_may_invoke_the_embedding_model_the_platinum_job_uses() -> None:
    from lakehouse.platinum.embedding import TITAN_V2_MODEL_ID

    text = _policy_text("iam")
    assert re.search(r'sid\s*=\s*"InvokeEmbeddingModel"', text)
    assert f"foundation-model/{TITAN_V2_MODEL_ID}" in text


def test_the_api_role_may_converse_with_every_approved_prompts_model_and_no_other() -> None:
    from lakehouse.agents.prompts import all_prompts

    approved = {p.model for p in all_prompts() if p.approval_status == "approved"}
    services = module(MODULES / "services")
    granted = set(services.variables["agent_model_ids"]["default"])
    assert approved, "no approved prompt: nothing to check"
    assert granted == approved, f"granted {sorted(granted)} but the approved prompts use {sorted(approved)}"
    assert re.search(r'sid\s*=\s*"ConverseWithAgentModels"', _policy_text("services"))
