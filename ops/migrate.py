"""Run every service's migrations: ``python -m ops.migrate`` (DATABASE_URL; the database is
created when missing)."""

import asyncio

from ops.services import SERVICES
from runtime.migrations import ensure_database, upgrade
from runtime.settings import ServiceSettings


def upgrade_all(database_url: str | None = None) -> list[str]:
    """Upgrade every service to its head revision; the names of the services migrated."""
    url = database_url or ServiceSettings().database_url
    asyncio.run(ensure_database(url))
    for service in SERVICES:
        upgrade(service.migrations, url)
    return [service.name for service in SERVICES]


if __name__ == "__main__":
    for name in upgrade_all():
        print(f"migrated {name}")
