"""The whole Procfile stack for a benchmark, started as `make up` starts it (honcho, every
process), on free loopback ports, with a database, a RabbitMQ vhost and a Redis db of its own,
so two trees (this one and an older commit's) can run side by side. It stops by itself: honcho
gets SIGTERM, and whatever of its process tree outlives the grace period gets SIGKILL.

Also: the CPU time of process groups, the stack's and the servers' (PostgreSQL, RabbitMQ,
Redis), read from /proc, exited children included (their parents' reaped time)."""

import asyncio
import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, urlsplit

import asyncpg

from bench.common import ROOT
from runtime.db import asyncpg_dsn
from runtime.wait_healthy import healthy
from tests.e2e.processes import process_tree, stop

PORTS = ("GATEWAY_PORT", "AUTH_PORT", "RESUME_PORT", "COMPILE_PORT", "AI_PORT", "LIVE_PORT")
OPS_PORTS = ("GATEWAY_OPS_PORT", "AUTH_OPS_PORT", "RESUME_OPS_PORT", "COMPILE_OPS_PORT",
             "AI_OPS_PORT", "COMPILE_WORKER_OPS_PORT", "AI_WORKER_OPS_PORT",
             "AUTH_RELAY_OPS_PORT", "RESUME_RELAY_OPS_PORT", "COMPILE_RELAY_OPS_PORT",
             "LIVE_OPS_PORT", "EXPORT_WORKER_OPS_PORT")
# the servers every stack shares, by the command names of their processes
SERVERS = {"postgres": ("postgres",), "rabbitmq": ("beam.smp", "erl_child_setup"),
           "redis": ("redis-server",)}
CLK_TCK = os.sysconf("SC_CLK_TCK")


def _stat(pid: int | str) -> list[str]:
    """The fields of /proc/PID/stat after the command name (field 3 is index 0)."""
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()


def _command(pid: int | str) -> str:
    return Path(f"/proc/{pid}/comm").read_text().strip()


def cpu_of(pid: int | str) -> float:
    """User + system CPU seconds of a process and of its children it has reaped."""
    fields = _stat(pid)
    return sum(int(fields[i]) for i in (11, 12, 13, 14)) / CLK_TCK


def _live_cpu(pid: int | str) -> float:
    fields = _stat(pid)
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def server_cpu() -> dict[str, float]:
    """CPU seconds so far of each shared server, every process of it (exited backends are in
    the postmaster's reaped time)."""
    totals = dict.fromkeys(SERVERS, 0.0)
    for entry in Path("/proc").glob("[0-9]*"):
        with contextlib.suppress(OSError, IndexError, ValueError):
            command = _command(entry.name)
            for server, commands in SERVERS.items():
                if command in commands:
                    parent = int(_stat(entry.name)[1])
                    parent_is_server = parent > 1 and _command(parent) in commands
                    # a live child counts itself; a root counts what it reaped, too
                    totals[server] += (_live_cpu(entry.name) if parent_is_server
                                       else cpu_of(entry.name))
    return totals


def free_ports(names: tuple[str, ...]) -> dict[str, int]:
    with contextlib.ExitStack() as held:
        ports = {}
        for name in names:
            sock = held.enter_context(contextlib.closing(socket.socket()))
            sock.bind(("127.0.0.1", 0))
            ports[name] = sock.getsockname()[1]
        return ports


def _env_file_values(path: Path) -> dict[str, str]:
    values = {}
    for line in path.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#") and "=" in line:
            name, _, value = line.partition("=")
            values[name.strip()] = value.strip()
    return values


def rabbitmqctl(*args: str) -> None:
    subprocess.run(["rabbitmqctl", "-q", *args], check=True, capture_output=True, timeout=60)


@dataclass
class Stack:
    name: str
    tree: Path
    env: dict[str, str]
    honcho_pid: int = 0
    log: Path | None = None

    def log_problems(self, lines: int = 30) -> str:
        """The stack's warning and error lines, the last `lines` of them."""
        if self.log is None or not self.log.exists():
            return ""
        text = self.log.read_text(errors="replace").splitlines()
        return "\n".join([line for line in text if '"level":"ERROR"' in line
                           or '"level":"WARNING"' in line or "Traceback" in line][-lines:])

    @property
    def gateway(self) -> str:
        return f"http://127.0.0.1:{self.env['GATEWAY_PORT']}"

    def processes(self) -> dict[str, list[int]]:
        """The processes of the stack by name: each Procfile process by its own (from its
        command line), and `honcho` for honcho and its log forwarders (one per process)."""
        named: dict[str, list[int]] = {"honcho": [self.honcho_pid]}
        for pid in process_tree(self.honcho_pid):
            with contextlib.suppress(OSError):
                args = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
                named.setdefault(_process_name(args), []).append(pid)
        return named

    def pid_of(self, name: str) -> int:
        return self.processes()[name][0]

    def cpu(self) -> dict[str, float]:
        """CPU seconds so far of every process of the stack, by name."""
        totals = {}
        for name, pids in self.processes().items():
            with contextlib.suppress(OSError):
                totals[name] = sum(_live_cpu(pid) for pid in pids)
        return totals


