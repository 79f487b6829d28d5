"""What every typesetting engine offers: a name, a fingerprint for content addresses, and
`compile(source) -> CompiledPdf`, raising CompileFailed (the user's source) or
EngineUnavailable (the operator's problem, worth a retry), and `close`. An engine that can tell also
reports the page count and, for a template meant for one page, how far it overflowed."""

from dataclasses import dataclass
from typing import Protocol


class CompileFailed(Exception):
    """The source did not compile; `str()` is a readable reason for the user."""


class EngineUnavailable(Exception):
    """The engine cannot run here (not installed): an operator problem, worth a retry."""


@dataclass(frozen=True)
class Overflow:
    """How far the content of a one-page template ran past its page: `extra_pages` pages
    after the first, and `past_pt` points of content below the first page's text area (as
    if the pages after it were glued under it). Both zero when it fits."""

    overflowed: bool
    extra_pages: int = 0
    past_pt: float = 0.0


@dataclass(frozen=True)
class CompiledPdf:
    data: bytes
    engine_ms: int
    pages: int | None = None  # None: the engine does not tell
    overflow: Overflow | None = None  # None: not a one-page template (or not told)


class Engine(Protocol):
    name: str

    def fingerprint(self) -> str:
        """What identifies this engine's output in content addresses."""
        ...

    async def compile(self, source: str) -> CompiledPdf:
        """The PDF of `source`; raises CompileFailed or EngineUnavailable."""
        ...

    async def warm_up(self) -> None:
        """Get ready before the first job (fonts, templates), so that job does not pay it."""
        ...

    def close(self) -> None:
        """Let go of what the engine keeps between jobs (threads, files)."""
        ...
