"""Fixtures of the operator CLI tests: the CLI run the way an operator runs it (Typer's
CliRunner, settings from the environment) but in a worker thread, so its own event loop
never disturbs the session loop of the async fixtures; a scratch database for the tests
that empty read models or count the whole outbox, so they never disturb other tests."""

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

import aio_pika
import pytest
from typer.testing import CliRunner, Result

from ops.cli import app
from resume_service.registration import REGISTRATION as RESUME
from runtime.migrations import ensure_database, upgrade
from tests.conftest import AMQP_URL, drop_database

Cli = Callable[..., Awaitable[Result]]


def cli_for(database_url: str, amqp_url: str = AMQP_URL) -> Cli:
    runner = CliRunner()
    env = {"DATABASE_URL": database_url, "AMQP_URL": amqp_url, "COLUMNS": "220"}

    async def invoke(*args: str) -> Result:
        return await asyncio.to_thread(lambda: runner.invoke(app, list(args), env=env))

    return invoke


@pytest.fixture(scope="session")
def cli(database_url: str, amqp_url: str) -> Cli:
    """`rb` against the shared test database."""
    return cli_for(database_url, amqp_url)


@pytest.fixture(scope="session")
def scratch_database_url(database_url: str) -> Iterator[str]:
    """A database of the CLI tests' own with resume_service's schema and no outbox relay,
    dropped at the end of the session."""
    url = f"{database_url}_cli"
    with ThreadPoolExecutor(1) as thread:  # asyncio.run off the thread of the session loop
        thread.submit(asyncio.run, ensure_database(url)).result()
        thread.submit(upgrade, RESUME.migrations, url).result()
    yield url
    with ThreadPoolExecutor(1) as thread:
        thread.submit(asyncio.run, drop_database(url)).result()


@pytest.fixture(scope="session")
def scratch_cli(scratch_database_url: str, amqp_url: str) -> Cli:
    return cli_for(scratch_database_url, amqp_url)


@pytest.fixture
def unique() -> str:
    return f"cli_test_{uuid.uuid4().hex[:12]}"


@pytest.fixture
async def amqp(amqp_url: str) -> AsyncIterator[aio_pika.abc.AbstractChannel]:
    connection = await aio_pika.connect(amqp_url)
    async with connection:
        yield await connection.channel()