def _process_name(args: list[bytes]) -> str:
    """The Procfile name of a process, from what it runs."""
    text = [a.decode(errors="replace") for a in args]
    if text[0].endswith("/sh"):
        return "sh"
    if any(arg.endswith("/honcho") for arg in text[:2]):
        return "honcho"
    for arg in text:
        if arg.endswith(":create_app"):
            return arg.split(".", 1)[0].removesuffix("_service")
    if "-m" in text:
        module = text[text.index("-m") + 1]
        if module == "ops.relay":
            return f"{text[text.index('-m') + 2].removesuffix('_service')}_relay"
        if module.endswith(".worker"):
            return f"{module.split('.', 1)[0].removesuffix('_service')}_worker"
    return "other"


async def drop_databases(names: list[str]) -> None:
    """The bench stacks' databases (`rb_bench_<name>`) gone."""
    from runtime.settings import ServiceSettings
    base = asyncpg_dsn(ServiceSettings().database_url).rsplit("/", 1)[0]
    conn = await asyncpg.connect(f"{base}/postgres")
    try:
        for name in names:
            await conn.execute(f'DROP DATABASE IF EXISTS "rb_bench_{name}" WITH (FORCE)')
    finally:
        await conn.close()


def _database_url(base: str, name: str) -> str:
    return urlsplit(base)._replace(path=f"/{name}").geturl()


def _wait_up(stack: Stack, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 90
    procfile = (stack.tree / "Procfile").read_text()  # an older tree may have fewer
    pending = [f"http://127.0.0.1:{stack.env[p]}/healthz" for p in PORTS
               if f"${{{p}" in procfile]
    pending += [f"http://127.0.0.1:{stack.env[p]}/readyz" for p in OPS_PORTS
                if f"${{{p}" in procfile]
    while pending:
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"stack {stack.name} did not come up:\n"
                               + "\n".join(log.read_text(errors="replace").splitlines()[-30:]))
        pending = [url for url in pending if not healthy(url)]
        time.sleep(0.3)


@contextlib.contextmanager
def procfile_stack(name: str, tree: Path, workdir: Path, redis_db: int,
                   extra: dict[str, str] | None = None) -> Iterator[Stack]:
    """`tree`'s Procfile under honcho with `.env.example`'s settings (what `make up` copies
    to .env), on ports, a database (`rb_bench_<name>`, migrated by that tree), a vhost
    (`bench_<name>`) and a Redis db of its own."""
    base = _env_file_values(tree / ".env.example")
    ports = free_ports(PORTS + OPS_PORTS)
    amqp = urlsplit(base["AMQP_URL"])
    env = {
        **base, **{k: str(v) for k, v in ports.items()},
        **{f"{s}_SERVICE_URL": f"http://127.0.0.1:{ports[f'{s}_PORT']}"
           for s in ("AUTH", "RESUME", "COMPILE", "AI", "LIVE")},
        "DATABASE_URL": _database_url(base["DATABASE_URL"], f"rb_bench_{name}"),
        "AMQP_URL": amqp._replace(path="/" + quote(f"bench_{name}", safe="")).geturl(),
        "REDIS_URL": urlsplit(base["REDIS_URL"])._replace(path=f"/{redis_db}").geturl(),
        "ALLOWED_ORIGINS": f"http://127.0.0.1:{ports['GATEWAY_PORT']}",
        # the bench is one client per writer at full speed: no edge limit may stop it
        "RATE_LIMIT_PER_SESSION": "100000000", "RATE_LIMIT_PER_IP": "100000000",
        "ARTIFACTS_DIR": str(workdir / "artifacts"), "COMPILE_WORK_DIR": str(workdir / "tex"),
        "PYTHONUNBUFFERED": "1", **(extra or {}),
    }
    with contextlib.suppress(subprocess.CalledProcessError):
        rabbitmqctl("delete_vhost", f"bench_{name}")
    rabbitmqctl("add_vhost", f"bench_{name}")
    rabbitmqctl("set_permissions", "-p", f"bench_{name}", "guest", ".*", ".*", ".*")
    run = {**os.environ, **env, "PYTHONPATH": str(tree)}
    # an empty database each time: what an earlier run stored (PDFs, say) changes no figure
    asyncio.run(drop_databases([name]))
    subprocess.run([sys.executable, "-c", "from ops.migrate import upgrade_all; upgrade_all()"],
                   cwd=tree, env=run, check=True, capture_output=True)
    env_file, log = workdir / f"{name}.env", workdir / f"{name}.log"
    env_file.write_text("".join(f"{k}={v}\n" for k, v in env.items()))
    honcho = str(Path(sys.executable).parent / "honcho")
    venv = ROOT / ".venv"
    if tree != ROOT and not (tree / ".venv").exists():
        (tree / ".venv").symlink_to(venv)
    with log.open("wb") as sink:
        process = subprocess.Popen([honcho, "start", "-f", "Procfile", "-e", str(env_file),
                                    "--no-colour"], cwd=tree, env=run, stdout=sink,
                                   stderr=subprocess.STDOUT, start_new_session=True)
    stack = Stack(name, tree, env, process.pid, log)
    try:
        _wait_up(stack, process, log)
        yield stack
    finally:
        stop(process)
        with contextlib.suppress(subprocess.CalledProcessError):
            rabbitmqctl("delete_vhost", f"bench_{name}")
