"""Events of ai_service: ratings, and imports of resume files read by the model.

A rating job is one stream in the shape every job has (contracts.jobs): `RatingRequested`
opens it, `RatingStarted` follows each time a worker takes it, one `RatingFinished` closes it.
Streams written before that shape had `RatingCompleted` or `RatingFailed` as their last event,
and no start; they are read as `RatingFinished` (`AI_UPCASTERS`). The request names the exact
input (resume version and a hash of what the model is shown), the model and the prompt
version, which together decide whether a stored rating can be served again instead of paying
for a new one.

An import job (`ImportRequested`, `ImportStarted`, `ImportFinished`) reads the text of an
uploaded PDF or DOCX into a resume: the request carries the text extracted from the file
(never the file), its name and the SHA-256 of its bytes; the model answers an
`ImportedResume` (a schema Gemini's structured output can hold: objects, arrays, strings,
enums); a succeeded finish carries the `ResumeDocument` made from it and everything
resume_service needs to create that resume (`resume_service.imports` consumes it).
"""

from collections.abc import Callable
from typing import Annotated, Any, ClassVar, Literal, get_args

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints

from contracts.jobs import JobEvent, JobFinished, JobRequested, JobStarted
from contracts.resume import ResumeDocument, SectionKind

Score = Annotated[int, Field(ge=0, le=100)]
Remark = Annotated[str, StringConstraints(min_length=1, max_length=2000, strip_whitespace=True)]
Name = Annotated[str, StringConstraints(min_length=1, max_length=200, strip_whitespace=True)]


class SectionRating(BaseModel):
    """The score of one section of the resume, with the reason for it."""

    model_config = ConfigDict(frozen=True)

    section: Name = Field(description="The section's title as written in the resume.")
    score: Score = Field(description="0 (poor) to 100 (excellent).")
    comment: Remark = Field(description="Why the section earned this score.")


class Suggestion(BaseModel):
    """One concrete change, located in the resume."""

    model_config = ConfigDict(frozen=True)

    section: Name = Field(description="Title of the section it applies to.")
    item: Annotated[str, StringConstraints(max_length=200, strip_whitespace=True)] | None = Field(
        None, description="Title of the item inside that section, when it is about one item.")
    suggestion: Remark = Field(description="What to change, concretely.")


class Rating(BaseModel):
    """A resume's rating: what the model must return, validated before it is stored."""

    model_config = ConfigDict(frozen=True)

    overall_score: Score = Field(description="The resume as a whole, 0 to 100.")
    sections: list[SectionRating] = Field(min_length=1, max_length=40,
                                          description="A score and a comment per section.")
    strengths: list[Remark] = Field(min_length=1, max_length=20)
    weaknesses: list[Remark] = Field(max_length=20)
    suggestions: list[Suggestion] = Field(min_length=1, max_length=40)


ModelFailureCode = Literal["timeout", "invalid_output", "model_error", "model_rate_limited"]
MachineryFailureCode = Literal["gave_up", "stale", "cancelled"]  # runtime.jobs' own
FailureCode = Literal[ModelFailureCode, "resume_unavailable", MachineryFailureCode]
ImportFailureCode = Literal[ModelFailureCode, MachineryFailureCode]


class RatingRequested(JobRequested):
    """A user asked for a rating of one version of a resume; a worker will call the model."""

    event_type: ClassVar[str] = "RatingRequested"
    resume_version: int = Field(ge=1, description="The resume version to rate.")
    content_hash: str = Field(description="SHA-256 of exactly what the model is shown.")
    model: str = Field(description="The Gemini model that will rate it.")
    prompt_version: str = Field(description="Version of the instructions given to the model.")


class RatingStarted(JobStarted):
    event_type: ClassVar[str] = "RatingStarted"


class RatingFinished(JobFinished):
    """`succeeded`: the model's answer passed validation and `rating` is the result;
    `failed`: `error_code` and `error` say why."""

    event_type: ClassVar[str] = "RatingFinished"
    error_code: FailureCode | None = None
    rating: Rating | None = None
    model_calls: int = Field(0, ge=0, description="Calls made to the model, retries included.")


def _known_kind(value: object) -> object:
    """A section kind the model made up is a custom section."""
    return value if value in get_args(SectionKind) else "custom"


class ImportedLink(BaseModel):
    label: str = Field("", description="Text shown for the link, e.g. GitHub.")
    url: str = Field("", description="The address as written.")


