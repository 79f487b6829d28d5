"""Workers failing: a worker process killed mid-job (its job is redelivered and finished by
a restarted worker, and its TeX dies with it), and a message that keeps failing (it reaches
the dead-letter queue and its job is marked failed with the reason)."""

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import aio_pika
import httpx
import orjson
import pytest

from compile_service.settings import CompileSettings
from compile_service.worker import JOBS_CONSUMER
from contracts.topology import dead_letter_queue
from tests.conftest import AMQP_URL
from tests.integration.compile.conftest import (
    compile_client,
    create_resume,
    resume_document,
    run_dir_entries,
    unique,
    wait_for_job,
)

pytestmark = pytest.mark.usefixtures("amqp_url")  # the session's vhost

ROOT = Path(__file__).resolve().parents[3]


def start_worker(env: dict[str, Any]) -> subprocess.Popen[bytes]:
    variables = {key.upper(): str(value) for key, value in env.items()}
    return subprocess.Popen(
        [sys.executable, "-m", "compile_service.worker"], cwd=ROOT,
        env={**os.environ, **variables, "COMPILE_CONCURRENCY": "1"},
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


async def running_tex(client: httpx.AsyncClient, headers: dict[str, str], job_id: str,
                      worker_pid: int) -> list[int]:
    """The worker's TeX processes, once the job is recorded as running."""
    job = await wait_for_job(client, headers, job_id, wait=0)
    return children(worker_pid) if job["status"] == "running" else []


async def all_gone(pids: list[int]) -> bool:
    for pid in pids:
        try:
            os.kill(pid, 0)
            return False
        except ProcessLookupError:
            pass
    return True


async def until(condition: Any, timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := await condition():
            return value
        await asyncio.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


async def test_a_killed_workers_job_is_finished_by_a_restarted_worker(
        compile_env: dict[str, Any], resume_api: httpx.AsyncClient, as_user: Any,
        user_id: str) -> None:
    headers = as_user(user_id)
    settings = CompileSettings(**compile_env, compile_worker_in_app=False)
    async with compile_client(settings) as client:
        resume_id, version = await create_resume(resume_api, headers,
                                                 resume_document(unique("Crash")))
        posted = await client.post(f"/compile/{resume_id}", headers=headers,
                                   json={"version": version, "template": "slow"})
        job_id = posted.json()["job_id"]
        first = start_worker(compile_env)
        try:
            tex = await until(lambda: running_tex(client, headers, job_id, first.pid), 20,
                              "the first worker to run TeX")
            first.send_signal(signal.SIGKILL)
            first.wait(timeout=5)
        finally:
            first.kill()
        await until(lambda: all_gone(tex), 3, "TeX to die with its worker")
        assert (await wait_for_job(client, headers, job_id, wait=0))["status"] == "running"

        second = start_worker(compile_env)
        try:
            job = await wait_for_job(client, headers, job_id, wait=30)
        finally:
            second.terminate()
            second.wait(timeout=15)
    assert job["status"] == "succeeded", job
    assert job["attempts"] == 2
    assert run_dir_entries(compile_env["compile_work_dir"]) == []


async def dead_lettered(job_id: str) -> dict[str, Any] | None:
    """The dead-lettered message of `job_id` (acknowledged away), others left in place."""
    connection = await aio_pika.connect(AMQP_URL)
    try:
        channel = await connection.channel()
        queue = await channel.declare_queue(dead_letter_queue(JOBS_CONSUMER), passive=True)
        while (message := await queue.get(fail=False)) is not None:
            if orjson.loads(message.body)["stream_id"] == job_id:
                await message.ack()
                return dict(message.headers)
        return None  # closing the channel returns the others to the queue
    finally:
        await connection.close()


async def test_a_job_that_keeps_failing_is_dead_lettered_and_marked_failed(
        compile_env: dict[str, Any], resume_api: httpx.AsyncClient, as_user: Any,
        user_id: str) -> None:
    headers = as_user(user_id)
    broken = CompileSettings(**compile_env, pdflatex_path="/nonexistent/pdflatex")
    async with compile_client(broken) as client:
        resume_id, version = await create_resume(resume_api, headers,
                                                 resume_document(unique("Poison")))
        posted = await client.post(f"/compile/{resume_id}", headers=headers,
                                   json={"version": version})
        job = await wait_for_job(client, headers, posted.json()["job_id"], wait=30)
    assert job["status"] == "failed"
    assert job["attempts"] == broken.consumer_max_attempts
    assert "gave up after 5 attempts" in job["error"] and "not installed" in job["error"]
    headers_of_dead = await until(lambda: dead_lettered(job["job_id"]), 10,
                                  "the message in the dead-letter queue")
    assert "not installed" in str(headers_of_dead["x-error"])
