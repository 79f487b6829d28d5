"""The engine every service uses: a failing statement's error never carries its parameters
(they are resumes, tokens, addresses), so a logged error cannot leak them."""

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from runtime.db import make_engine

SECRET = "Grace Hopper, +1 555 0100, grace@example.com"


async def test_an_error_names_the_statement_but_not_its_parameters(database_url: str) -> None:
    engine = make_engine(database_url, pool_size=1)
    try:
        async with engine.connect() as connection:
            with pytest.raises(DBAPIError) as raised:
                await connection.execute(text("SELECT CAST(:secret AS int)"),
                                         {"secret": SECRET})
    finally:
        await engine.dispose()
    assert "CAST" in str(raised.value)
    assert SECRET not in str(raised.value) and "grace@example.com" not in repr(raised.value)
