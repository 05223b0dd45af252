"""Guardrail configuration (env prefix ``LAKEHOUSE_``): cost rates, default quota limits, leases, approval TTL."""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from lakehouse.guardrails import (
    AGENT_TOKENS_PER_DAY,
    API_CALLS_PER_MINUTE,
    CONCURRENT_CONNECTOR_SYNCS,
    CONCURRENT_PIPELINE_RUNS,
    MONTHLY_BUDGET_USD,
    ROWS_INGESTED_PER_DAY,
)


class GuardrailSettings(BaseSettings):
    """Rates that turn usage into estimated USD, and the limits a tenant gets when no quota row says otherwise."""

    model_config = SettingsConfigDict(env_prefix="LAKEHOUSE_", extra="ignore")

    guardrails: Literal["auto", "enforce", "off"] = Field(
        "auto",
        description="auto: enforce for provisioned tenants; unprovisioned ones are refused in production "
        "and let through with a warning elsewhere. enforce: refuse unprovisioned tenants too.",
    )
    cost_rate_compute_second_usd: Decimal = Field(
        Decimal("0.0001"), ge=0, description="USD per compute second"
    )
    cost_rate_api_call_usd: Decimal = Field(Decimal("0.00001"), ge=0, description="USD per API call")
    cost_rate_row_ingested_usd: Decimal = Field(Decimal(0), ge=0, description="USD per row landed in bronze")
    # Bedrock on-demand prices of the agents' default model (Claude 3.5 Haiku: $0.80 / $4 per million tokens)
    cost_rate_model_input_token_usd: Decimal = Field(
        Decimal("0.0000008"), ge=0, description="USD per model input token"
    )
    cost_rate_model_output_token_usd: Decimal = Field(
        Decimal("0.000004"), ge=0, description="USD per model output token"
    )
    default_monthly_budget_usd: Decimal = Field(Decimal(100), ge=0)
    default_concurrent_pipeline_runs: int = Field(2, ge=0)
    default_concurrent_connector_syncs: int = Field(1, ge=0)
    default_rows_ingested_per_day: int = Field(5_000_000, ge=0)
    default_api_calls_per_minute: int = Field(600, ge=0)
    default_agent_tokens_per_day: int = Field(500_000, ge=0)
    budget_alert_thresholds: tuple[int, ...] = (80, 100)
    reservation_lease_seconds: int = Field(
        6 * 3600, ge=1, description="A crashed run's slot frees after this"
    )
    approval_ttl_hours: float = Field(24.0, gt=0, le=24 * 90, description="Default approval expiry")
    approval_execution_lease_seconds: int = Field(
        900, ge=1, description="An execution that stopped reporting this long ago may be taken over (crash)"
    )

    def rates(self) -> dict[str, Decimal]:
        """USD per unit of each ledger resource."""
        return {
            "compute_seconds": self.cost_rate_compute_second_usd,
            "api_calls": self.cost_rate_api_call_usd,
            "rows_ingested": self.cost_rate_row_ingested_usd,
            "model_input_tokens": self.cost_rate_model_input_token_usd,
            "model_output_tokens": self.cost_rate_model_output_token_usd,
        }

    def default_limits(self) -> dict[str, float]:
        """The guardrail quotas' limits when the tenant has no quota row for them."""
        return {
            CONCURRENT_PIPELINE_RUNS: float(self.default_concurrent_pipeline_runs),
            CONCURRENT_CONNECTOR_SYNCS: float(self.default_concurrent_connector_syncs),
            ROWS_INGESTED_PER_DAY: float(self.default_rows_ingested_per_day),
            API_CALLS_PER_MINUTE: float(self.default_api_calls_per_minute),
            MONTHLY_BUDGET_USD: float(self.default_monthly_budget_usd),
            AGENT_TOKENS_PER_DAY: float(self.default_agent_tokens_per_day),
        }
