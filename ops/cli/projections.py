"""`projections list|rebuild`: the read models each service hands over in its registration
(runtime.registry, runtime.projection.Projection), and rebuilding them with a progress bar."""

import time
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table
from sqlalchemy.ext.asyncio import AsyncEngine

from ops.cli.common import CliError, database, out, run
from ops.cli.rebuild import DEFAULT_BATCH, Rebuilder, RebuildReport
from ops.services import UnknownService, registration
from runtime.projection import Projection

projections_app = typer.Typer(help="List and rebuild read models.", no_args_is_help=True)


def load_projections(service: str, name: str | None = None) -> tuple[str, list[Projection]]:
    """The service's schema (where checkpoints live) and its projections (or the named one)."""
    try:
        registered = registration(service)
    except UnknownService as exc:
        raise CliError(str(exc)) from None
    schema, projections = registered.schema, list(registered.projections)
    if name is None:
        return schema, projections
    chosen = [p for p in projections if p.name == name]
    if not chosen:
        raise CliError(f"{service} has no projection {name!r}; it has: "
                       f"{', '.join(p.name for p in projections) or 'none'}")
    return schema, chosen


@projections_app.command("list")
def list_projections(service: str) -> None:
    """A service's projections, their sources and their last rebuild checkpoint."""
    run(_list(service))


async def _list(service: str) -> None:
    schema, projections = load_projections(service)
    table = Table(title=f"projections of {service}")
    for column in ("name", "source", "event types", "last rebuild"):
        table.add_column(column)
    async with database() as engine:
        rebuilder = Rebuilder(engine, schema)
        for p in projections:
            checkpoint = await rebuilder.checkpoint(p.name)
            state = ("never" if checkpoint is None else "done" if checkpoint[1]
                     else f"interrupted at position {checkpoint[0]}")
            table.add_row(p.name, p.source_schema, ", ".join(sorted(p.event_types)), state)
    out().print(table)


@projections_app.command("rebuild")
def rebuild(
    service: Annotated[str, typer.Argument(help="e.g. resume_service")],
    name: Annotated[str | None, typer.Argument(help="One projection (default: all).")] = None,
    restart: Annotated[bool, typer.Option(
        help="Start from scratch even if an interrupted rebuild left a checkpoint.")] = False,
    batch_size: Annotated[int, typer.Option(min=1, max=20000)] = DEFAULT_BATCH,
) -> None:
    """Empty a projection and rebuild it from the event store, in log order. An interrupted
    rebuild continues from its checkpoint when run again."""
    run(_rebuild(service, name, restart, batch_size))


async def _rebuild(service: str, name: str | None, restart: bool, batch_size: int) -> None:
    schema, projections = load_projections(service, name)
    console = out()
    progress = Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
        TextColumn("{task.fields[rate]:>8,.0f} events/s"), TimeElapsedColumn(),
        TimeRemainingColumn(), console=console)
    async with database() as engine:
        with progress:
            for projection in projections:
                report = await _rebuild_one(engine, schema, projection, restart, batch_size,
                                            progress)
                _summarize(report, console)


async def _rebuild_one(engine: AsyncEngine, schema: str, projection: Projection,
                       restart: bool, batch_size: int, progress: Progress) -> RebuildReport:
    task: TaskID | None = None
    started = time.perf_counter()

    def on_start(report: RebuildReport) -> None:
        nonlocal task, started
        started = time.perf_counter()
        if report.resumed_from is not None:
            progress.console.print(f"{projection.name}: resuming an interrupted rebuild "
                                   f"after position {report.resumed_from}")
        task = progress.add_task(projection.name, total=report.total, rate=0.0)

    def on_batch(applied: int) -> None:
        assert task is not None
        done = progress.tasks[task].completed + applied
        progress.update(task, completed=done, rate=done / (time.perf_counter() - started))

    rebuilder = Rebuilder(engine, schema, batch_size, on_start, on_batch)
    return await rebuilder.rebuild(projection, restart)


def _summarize(report: RebuildReport, console: Console) -> None:
    console.print(f"[green]rebuilt[/] {report.projection}: {report.applied:,} events in "
                  f"{report.seconds:.2f} s ({report.rate:,.0f} events/s)")
