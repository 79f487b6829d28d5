"""What resume_service holds about a user, as files of their data export (issue #19; the
export worker, ops/export_worker.py, calls `export_entries`): every resume with its whole
event history (every version), the trash, the resumes that were imported, and the share
links with their statistics and events. Another user's rows are never read: every query
is by the owner."""

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from contracts.resume_events import ResumeCreated
from contracts.share_events import ShareViewed
from resume_service.domain import RESTORE_WINDOW
from resume_service.share_views import share_stats
from resume_service.tables import event_tables, resumes, shares
from runtime.archive import ArchiveEntry, json_entry, rows_as_dicts, stream_histories


async def export_entries(engine: AsyncEngine, user_id: str) -> list[ArchiveEntry]:
    async with engine.connect() as connection:
        owned = rows_as_dicts(await connection.execute(
            select(resumes).where(resumes.c.owner_id == user_id).order_by(resumes.c.created_at)))
        links = rows_as_dicts(await connection.execute(
            select(shares).where(shares.c.owner_id == user_id).order_by(shares.c.created_at)))
        histories = await stream_histories(connection, event_tables,
                                           [r["id"] for r in owned] + [s["id"] for s in links])
    entries = [entry for resume in owned for entry in _resume_files(resume, histories)]
    entries += [json_entry("resumes/trash.json", "the resumes deleted, each with the time "
                           "until which it can be undeleted (`restorable_until`)",
                           _trash(owned)),
                json_entry("resumes/imported.json", "the resumes made by an import, with "
                           "where each came from (`imported_from`: format, file, model)",
                           _imported(owned, histories))]
    entries.append(json_entry("shares/shares.json", "every share link (revoked ones too), "
                              "with its statistics: views, downloads, unique viewers, bots, "
                              "by UTC day and by resume version",
                              await _shares(engine, links)))
    entries += [json_entry(f"shares/{link['id']}/events.json", "the share link's events "
                           "(created, revoked, each recorded view; viewer hashes left out: "
                           "they are about the viewers)", _without_viewers(histories[link["id"]]))
                for link in links]
    return entries


def _resume_files(resume: dict[str, Any], histories: dict[str, list[dict[str, Any]]]
                  ) -> list[ArchiveEntry]:
    folder = f"resumes/{resume['id']}"
    return [json_entry(f"{folder}/resume.json", f"the resume \"{resume['title']}\" as it is "
                       "now (`deleted_at` set when it is in the trash)", resume),
            json_entry(f"{folder}/history.json", "its every event in order: each version "
                       "(`stream_version`) with the whole document it had",
                       histories[resume["id"]])]


def _trash(owned: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{"resume_id": r["id"], "title": r["title"], "deleted_at": r["deleted_at"],
             "restorable_until": r["deleted_at"] + RESTORE_WINDOW}
            for r in owned if r["deleted_at"] is not None]


def _imported(owned: list[dict[str, Any]], histories: dict[str, list[dict[str, Any]]]
              ) -> list[dict[str, Any]]:
    found = []
    for resume in owned:
        first = next(iter(histories[resume["id"]]), None)
        if (first and first["event_type"] == ResumeCreated.event_type
                and first["payload"].get("imported_from")):
            found.append({"resume_id": resume["id"], "created_at": first["occurred_at"],
                          "imported_from": first["payload"]["imported_from"]})
    return found


async def _shares(engine: AsyncEngine, links: list[dict[str, Any]]) -> list[dict[str, Any]]:
    stats = await share_stats(engine, [link["id"] for link in links])
    return [{**{k: v for k, v in link.items() if k != "password_hash"},
             "protected": link["password_hash"] is not None,
             "stats": stats[link["id"]].model_dump(mode="json")} for link in links]


def _without_viewers(history: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{**event, "payload": {k: v for k, v in event["payload"].items() if k != "viewer"}}
            if event["event_type"] == ShareViewed.event_type else event for event in history]
