"""The compile job: a job of the common lifecycle (runtime.jobs) whose input is one version
of a resume in one template, and whose result is the content address of its PDF. While a
job for exactly that source is queued or running, an identical request gets that job; once
it finished, a new request makes a new job (finished at once when the PDF is stored)."""

import orjson

from contracts.compile_events import CompileFinished, CompileRequested, CompileStarted
from runtime.jobs import JobKind


class VersionNotAvailable(Exception):
    """The version asked for has not reached this service's replica (yet)."""

    def __init__(self, current_version: int) -> None:
        super().__init__(f"the resume is at version {current_version}")
        self.current_version = current_version


class UnknownTemplate(Exception):
    """No template of that name."""


class InvalidOptions(ValueError):
    """Template options that are not declared or out of their bounds; `problems` names each."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


class UnsupportedLocale(ValueError):
    """A template that cannot show the resume's locale (its script, or its direction)."""

    def __init__(self, locale: str, template: str, why: str, able: list[str]) -> None:
        super().__init__(f"template {template} cannot show locale {locale}: {why}; templates "
                         f"that can: {', '.join(able) or 'none'}")
        self.locale, self.template, self.able = locale, template, able


def same_source(request: CompileRequested) -> str:
    """Resume, version, template, options and hidden contact fields; without options or
    hidden fields, the key of the jobs requested before they existed."""
    key = f"{request.resume_id}:{request.resume_version}:{request.template}"
    if request.options:
        key += ":" + orjson.dumps(request.options, option=orjson.OPT_SORT_KEYS).decode()
    if request.hidden:
        key += ":hidden=" + ",".join(sorted(request.hidden))
    return key


COMPILE_JOB = JobKind(
    name="compile", requested=CompileRequested, started=CompileStarted,
    finished=CompileFinished, reuse_key=same_source, reuse_succeeded=False,
    not_found_code="job_not_found", noun="compile job",
)
