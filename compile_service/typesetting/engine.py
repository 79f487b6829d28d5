"""What every typesetting engine offers: a name, a fingerprint for content addresses, and
`compile(source) -> CompiledPdf`, raising CompileFailed (the user's source) or
EngineUnavailable (the operator's problem, worth a retry)."""

from dataclasses import dataclass
from typing import Protocol


class CompileFailed(Exception):
    """The source did not compile; `str()` is a readable reason for the user."""


class EngineUnavailable(Exception):
    """The engine cannot run here (not installed): an operator problem, worth a retry."""


@dataclass(frozen=True)
class CompiledPdf:
    data: bytes
    engine_ms: int


class Engine(Protocol):
    name: str

    def fingerprint(self) -> str:
        """What identifies this engine's output in content addresses."""
        ...

    async def compile(self, source: str) -> CompiledPdf:
        """The PDF of `source`; raises CompileFailed or EngineUnavailable."""
        ...
