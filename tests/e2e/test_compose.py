"""deploy/compose.yaml is valid and runs every process of the Procfile; every process has an
ops listener of its own, never published on the host."""

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "deploy" / "compose.yaml"


def procfile_processes() -> dict[str, str]:
    lines = (ROOT / "Procfile").read_text().splitlines()
    return {name.strip(): command.strip() for name, _, command in
            (line.partition(":") for line in lines if line and not line.startswith("#"))}


def compose_services() -> dict[str, dict]:
    return yaml.safe_load(COMPOSE.read_text())["services"]


def test_every_procfile_process_has_a_compose_service() -> None:
    missing = set(procfile_processes()) - set(compose_services())
    assert not missing, f"no compose service for {sorted(missing)}"


def entry_point(command: str) -> str:
    """`pkg.app:create_app` of a uvicorn process, or what follows `-m`."""
    words = command.split()
    if "-m" in words:
        return " ".join(words[words.index("-m") + 1:])
    return next(word for word in words if word.endswith(":create_app"))


def test_compose_services_run_the_same_entry_points_as_the_procfile() -> None:
    services = compose_services()
    for name, command in procfile_processes().items():
        assert entry_point(command) in " ".join(services[name]["command"]), name


def test_app_services_wait_for_healthy_dependencies_and_migrations() -> None:
    for name, service in compose_services().items():
        if name in {"postgres", "redis", "rabbitmq", "migrate"}:
            assert "healthcheck" in service or name == "migrate"
            continue
        conditions = {dep: spec["condition"] for dep, spec in service["depends_on"].items()}
        assert conditions["postgres"] == "service_healthy", name
        assert conditions["migrate"] == "service_completed_successfully", name


def test_env_file_and_data_volumes_are_declared() -> None:
    document = yaml.safe_load(COMPOSE.read_text())
    assert (COMPOSE.parent / "compose.env").exists()
    assert {"pgdata", "artifacts"} <= set(document["volumes"])
    for name in ("compile", "compile_worker"):
        assert "artifacts:/data/artifacts" in document["services"][name]["volumes"]


INFRA_SERVICES = {"postgres", "redis", "rabbitmq", "migrate"}


def test_every_procfile_process_has_an_ops_port_of_its_own() -> None:
    ops = {name: re.match(r"OPS_PORT=\$\{(\w+):-(\d+)\} ", command)
           for name, command in procfile_processes().items()}
    assert all(ops.values()), [name for name, match in ops.items() if not match]
    variables = {match.group(1) for match in ops.values() if match}
    defaults = {match.group(2) for match in ops.values() if match}
    assert len(variables) == len(defaults) == len(ops)


def test_compose_ops_listeners_are_not_published_on_the_host() -> None:
    for name, service in compose_services().items():
        if name in INFRA_SERVICES:
            continue
        port = service["environment"]["OPS_PORT"]
        published = [p for p in service.get("ports", []) if str(p).split(":")[-1] == port]
        assert published == [], name


@pytest.mark.skipif(
    shutil.which("docker") is None or subprocess.run(
        ["docker", "compose", "version"], capture_output=True).returncode != 0,
    reason="no docker compose client on this machine")
def test_docker_compose_accepts_the_file() -> None:
    result = subprocess.run(["docker", "compose", "-f", str(COMPOSE), "config", "--quiet"],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_only_the_gateway_gets_the_identity_signing_key() -> None:
    assert "IDENTITY_SIGNING_KEY=" not in (COMPOSE.parent / "compose.env").read_text()
    assert "IDENTITY_SIGNING_KEY=" in (COMPOSE.parent / "gateway.env").read_text()
    for name, service in compose_services().items():
        files = service.get("env_file", [])
        files = [files] if isinstance(files, str) else files
        assert ("gateway.env" in files) == (name == "gateway"), name
