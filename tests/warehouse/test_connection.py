"""Warehouse URLs: dialect, defaults, TLS, and errors that never echo the password."""

from __future__ import annotations

import pytest

from lakehouse.errors import BadInput
from lakehouse.warehouse.connection import (
    WarehouseNotConfigured,
    WarehouseSettings,
    WarehouseUrl,
    configured_url,
)


def test_a_redshift_url_defaults_to_port_5439_with_tls():
    url = WarehouseUrl.parse(
        "redshift://loader:p%40ss%2Fw@wg.123.us-east-1.redshift-serverless.amazonaws.com/dev"
    )
    assert url == WarehouseUrl(
        "redshift",
        "wg.123.us-east-1.redshift-serverless.amazonaws.com",
        5439,
        "dev",
        "loader",
        "p@ss/w",
        True,
    )


def test_a_local_postgresql_url_may_turn_tls_off():
    url = WarehouseUrl.parse("postgresql://loader:pw@127.0.0.1:6432/analytics?sslmode=disable")
    assert (url.dialect, url.port, url.database, url.ssl) == ("postgres", 6432, "analytics", False)
    assert WarehouseUrl.parse("postgres://u:pw@h/db").ssl is True


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("mysql://u:secret-pw@h/db", "scheme 'mysql'"),
        ("redshift://u:secret-pw@h:5439/", "needs a user, a host and a database"),
        ("redshift://u:secret-pw@h:5439/dev?sslmode=disable", "Redshift connections use TLS"),
    ],
)
def test_a_bad_url_is_refused_naming_the_problem_without_the_password(url, message):
    with pytest.raises(BadInput, match=message) as info:
        WarehouseUrl.parse(url)
    assert "secret-pw" not in str(info.value)


def test_no_configured_warehouse_says_which_setting_to_set(monkeypatch):
    monkeypatch.delenv("LAKEHOUSE_WAREHOUSE_URL", raising=False)
    with pytest.raises(WarehouseNotConfigured, match="LAKEHOUSE_WAREHOUSE_URL"):
        configured_url(WarehouseSettings())


def test_an_unreachable_warehouse_is_a_one_line_error_naming_where_not_the_password(lake, capsys):
    import socket

    from lakehouse.cli import main

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens once the socket is closed
    url = f"postgresql://loader:secret-pw@127.0.0.1:{port}/analytics?sslmode=disable"
    assert main(["warehouse", "sync", "--tenant", "acme", "--isolation", "pooled", "--url", url]) == 1
    err = capsys.readouterr().err
    assert f"cannot connect to the postgres warehouse at 127.0.0.1:{port}/analytics as loader" in err
    assert "secret-pw" not in err
