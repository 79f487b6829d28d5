"""The ATS round trip of each new PDF, made right after its job succeeded, off the path from
save to PDF (it costs about as much as a Typst render and a half: poppler reading the PDF
back). The report is a property of the PDF, so it is stored with its figures, beside it in
the artifact store (its content key), and a job's view reads it from there.

A report not there a moment after its job succeeded was lost with the process that was
making it: the next read of the job makes it then (`AtsReports.of`), so every succeeded job
comes to have one."""

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any, Literal

from compile_service import ats
from compile_service.artifacts import ArtifactStore, read_whole
from contracts.resume import ResumeDocument

log = logging.getLogger(__name__)

MADE_WITHIN_SECONDS = 10.0  # after its job succeeded; past it, a missing report is remade
AtsStatus = Literal["ready", "pending", "unavailable"]


class AtsReports:
    def __init__(self, artifacts: ArtifactStore, poppler: ats.ReadyPoppler | None) -> None:
        self.artifacts, self.poppler = artifacts, poppler
        self._making: dict[str, asyncio.Task[dict[str, Any] | None]] = {}

    def start(self, key: str, pdf: bytes, document: ResumeDocument,
              figures: dict[str, Any]) -> None:
        """Make the report of the PDF under `key` (stored with `figures`) in the background."""
        if key not in self._making:
            task = asyncio.create_task(self._make(key, pdf, document, figures))
            self._making[key] = task
            task.add_done_callback(lambda _: self._making.pop(key, None))

    async def _make(self, key: str, pdf: bytes, document: ResumeDocument,
                    figures: dict[str, Any]) -> dict[str, Any] | None:
        """The report, stored with `figures`; None (stored as made) when the checker could
        not run."""
        try:
            report: dict[str, Any] | None = (await ats.check_async(
                pdf, document, ready=self.poppler)).model_dump(mode="json")
        except ats.AtsUnavailable as exc:
            log.warning("ATS check unavailable for %s: %s", key[:12], exc)
            report = None
        await self.artifacts.put_figures(key, {**figures, "ats": report, "ats_made": True})
        return report

    async def of(self, key: str, finished_at: float,
                 document: Callable[[], Awaitable[ResumeDocument | None]]
                 ) -> tuple[dict[str, Any] | None, AtsStatus]:
        """The report of the PDF under `key` and where it stands; made now when it should
        have been by then (`finished_at`, a Unix time) but is not."""
        if key in self._making:  # stored once made
            return None, "pending"
        figures = await self.artifacts.figures(key) or {}
        if figures.get("ats") is not None:
            return figures["ats"], "ready"
        if figures.get("ats_made"):
            return None, "unavailable"
        if time.time() - finished_at < MADE_WITHIN_SECONDS:
            return None, "pending"
        return await self._remade(key, figures, document)

    async def _remade(self, key: str, figures: dict[str, Any],
                      document: Callable[[], Awaitable[ResumeDocument | None]]
                      ) -> tuple[dict[str, Any] | None, AtsStatus]:
        shown, pdf = await document(), await read_whole(self.artifacts, key)
        if shown is None or pdf is None:
            return None, "unavailable"
        report = await self._make(key, pdf, shown, figures)
        return report, "ready" if report is not None else "unavailable"

    async def aclose(self, timeout: float = 5.0) -> None:
        """Let the reports being made finish (bounded), so a worker stopping loses none."""
        if self._making:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.gather(*self._making.values(),
                                                      return_exceptions=True), timeout)
