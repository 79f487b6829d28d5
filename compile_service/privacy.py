"""What compile_service holds about a user, as files of their data export (issue #19; the
export worker, ops/export_worker.py, calls `export_entries`): every compile job with its
events and figures, each PDF a job of theirs produced (read from the artifact store in
chunks, once per content address) and its ATS report. Every query is by the owner.

Not exported again: `compile.resume_versions`, this service's copy of the resume versions
(the export has them from resume_service, every version)."""

from collections.abc import AsyncIterator, Callable
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from compile_service.artifacts import ArtifactStore
from compile_service.tables import event_tables, jobs
from runtime.archive import ArchiveEntry, json_entry, rows_as_dicts, stream_histories


async def export_entries(engine: AsyncEngine, store: ArtifactStore,
                         user_id: str) -> list[ArchiveEntry]:
    async with engine.connect() as connection:
        owned = rows_as_dicts(await connection.execute(
            select(jobs).where(jobs.c.owner_id == user_id).order_by(jobs.c.requested_at)))
        histories = await stream_histories(connection, event_tables,
                                           [job["job_id"] for job in owned])
    entries = [json_entry("compile/jobs.json", "every compile job: resume, version, "
                          "template, options, status, timings and its result (`artifact_key` "
                          "names its PDF in compile/pdfs/, `pages`, `overflow`)", owned),
               json_entry("compile/job_events.json", "each compile job's events, by job",
                          histories)]
    for key in _artifact_keys(owned):
        entries += await _artifact_entries(store, key)
    return entries


def _artifact_keys(owned: list[dict[str, Any]]) -> list[str]:
    """The PDFs of the succeeded jobs, each once (identical content has one address)."""
    keys = ((job["result"] or {}).get("artifact_key") for job in owned
            if job["status"] == "succeeded")
    return list(dict.fromkeys(key for key in keys if key))


async def _artifact_entries(store: ArtifactStore, key: str) -> list[ArchiveEntry]:
    """The PDF under `key` and its figures (the ATS report), those of them still stored (a
    PDF is derived data: one lost is compiled again on the next ask)."""
    found: list[ArchiveEntry] = []
    if await store.size(key) is not None:
        found.append(ArchiveEntry(f"compile/pdfs/{key}.pdf", "a PDF of a compile job of "
                                  "yours (compile/jobs.json: `result.artifact_key`)",
                                  chunks=_chunks_of(store, key), compress=False))
    figures: dict[str, Any] | None = await store.figures(key)
    if figures is not None:
        found.append(json_entry(f"compile/ats/{key}.json", "that PDF's figures: pages, "
                                "overflow and its ATS report (score, fields found and "
                                "missing, issues)", figures))
    return found


def _chunks_of(store: ArtifactStore, key: str) -> Callable[[], AsyncIterator[bytes]]:
    return lambda: store.chunks(key)
