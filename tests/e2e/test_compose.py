"""deploy/compose.yaml runs every process of the Procfile, as the Procfile runs it (command,
flags and the environment names it sets: a disagreement fails here); every process has an ops
listener of its own on its container's loopback, never published; the stack's secrets are
generated fresh (deploy/compose/env.sh), accepted by the production settings and never
committed. Fast and without an engine, but `docker compose config` where there is one
(make test-compose always runs it)."""

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from gateway.settings import GatewaySettings
from runtime.settings import ServiceSettings

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
COMPOSE = DEPLOY / "compose.yaml"
ENV_SCRIPT = DEPLOY / "compose" / "env.sh"
INFRA_SERVICES = {"postgres", "redis", "rabbitmq", "migrate"}
ASSIGNMENT = re.compile(r"^([A-Z_][A-Z0-9_]*)=(\S*)$")


def procfile_processes(text: str | None = None) -> dict[str, str]:
    lines = (text if text is not None else (ROOT / "Procfile").read_text()).splitlines()
    return {name.strip(): command.strip() for name, _, command in
            (line.partition(":") for line in lines if line and not line.startswith("#"))}


def compose_document(path: Path = COMPOSE) -> dict[str, Any]:
    return yaml.safe_load(path.read_text())  # type: ignore[no-any-return]


def compose_services() -> dict[str, dict[str, Any]]:
    return compose_document()["services"]  # type: ignore[no-any-return]


def split_procfile_command(command: str) -> tuple[dict[str, str], list[str]]:
    """The environment a Procfile line sets, and its command."""
    words, environment = command.split(), {}
    while words and (assigned := ASSIGNMENT.match(words[0])):
        environment[assigned.group(1)] = assigned.group(2)
        words.pop(0)
    return environment, words


def normalized(words: list[str]) -> list[str]:
    """A command without what differs by design: the venv's path, the address and port
    (loopback and a port per process locally; 0.0.0.0:8000 in each container)."""
    out: list[str] = []
    for word in words:
        if out and out[-1] in ("--host", "--port"):
            out.append("ADDRESS")
        else:
            out.append(word.removeprefix(".venv/bin/"))
    return out


def disagreements(procfile: dict[str, str], services: dict[str, dict[str, Any]]) -> list[str]:
    """How the compose file runs a Procfile process differently: missing, another command or
    flags, an environment name the Procfile sets that the service lacks or sets otherwise
    (OPS_PORT only needs to be there: a port per process locally, 9100 in each container)."""
    found = []
    for name, line in procfile.items():
        service = services.get(name)
        if service is None:
            found.append(f"{name}: no compose service")
            continue
        environment, command = split_procfile_command(line)
        if normalized(command) != normalized(service.get("command", [])):
            found.append(f"{name}: command {normalized(command)} != "
                         f"{normalized(service.get('command', []))}")
        composed = {key: str(value) for key, value in (service.get("environment") or {}).items()}
        for variable, value in environment.items():
            if variable not in composed:
                found.append(f"{name}: {variable} not in the service's environment")
            elif variable != "OPS_PORT" and composed[variable] != value:
                found.append(f"{name}: {variable}={composed[variable]}, Procfile {value}")
    return found


def test_compose_runs_every_procfile_process_as_the_procfile_does() -> None:
    assert disagreements(procfile_processes(), compose_services()) == []


def test_a_disagreement_in_command_flags_or_environment_is_found() -> None:
    services = compose_services()
    procfile = procfile_processes()
    assert disagreements({"nowhere": "python -m x"}, services) == ["nowhere: no compose service"]
    changed = {
        "compile_worker": procfile["compile_worker"].replace("compile_service.worker",
                                                              "compile_service.other"),
        "gateway": procfile["gateway"].replace(" --no-access-log", ""),
        "compile": procfile["compile"].replace("JOB_WORKER_IN_APP=false",
                                               "JOB_WORKER_IN_APP=true"),
        "auth": "NEW_SETTING=1 " + procfile["auth"],
    }
    found = disagreements(changed, services)
    assert [line.split(":")[0] for line in found] == ["compile_worker", "gateway", "compile",
                                                      "auth"], found
    assert "NEW_SETTING not in" in found[-1]


def test_app_services_wait_for_healthy_dependencies_and_migrations() -> None:
    for name, service in compose_services().items():
        assert "healthcheck" in service or name == "migrate", name
        if name in INFRA_SERVICES:
            continue
        conditions = {dep: spec["condition"] for dep, spec in service["depends_on"].items()}
        assert conditions["postgres"] == "service_healthy", name
        assert conditions["migrate"] == "service_completed_successfully", name


def test_the_local_override_builds_every_service_on_the_local_base() -> None:
    """Where public images cannot be pulled, a service missing from the override would be
    built FROM the public image, and the build fail."""
    local = compose_document(DEPLOY / "compose.local.yaml")["services"]
    assert set(local) == set(compose_services())
    for name, service in local.items():
        assert service["build"]["args"], name


