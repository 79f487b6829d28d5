"""A PostgreSQL cluster of a test's own, on a free loopback port, that the test may stop and
start again (the shared server must never go down under other tests). initdb refuses to
run as root, so the cluster belongs to the `postgres` OS user when we are root."""

import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

PG_BIN = Path(os.environ.get("PG_BIN", "/usr/lib/postgresql/15/bin"))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _as_postgres(*command: str) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else list(command)


@dataclass
class ThrowawayPostgres:
    data_dir: Path
    port: int

    @property
    def url(self) -> str:
        """A database of the cluster (runtime.migrations.upgrade_all creates it)."""
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/rb"

    def _pg_ctl(self, *args: str) -> None:
        subprocess.run(_as_postgres(str(PG_BIN / "pg_ctl"), "-D", str(self.data_dir), *args),
                       check=True, capture_output=True, timeout=60)

    def start(self) -> None:
        options = f"-p {self.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories="
        self._pg_ctl("start", "-w", "-l", str(self.data_dir / "server.log"), "-o", options)

    def stop(self, mode: str = "immediate") -> None:
        """By default like a crash: connections are cut, nothing waits for clients to finish
        (`mode="fast"`: what an operator's restart does, sessions ended, then a checkpoint)."""
        self._pg_ctl("stop", "-m", mode, "-w")


@contextmanager
def throwaway_postgres() -> Iterator[ThrowawayPostgres]:
    root = Path(tempfile.mkdtemp(prefix="rb-pg-"))
    data_dir = root / "data"
    try:
        if os.geteuid() == 0:
            shutil.chown(root, "postgres")
        subprocess.run(_as_postgres(str(PG_BIN / "initdb"), "-D", str(data_dir), "-U",
                                    "postgres", "--auth=trust", "--no-sync"),
                       check=True, capture_output=True, timeout=120)
        with (data_dir / "postgresql.conf").open("a") as conf:
            # no synchronous_commit = off: an immediate stop would lose the last commits
            conf.write("fsync = off\nfull_page_writes = off\n")
        cluster = ThrowawayPostgres(data_dir, free_port())
        cluster.start()
        try:
            yield cluster
        finally:
            try:
                cluster.stop()
            except subprocess.CalledProcessError:
                pass  # stopped already
    finally:
        shutil.rmtree(root, ignore_errors=True)
