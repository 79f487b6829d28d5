"""The resume document: resume -> ordered sections -> ordered items, with limits on every
string and list so one resume stays well under 256 KB.

It holds everything JSON Resume (1.3.1) defines, so a resume goes in and out of that format
without loss (resume_service.json_resume maps the two): the contact fields are its `basics`,
its arrays are sections of the matching kind (in a free order, beside custom sections), and
the properties JSON Resume does not define are kept verbatim in `extensions`."""

import math
from typing import Annotated, Literal
from uuid import UUID, uuid4

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, JsonValue, StringConstraints

# NUL can be neither stored in PostgreSQL JSONB nor shown; refuse it where every string enters.
_NO_NUL = r"^[^\x00]*$"


def _text(max_length: int, strip: bool = True) -> object:
    return StringConstraints(max_length=max_length, strip_whitespace=strip, pattern=_NO_NUL)


ShortText = Annotated[str, _text(200)]
DateText = Annotated[str, _text(32)]
Bullet = Annotated[str, _text(1000, strip=False)]
LongText = Annotated[str, _text(5000, strip=False)]
# A BCP 47 language tag's shape (language, then subtags: script, region, variants); what it
# names is compile_service's to interpret (an unknown one reads as its language, then en).
LocaleTag = Annotated[str, StringConstraints(max_length=35,
                                             pattern=r"^[a-zA-Z]{2,3}(-[a-zA-Z0-9]{1,8})*$")]
Url = Annotated[str, StringConstraints(max_length=2048, pattern=r"^(https?://|mailto:)[^\s\x00]+$")]
OptionalUrl = Annotated[str, StringConstraints(
    max_length=2048, pattern=r"^((https?://|mailto:)[^\s\x00]+)?$")]

Keywords = Annotated[list[ShortText], Field(max_length=30)]
MAX_EXTENSION_DEPTH = 8


def _storable(value: JsonValue, depth: int = 0) -> JsonValue:
    """A JSON value PostgreSQL's JSONB can hold and JSON can say again: no NUL in a string
    (or key), no infinite number nor integer beyond 64 bits, nested at most
    MAX_EXTENSION_DEPTH deep."""
    if depth > MAX_EXTENSION_DEPTH:
        raise ValueError(f"nested deeper than {MAX_EXTENSION_DEPTH} levels")
    if isinstance(value, str) and "\x00" in value:
        raise ValueError("a string holds a NUL character")
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError("a number is not finite")
    if isinstance(value, int) and not -2**63 <= value < 2**63:
        raise ValueError("an integer is outside the 64-bit range")
    if isinstance(value, list):
        for part in value:
            _storable(part, depth + 1)
    if isinstance(value, dict):
        for key, part in value.items():
            _storable(key, depth + 1)
            _storable(part, depth + 1)
    return value


Extensions = Annotated[
    dict[Annotated[str, _text(100)], Annotated[JsonValue, AfterValidator(_storable)]],
    Field(max_length=50, description="Properties of an imported document this schema does not "
          "define, kept verbatim and exported again.")]

SectionKind = Literal[
    "summary", "experience", "education", "projects", "skills", "awards", "publications",
    "volunteering", "languages", "certificates", "interests", "references", "custom",
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Link(_Strict):
    label: ShortText = Field(description="Text shown for the link, e.g. GitHub.")
    url: Url = Field(description="http(s) or mailto URL.")


class Profile(_Strict):
    """An account on a network (JSON Resume `basics.profiles`)."""

    network: ShortText = ""
    username: ShortText = ""
    url: OptionalUrl = ""
    extensions: Extensions = Field(default_factory=dict)


class Address(_Strict):
    """The parts of a location (JSON Resume `basics.location`)."""

    address: ShortText = ""
    postal_code: Annotated[str, _text(32)] = ""
    city: ShortText = ""
    country_code: Annotated[str, _text(8)] = ""
    region: ShortText = ""
    extensions: Extensions = Field(default_factory=dict)


class Contact(_Strict):
    name: ShortText = ""
    label: ShortText = Field("", description="A headline, e.g. Backend Engineer.")
    image: OptionalUrl = Field("", description="URL of a photo.")
    email: Annotated[str, _text(254)] = ""
    phone: Annotated[str, _text(50)] = ""
    url: OptionalUrl = Field("", description="Personal website.")
    summary: LongText = ""
    location: ShortText = Field("", description="The location line as shown; when empty, "
                                "the parts of `address` are shown.")
    address: Address = Field(default_factory=Address)
    links: list[Link] = Field(default_factory=list, max_length=10)
    profiles: list[Profile] = Field(default_factory=list, max_length=10)
    extensions: Extensions = Field(default_factory=dict)


class Item(_Strict):
    """One entry of a section. Which fields a kind uses: resume_service.json_resume.KINDS."""

    id: UUID = Field(default_factory=uuid4)
    title: ShortText = ""
    subtitle: ShortText = ""
    location: ShortText = ""
    start_date: DateText = ""
    end_date: DateText = ""
    description: LongText = ""
    bullets: list[Bullet] = Field(default_factory=list, max_length=30)
    url: OptionalUrl = ""
    keywords: Keywords = Field(default_factory=list)
    organization_description: LongText = Field(
        "", description="What the organisation is (JSON Resume work.description).")
    area: ShortText = Field("", description="Field of study.")
    study_type: ShortText = Field("", description="Degree, e.g. Bachelor.")
    score: ShortText = ""
    courses: Keywords = Field(default_factory=list)
    roles: Keywords = Field(default_factory=list)
    category: ShortText = Field("", description="Kind of project, e.g. application.")
    extensions: Extensions = Field(default_factory=dict)


class Section(_Strict):
    id: UUID = Field(default_factory=uuid4)
    title: ShortText = ""
    kind: SectionKind = "custom"
    items: list[Item] = Field(default_factory=list, max_length=50)


class Meta(_Strict):
    """About the document itself (JSON Resume `meta`)."""

    canonical: OptionalUrl = ""
    version: Annotated[str, _text(50)] = ""
    last_modified: Annotated[str, _text(50)] = ""
    extensions: Extensions = Field(default_factory=dict)


class ResumeDocument(_Strict):
    """What the user edits. Order of sections and items is the order shown."""

    title: ShortText = "Untitled resume"
    template: Annotated[str, StringConstraints(max_length=64, pattern=r"^[a-z0-9_-]*$")] = "classic"
    locale: LocaleTag = Field("en", description=(
        "The resume's language as a BCP 47 tag (en, de-CH, ar): its text's language and "
        "hyphenation, how its dates are written, and right-to-left layout for Arabic, Hebrew "
        "or Persian. Added in schema version 2 of the resume events."))
    contact: Contact = Field(default_factory=Contact)
    sections: list[Section] = Field(default_factory=list, max_length=30)
    meta: Meta = Field(default_factory=Meta)
    extensions: Extensions = Field(default_factory=dict)


MAX_RESUME_BYTES = 256 * 1024
# bullets in a whole document: the per-list bounds alone allow 45,000 (30 sections of 50
# items of 30), which no resume needs and every compile would pay for
MAX_RESUME_BULLETS = 2000


def bullet_count(document: ResumeDocument) -> int:
    return sum(len(item.bullets) for section in document.sections for item in section.items)

DOCUMENT_SCHEMA_VERSION = 3
"""The shape of `ResumeDocument`, bumped with every change an older reader could not read;
the resume events that carry a document have this schema version (contracts.resume_events
upcasts older ones), and so does the native export. 1: the first shape; 2: `locale`; 3:
everything JSON Resume defines."""