class ImportedContact(BaseModel):
    name: str = ""
    label: str = Field("", description="The headline under the name, e.g. Backend Engineer.")
    email: str = ""
    phone: str = ""
    location: str = Field("", description="The location line as written.")
    url: str = Field("", description="Personal website.")
    links: list[ImportedLink] = Field(default_factory=list,
                                      description="Profiles and other links of the header.")


class ImportedItem(BaseModel):
    """One entry of a section; a field the resume does not show stays empty."""

    title: str = Field("", description="Role, degree, project, skill group or award.")
    subtitle: str = Field("", description="Organisation, school or publisher.")
    location: str = ""
    start_date: str = Field("", description="As written, e.g. 2021-03 or 2019.")
    end_date: str = Field("", description="As written, e.g. 2023 or present.")
    description: str = Field("", description="Running text of the entry.")
    bullets: list[str] = Field(default_factory=list, description="Its bullet points, each as "
                               "written, or the items of a list such as skills.")
    url: str = ""


class ImportedSection(BaseModel):
    title: str = Field(description="The section heading as written.")
    kind: Annotated[SectionKind, BeforeValidator(_known_kind)] = Field(
        description="What the section holds; custom when none fits.")
    items: list[ImportedItem] = Field(default_factory=list)


class ImportedResume(BaseModel):
    """What the model must answer for an import: the resume's content in the document's
    terms, with only the types Gemini's response schema supports. It is validated, then
    made into a `ResumeDocument` (ai_service.domain.imported_document)."""

    contact: ImportedContact = Field(default_factory=ImportedContact)
    sections: list[ImportedSection] = Field(default_factory=list, description="Every "
                                            "section, in order (a profile paragraph is a "
                                            "summary section).")


FileKind = Literal["pdf", "docx"]
FileName = Annotated[str, StringConstraints(min_length=1, max_length=255)]


class ImportRequested(JobRequested):
    """A user uploaded a resume file to import; a worker will ask the model to read it.
    `resume_id` is the resume the import will create."""

    event_type: ClassVar[str] = "ImportRequested"
    file_name: FileName = Field(description="The uploaded file's name, sanitised.")
    file_kind: FileKind = Field(description="What the file is, by its content.")
    file_bytes: int = Field(ge=1, description="Size of the uploaded file.")
    content_hash: str = Field(description="SHA-256 of the file's bytes.")
    text: str = Field(max_length=60_000, description="The text extracted from the file: what "
                      "the model is shown.")
    text_truncated: bool = Field(description="The file held more text than `text` keeps.")
    model: str = Field(description="The Gemini model that will read it.")
    prompt_version: str = Field(description="Version of the instructions given to the model.")


class ImportStarted(JobStarted):
    event_type: ClassVar[str] = "ImportStarted"


class ImportFinished(JobFinished):
    """`succeeded`: `document` is the resume read from the file, to be created as
    `resume_id` for `owner_id`, imported from `file_name` by `model`; `failed`:
    `error_code` and `error` say why."""

    event_type: ClassVar[str] = "ImportFinished"
    error_code: ImportFailureCode | None = None
    resume_id: str | None = Field(None, description="The resume to create.")
    owner_id: str | None = Field(None, description="Who it is created for.")
    file_name: FileName | None = None
    model: str | None = None
    document: ResumeDocument | None = None
    shortened: int = Field(0, ge=0, description="Strings and lists of the model's answer cut "
                           "to the document's limits.")
    model_calls: int = Field(0, ge=0, description="Calls made to the model, retries included.")


AI_EVENTS: dict[str, type[JobEvent]] = {
    cls.event_type: cls for cls in (RatingRequested, RatingStarted, RatingFinished,
                                    ImportRequested, ImportStarted, ImportFinished)
}


def _completed_as_finished(payload: dict[str, Any]) -> dict[str, Any]:
    return {"job_id": payload["job_id"], "outcome": "succeeded", "rating": payload["rating"],
            "model_calls": payload["model_calls"]}


def _failed_as_finished(payload: dict[str, Any]) -> dict[str, Any]:
    return {"job_id": payload["job_id"], "outcome": "failed", "error_code": payload["code"],
            "error": payload["reason"], "model_calls": payload.get("model_calls", 0)}


# Events stored before ratings took the common job shape (contracts.jobs) are read as the
# event that replaced them: (type, schema version) -> (new type, new version, payload mapper).
Upcaster = tuple[str, int, Callable[[dict[str, Any]], dict[str, Any]]]
AI_UPCASTERS: dict[tuple[str, int], Upcaster] = {
    ("RatingCompleted", 1): (RatingFinished.event_type, 1, _completed_as_finished),
    ("RatingFailed", 1): (RatingFinished.event_type, 1, _failed_as_finished),
}