def test_no_development_setting_and_artifacts_in_postgres() -> None:
    document = compose_document()
    assert set(document["volumes"]) == {"pgdata", "rabbitmqdata"}  # no local artifact dir
    for name, service in document["services"].items():
        if name in {"postgres", "redis", "rabbitmq"}:
            continue
        environment = service["environment"]
        assert environment["ENVIRONMENT"] == "production", name
        assert environment["ARTIFACT_STORE"] == "postgres", name
        assert not {"DEV_LOGIN_ENABLED", "COOKIE_SECURE", "INTERNAL_SECRET"} & set(environment)
        assert service["read_only"] is True and service["tmpfs"] == ["/tmp"], name


def test_every_procfile_process_has_an_ops_port_of_its_own() -> None:
    ops = {name: re.match(r"OPS_PORT=\$\{(\w+):-(\d+)\} ", command)
           for name, command in procfile_processes().items()}
    assert all(ops.values()), [name for name, match in ops.items() if not match]
    variables = {match.group(1) for match in ops.values() if match}
    defaults = {match.group(2) for match in ops.values() if match}
    assert len(variables) == len(defaults) == len(ops)


def test_ops_listeners_are_on_loopback_and_only_loopback_is_published() -> None:
    for name, service in compose_services().items():
        published = [str(p) for p in service.get("ports", [])]
        loopback = ("127.0.0.1:", "${GATEWAY_PUBLISH:-127.0.0.1:")
        assert all(p.startswith(loopback) for p in published), name
        if name in INFRA_SERVICES:
            continue
        assert service["environment"]["OPS_HOST"] == "127.0.0.1", name
        assert all(p.split(":")[-1] != service["environment"]["OPS_PORT"] for p in published)


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """deploy/compose/env.sh's files, written into a copy of deploy/."""
    copy = tmp_path_factory.mktemp("deploy")
    for name in ("compose.yaml", "compose.local.yaml"):
        shutil.copy(DEPLOY / name, copy / name)
    subprocess.run([str(ENV_SCRIPT), str(copy)], check=True, capture_output=True)
    return copy


def env_file(path: Path) -> dict[str, str]:
    lines = [line for line in path.read_text().splitlines() if line and line[0] != "#"]
    return dict(line.split("=", 1) for line in lines)


def test_the_secrets_are_fresh_accepted_in_production_and_never_committed(
        generated: Path, tmp_path: Path) -> None:
    tracked = subprocess.run(["git", "ls-files", "deploy"], cwd=ROOT, capture_output=True,
                             text=True, check=True).stdout.split()
    assert not {"deploy/compose.env", "deploy/gateway.env", "deploy/infra.env"} & set(tracked)
    services, gateway = env_file(generated / "compose.env"), env_file(generated / "gateway.env")
    infra = env_file(generated / "infra.env")
    assert "IDENTITY_SIGNING_KEY" not in services and set(gateway) == {"IDENTITY_SIGNING_KEY"}
    assert infra["POSTGRES_PASSWORD"] in services["DATABASE_URL"]
    assert infra["RABBITMQ_DEFAULT_PASS"] in services["AMQP_URL"]
    production = {"environment": "production", "internal_secret": services["INTERNAL_SECRET"],
                  "identity_public_key": services["IDENTITY_PUBLIC_KEY"]}
    ServiceSettings(**production)  # refuses placeholders and weak secrets
    GatewaySettings(**production, identity_signing_key=gateway["IDENTITY_SIGNING_KEY"])
    subprocess.run([str(ENV_SCRIPT), str(tmp_path)], check=True, capture_output=True)
    assert env_file(tmp_path / "compose.env")["INTERNAL_SECRET"] != services["INTERNAL_SECRET"]
    subprocess.run([str(ENV_SCRIPT), str(generated)], check=True, capture_output=True)
    assert env_file(generated / "compose.env") == services  # kept: written once


def test_only_the_gateway_gets_the_identity_signing_key() -> None:
    for name, service in compose_services().items():
        files = service.get("env_file", [])
        files = [files] if isinstance(files, str) else files
        assert ("gateway.env" in files) == (name == "gateway"), name


@pytest.mark.skipif(
    shutil.which("docker") is None or subprocess.run(
        ["docker", "compose", "version"], capture_output=True).returncode != 0,
    reason="no docker compose client on this machine (make test-compose installs one)")
def test_docker_compose_accepts_the_files(generated: Path) -> None:
    for files in (["compose.yaml"], ["compose.yaml", "compose.local.yaml"]):
        arguments = [part for name in files for part in ("-f", str(generated / name))]
        result = subprocess.run(["docker", "compose", *arguments, "config", "--quiet"],
                                capture_output=True, text=True)
        assert result.returncode == 0, result.stderr
