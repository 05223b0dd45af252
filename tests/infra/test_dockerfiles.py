"""The service images, read statically (no Docker daemon here): non-root, base pinned by a digest build-arg,
the wheel installed with the constraints, and health checks on the same routes and ports as the load balancer."""

from __future__ import annotations

import importlib.util
import re
import shlex
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.infra.hcl import MODULES, ROOT, module

DOCKER = ROOT / "docker"
SERVICES = MODULES / "services"


@dataclass(frozen=True)
class Instruction:
    """One Dockerfile instruction with its continuation lines joined."""

    keyword: str
    args: str


def instructions(path: Path) -> list[Instruction]:
    """The instructions of a Dockerfile, comments dropped and ``\\`` continuations joined."""
    out: list[Instruction] = []
    pending = ""
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        full = (pending + line).strip()
        pending = ""
        keyword, _, args = full.partition(" ")
        out.append(Instruction(keyword.upper(), args.strip()))
    return out


def problems(path: Path, *, port: int, health_path: str) -> list[str]:
    """What is wrong with one service Dockerfile, as readable messages (empty when it is right)."""
    found: list[str] = []
    steps = instructions(path)
    froms = [i for i in steps if i.keyword == "FROM"]
    if len(froms) != 1:
        found.append(f"{path.name}: expected one FROM, found {len(froms)}")
    else:
        first_from = steps.index(froms[0])
        args = {i.args.split("=", 1)[0]: i.args for i in steps[:first_from] if i.keyword == "ARG"}
        match = re.fullmatch(
            r"\$\{?([A-Z_]+)\}?@\$\{?([A-Z_]+)\}?(\s+AS\s+\w+)?", froms[0].args, re.IGNORECASE
        )
        if not match:
            found.append(f"{path.name}: FROM {froms[0].args!r} is not pinned as <image>@${{DIGEST_ARG}}")
        else:
            digest_arg = match.group(2)
            if digest_arg not in args:
                found.append(f"{path.name}: digest build-arg {digest_arg} is not declared before FROM")
            elif "=" in args[digest_arg]:
                found.append(
                    f"{path.name}: ARG {digest_arg} has a default; the digest must be passed at build time"
                )
    users = [i.args for i in steps if i.keyword == "USER"]
    if not users:
        found.append(f"{path.name}: no USER: the container would run as root")
    elif users[-1].split(":")[0] in ("root", "0"):
        found.append(f"{path.name}: last USER is {users[-1]!r} (root)")
    health = [i.args for i in steps if i.keyword == "HEALTHCHECK"]
    if not health:
        found.append(f"{path.name}: no HEALTHCHECK")
    elif not re.search(rf"127\.0\.0\.1:{port}{re.escape(health_path)}(?![\w/.-])", health[0]):
        found.append(f"{path.name}: HEALTHCHECK does not probe 127.0.0.1:{port}{health_path}: {health[0]}")
    if f"EXPOSE {port}" not in {f"{i.keyword} {i.args}" for i in steps}:
        found.append(f"{path.name}: does not EXPOSE {port}")
    installs = [i.args for i in steps if i.keyword == "RUN" and "pip install" in i.args]
    if not any("--constraint" in r and "constraints.txt" in r and ".whl" in r for r in installs):
        found.append(f"{path.name}: the wheel is not installed with --constraint constraints.txt")
    return found


def _service(name: str) -> tuple[int, str]:
    """(port, health path) the load balancer uses for a service (modules/services locals)."""
    mod = module(SERVICES)
    port_local = "api_port" if name == "api" else "ui_port"
    path_local = "api_health_path" if name == "api" else "ui_health_path"
    group = mod.resources[("aws_lb_target_group", name)]
    assert group["port"] == f"${{local.{port_local}}}"
    assert group["health_check"][0]["path"] == f"${{local.{path_local}}}"
    return int(mod.locals[port_local]), str(mod.locals[path_local])


@pytest.mark.parametrize("name", ["api", "dashboards"])
def test_service_dockerfile_is_pinned_non_root_and_checks_the_load_balancers_route(name: str) -> None:
    port, health_path = _service(name)
    assert problems(DOCKER / name / "Dockerfile", port=port, health_path=health_path) == []


def test_the_api_health_route_exists_in_the_app() -> None:
    _, health_path = _service("api")
    assert re.search(
        rf'@app\.get\(\s*"{re.escape(health_path)}"', (ROOT / "control_plane" / "app.py").read_text()
    )


def test_task_definitions_run_as_the_images_user_and_the_migration_script_is_in_the_image() -> None:
    mod = module(SERVICES)
    api_steps = instructions(DOCKER / "api" / "Dockerfile")
    user = [i.args for i in api_steps if i.keyword == "USER"][-1]
    assert mod.locals["hardening"]["user"] == user
    assert mod.locals["hardening"]["readonlyRootFilesystem"] is True
    copies = [shlex.split(i.args) for i in api_steps if i.keyword == "COPY"]
    assert ["docker/api/migrate.py", "/opt/lakehouse/migrate.py"] in copies
    migrate = mod.resources[("aws_ecs_task_definition", "migrate")]["container_definitions"]
    assert '"python", "/opt/lakehouse/migrate.py"' in migrate


def test_the_checker_catches_a_root_unpinned_image_without_health_check(tmp_path: Path) -> None:
    bad = tmp_path / "Dockerfile"
    bad.write_text(
        "ARG BASE_DIGEST=sha256:abc\nFROM python:3.11-slim\n# comment\nRUN pip install \\\n    app.whl\nUSER root\n"
    )
    assert problems(bad, port=8000, health_path="/health") == [
        "Dockerfile: FROM 'python:3.11-slim' is not pinned as <image>@${DIGEST_ARG}",
        "Dockerfile: last USER is 'root' (root)",
        "Dockerfile: no HEALTHCHECK",
        "Dockerfile: does not EXPOSE 8000",
        "Dockerfile: the wheel is not installed with --constraint constraints.txt",
    ]
    bad.write_text(
        "ARG IMAGE=python\nARG BASE_DIGEST=sha256:abc\nFROM ${IMAGE}@${BASE_DIGEST}\nUSER 10001\nEXPOSE 8000\n"
        "HEALTHCHECK CMD curl -f http://127.0.0.1:8000/healthz\n"
        "RUN pip install --constraint constraints.txt app.whl\n"
    )
    assert problems(bad, port=8000, health_path="/health") == [
        "Dockerfile: ARG BASE_DIGEST has a default; the digest must be passed at build time",
        "Dockerfile: HEALTHCHECK does not probe 127.0.0.1:8000/health: CMD curl -f http://127.0.0.1:8000/healthz",
    ]


def test_migration_url_quotes_the_owner_credentials() -> None:
    spec = importlib.util.spec_from_file_location("docker_api_migrate", DOCKER / "api" / "migrate.py")
    assert spec is not None and spec.loader is not None
    migrate = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(migrate)
    url = migrate.owner_url(
        {
            "DB_USERNAME": "owner",
            "DB_PASSWORD": "p@ss/w:rd#",
            "DB_HOST": "db.internal",
            "DB_NAME": "lakehouse",
        }
    )
    assert url == "postgresql://owner:p%40ss%2Fw%3Ard%23@db.internal:5432/lakehouse?sslmode=require"
    with pytest.raises(SystemExit, match="DB_PASSWORD, DB_HOST"):
        migrate.owner_url({"DB_USERNAME": "owner", "DB_NAME": "lakehouse"})
