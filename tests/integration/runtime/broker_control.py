"""Stopping and starting the local RabbitMQ node, for failure tests (127.0.0.1 only)."""

import asyncio
import shutil
import socket
import subprocess
import time


def rabbitmqctl(*args: str) -> None:
    tool = shutil.which("rabbitmqctl") or "/usr/sbin/rabbitmqctl"
    subprocess.run([tool, *args], check=True, capture_output=True, timeout=120)


def amqp_port_open(host: str = "127.0.0.1", port: int = 5672) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


async def restart_broker(down_seconds: float) -> None:
    """Stop the RabbitMQ application (durable queues and persistent messages survive),
    keep it down for a while, start it again and wait until it accepts connections."""
    await asyncio.to_thread(rabbitmqctl, "stop_app")
    await asyncio.sleep(down_seconds)
    await asyncio.to_thread(rabbitmqctl, "start_app")
    deadline = time.monotonic() + 60
    while not amqp_port_open():
        assert time.monotonic() < deadline, "RabbitMQ did not come back"
        await asyncio.sleep(0.2)
