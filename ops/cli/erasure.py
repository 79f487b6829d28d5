"""`erasure USER_ID`: an account erasure's progress, per service, as auth_service records it
(`auth.erasures`, `auth.erasure_progress`: each service's ErasureCompleted)."""

from typing import Annotated, Any

import typer
from rich.table import Table
from sqlalchemy import text

from contracts.topology import ERASING_SERVICES
from ops.cli.common import CliError, database, out, print_json, run


def erasure(user_id: str, json_out: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Each erasure of the user's account, and which services are done with it."""
    report = run(_erasures(user_id))
    if json_out:
        print_json(report)
        return
    for one in report:
        table = Table(title=f"erasure {one['erasure_id']} of {user_id}: {one['status']} "
                            f"(asked {one['requested_at']:%Y-%m-%d %H:%M:%S})")
        table.add_column("service")
        table.add_column("completed at")
        for service in one["services"]:
            done = service["completed_at"]
            table.add_row(service["service"], f"{done:%Y-%m-%d %H:%M:%S.%f}"[:-3] if done
                          else "[yellow]pending[/]")
        out().print(table)


async def _erasures(user_id: str) -> list[dict[str, Any]]:
    async with database() as engine, engine.connect() as conn:
        asked = (await conn.execute(text(
            "SELECT erasure_id, requested_at FROM auth.erasures WHERE user_id = :user_id "
            "ORDER BY requested_at"), {"user_id": user_id})).all()
        if not asked:
            raise CliError(f"no erasure of user {user_id}")
        report = []
        for erasure_id, requested_at in asked:
            done: dict[str, Any] = dict((await conn.execute(text(
                "SELECT service, completed_at FROM auth.erasure_progress "
                "WHERE erasure_id = :erasure_id"), {"erasure_id": erasure_id})).all())
            services = [{"service": name, "completed_at": done.get(name)}
                        for name in ERASING_SERVICES]
            report.append({"erasure_id": erasure_id, "requested_at": requested_at,
                           "status": "erased" if all(done.get(n) for n in ERASING_SERVICES)
                           else "erasing", "services": services})
    return report
