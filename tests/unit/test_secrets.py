"""Production secret policy and secrets from AWS Secrets Manager (moto): rotation picked up, AWSPREVIOUS
accepted for JWTs during the rotation window, weak or missing secrets refuse the start naming which."""

from __future__ import annotations

import re
import secrets
from datetime import UTC, datetime, timedelta

import boto3
import pytest
from moto import mock_aws
from pydantic import ValidationError

from control_plane.auth import tokens
from control_plane.settings import ControlPlaneSettings
from lakehouse.errors import BadInput
from lakehouse.secrets import SecretsManagerSource, WeakSecret, check_production_secret, default_source
from lakehouse.settings import Settings, get_settings

DEV_PII = "lakehouse-development-pii-secret-do-not-use-in-production"


def _cp(tmp_path, **values):
    base = {
        "lake_root": str(tmp_path),
        "database_url": f"sqlite:///{tmp_path}/cp.db",
        "environment": "production",
    }
    return ControlPlaneSettings(**{**base, **values})


@pytest.mark.parametrize(
    "value,why",
    [
        ("x" * 32, "repeated"),
        ("ab" * 24, "repeated"),
        ("x", "fewer than 32"),
        (DEV_PII, "published development"),
        ("changeme", "published development"),
        ("aaaaaaaaaaaaaaaabbbbbbbbbbbbbbbbcccccccc", "entropy"),
    ],
)
def test_the_policy_refuses_weak_secrets_naming_the_secret_and_why(value, why):
    with pytest.raises(WeakSecret, match=why) as raised:
        check_production_secret("LAKEHOUSE_JWT_SECRET", value)
    assert "LAKEHOUSE_JWT_SECRET" in str(raised.value)


@pytest.mark.parametrize(
    "make",
    [lambda: secrets.token_urlsafe(48), lambda: secrets.token_hex(16), lambda: secrets.token_hex(32)],
    ids=["token_urlsafe(48)", "token_hex(16)", "token_hex(32)"],
)
def test_the_policy_accepts_generated_secrets(make):
    value = make()
    assert check_production_secret("s", value) == value


def test_production_control_plane_refuses_weak_jwt_secret_and_bootstrap_key(tmp_path):
    with pytest.raises(
        ValidationError, match=r"LAKEHOUSE_JWT_SECRET is not acceptable in production: .*repeated"
    ):
        _cp(tmp_path, jwt_secret="x" * 32)
    with pytest.raises(
        ValidationError, match="LAKEHOUSE_JWT_SECRET \\(or LAKEHOUSE_JWT_SECRET_ARN\\) is required"
    ):
        _cp(tmp_path)
    strong = secrets.token_urlsafe(48)
    with pytest.raises(
        ValidationError, match="LAKEHOUSE_BOOTSTRAP_ADMIN_KEY is not acceptable in production"
    ):
        _cp(tmp_path, jwt_secret=strong, bootstrap_admin_key="lh._platform.k1.x")
    ok = _cp(tmp_path, jwt_secret=strong, bootstrap_admin_key=f"lh._platform.k1.{secrets.token_urlsafe(32)}")
    assert ok.jwt_secrets() == [strong]
    # Outside production weak values are tolerated (tests and local development).
    assert _cp(tmp_path, environment="test", jwt_secret="x" * 32).jwt_secrets() == ["x" * 32]


def test_production_spine_refuses_the_published_development_pii_secret(tmp_path, monkeypatch):
    with pytest.raises(ValidationError, match="LAKEHOUSE_PII_SECRET is not acceptable in production"):
        Settings(environment="production", pii_secret=DEV_PII)
    monkeypatch.setenv("LAKEHOUSE_ENVIRONMENT", "production")
    monkeypatch.delenv("LAKEHOUSE_PII_SECRET", raising=False)
    monkeypatch.delenv("LAKEHOUSE_PII_SECRET_ARN", raising=False)
    get_settings.cache_clear()
    try:
        from lakehouse.privacy import default_key_provider

        with pytest.raises(BadInput, match="must be set in production"):
            default_key_provider()
        monkeypatch.setenv("LAKEHOUSE_PII_SECRET", "z" * 40)
        get_settings.cache_clear()
        with pytest.raises(ValidationError, match="LAKEHOUSE_PII_SECRET is not acceptable"):
            get_settings()
    finally:
        get_settings.cache_clear()


# ------------------------------------------------------------------------------------------ Secrets Manager


