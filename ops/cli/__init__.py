"""The operator CLI, installed as `rb` (pyproject: `rb = "ops.cli:app"`).

    rb events tail                      follow every service's event log
    rb events show STREAM               a stream's history, with what each event changed
    rb state STREAM --at N              a resume (or job) as it was at version N
    rb trace REQUEST_ID                 every stored event one request caused, across services
    rb projections rebuild SERVICE [NAME]   rebuild read models from the event store
    rb replay --to CONSUMER --from-position P [--type T] [--stream S]
    rb dlq list|show|retry|drop CONSUMER
    rb outbox status
    rb erasure USER_ID                  an account erasure's progress, per service

Database and broker come from DATABASE_URL and AMQP_URL (runtime.settings.ServiceSettings).
"""

import typer

from ops.cli.dlq import dlq_app
from ops.cli.erasure import erasure
from ops.cli.events import events_app, state, trace
from ops.cli.outbox import outbox_app
from ops.cli.projections import projections_app
from ops.cli.replay import replay

app = typer.Typer(name="rb", help="Operate the resume builder's event-sourced services.",
                  no_args_is_help=True, pretty_exceptions_enable=False)
app.add_typer(events_app, name="events")
app.add_typer(projections_app, name="projections")
app.add_typer(dlq_app, name="dlq")
app.add_typer(outbox_app, name="outbox")
app.command("state")(state)
app.command("trace")(trace)
app.command("replay")(replay)
app.command("erasure")(erasure)

__all__ = ["app"]
