"""Tenant ids are matched whole: a trailing newline (``$`` matches before it) is not a valid tenant id."""

from __future__ import annotations

import pytest

from lakehouse.cli import main
from lakehouse.errors import BadInput
from lakehouse.tenancy import TenantScope, validate_tenant_id


@pytest.mark.parametrize("bad", ["ta\n", "ta\r\n", "\nta", "ta\x00", "Ta", "", "a" * 64])
def test_validate_tenant_id_refuses_anything_but_a_whole_identifier(bad):
    with pytest.raises(BadInput, match="invalid tenant id"):
        validate_tenant_id(bad)
    with pytest.raises(BadInput):
        TenantScope.for_tenant(bad)


def test_validate_tenant_id_accepts_identifiers():
    assert validate_tenant_id("ta") == "ta"
    assert validate_tenant_id("a" * 63) == "a" * 63


def test_cli_refuses_a_tenant_with_a_trailing_newline_before_touching_the_lake(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("LAKEHOUSE_LAKE_ROOT", str(tmp_path))
    from lakehouse.settings import get_settings

    get_settings.cache_clear()
    try:
        code = main(["pipeline", "run", "--tenant", "ta\n"])
    finally:
        get_settings.cache_clear()
    assert code == 2
    assert "invalid tenant id 'ta\\n'" in capsys.readouterr().err
    assert not any("tenant_id=ta" in str(p) for p in tmp_path.rglob("*"))