@pytest.fixture
def sm(monkeypatch):
    """A moto Secrets Manager in us-east-1 (fake credentials, no endpoint override); fresh secret cache."""
    for name in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_SECRETS_MANAGER", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    with mock_aws():
        default_source().clear()
        yield boto3.client("secretsmanager", region_name="us-east-1")
        default_source().clear()


def test_the_source_caches_for_its_ttl_then_picks_up_a_rotation(sm):
    first, second = secrets.token_urlsafe(48), secrets.token_urlsafe(48)
    arn = sm.create_secret(Name="lakehouse/jwt", SecretString=first)["ARN"]
    now = [0.0]
    source = SecretsManagerSource(ttl_seconds=60, clock=lambda: now[0])
    assert source.current(arn) == first
    sm.put_secret_value(SecretId=arn, SecretString=second)
    now[0] = 59.0
    assert source.current(arn) == first  # still cached
    now[0] = 61.0
    assert source.current(arn) == second
    previous = source.version(arn, "AWSPREVIOUS")
    assert previous is not None and previous.value == first


def test_jwt_secret_from_secrets_manager_accepts_the_previous_version_during_the_rotation_window(
    sm, tmp_path
):
    old, new = secrets.token_urlsafe(48), secrets.token_urlsafe(48)
    arn = sm.create_secret(Name="lakehouse/jwt-rotating", SecretString=old)["ARN"]
    settings = _cp(tmp_path, jwt_secret_arn=arn, jwt_rotation_window_seconds=3600)
    assert settings.jwt_secrets() == [old]
    token, _ = tokens.issue(
        settings, subject="key:abc", tenant_id=None, role="platform_admin", signing_key_id=None
    )
    tenant_token, _ = tokens.issue(
        settings, subject="u1", tenant_id="acme", role="viewer", signing_key_id="sk1"
    )

    sm.put_secret_value(SecretId=arn, SecretString=new)
    default_source().clear()  # as if the cache TTL had passed
    assert settings.jwt_secrets() == [new, old]
    assert tokens.verify(settings, token).subject == "key:abc"
    assert tokens.verify(settings, tenant_token).signing_key_id == "sk1"
    fresh, _ = tokens.issue(
        settings, subject="key:def", tenant_id=None, role="platform_admin", signing_key_id=None
    )
    assert tokens.verify(settings, fresh).subject == "key:def"
    # New tokens are signed with the new secret: a verifier that only knows the old one refuses them.
    stale = _cp(tmp_path, jwt_secret=old)
    with pytest.raises(tokens.TokenError, match="invalid token"):
        tokens.verify(stale, fresh)

    # After the window only the current secret counts: tokens signed with the old one are refused.
    later = datetime.now(UTC) + timedelta(hours=2)
    assert settings.jwt_secrets(now=later) == [new]
    closed = settings.model_copy(update={"jwt_rotation_window_seconds": 0})
    with pytest.raises(tokens.TokenError, match="invalid token"):
        tokens.verify(closed, token)


def test_production_refuses_a_weak_or_missing_secret_in_secrets_manager(sm, tmp_path):
    weak = sm.create_secret(Name="lakehouse/jwt-weak", SecretString="x" * 32)["ARN"]
    with pytest.raises(
        ValidationError, match=re.escape(f"the JWT secret at {weak} is not acceptable in production")
    ):
        _cp(tmp_path, jwt_secret_arn=weak)
    missing = weak.replace("jwt-weak", "jwt-missing")
    with pytest.raises(LookupError, match="does not exist"):
        _cp(tmp_path, jwt_secret_arn=missing)


def test_glue_argument_lakehouse_pii_secret_arn_keys_the_pii_hashes(sm, monkeypatch):
    from lakehouse.jobs_runtime import parse_job_args
    from lakehouse.privacy import LocalKeyProvider, default_key_provider

    value = secrets.token_urlsafe(48)
    arn = sm.create_secret(Name="lakehouse/pii", SecretString=value)["ARN"]
    for name in ("LAKEHOUSE_PII_SECRET", "LAKEHOUSE_PII_SECRET_ARN", "LAKEHOUSE_ENVIRONMENT"):
        # setenv first: monkeypatch then restores the original state of a variable parse_job_args sets
        monkeypatch.setenv(name, "")
        monkeypatch.delenv(name)
    get_settings.cache_clear()
    try:
        ctx = parse_job_args(
            ["--JOB_NAME", "silver", "--tenant_id", "acme", "--lakehouse_pii_secret_arn", arn],
            job_name="silver",
        )
        assert ctx.settings.pii_secret_arn == arn
        assert default_key_provider().key_for("acme") == LocalKeyProvider(value.encode()).key_for("acme")
    finally:
        get_settings.cache_clear()
