"""The resume document: resume -> ordered sections -> ordered items, with limits on every
string and list so one resume stays well under 256 KB."""

from typing import Annotated, Literal
from uuid import UUID, uuid4

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

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

SectionKind = Literal[
    "summary", "experience", "education", "projects", "skills", "awards", "publications",
    "volunteering", "languages", "custom",
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Link(_Strict):
    label: ShortText = Field(description="Text shown for the link, e.g. GitHub.")
    url: Url = Field(description="http(s) or mailto URL.")


class Contact(_Strict):
    name: ShortText = ""
    email: Annotated[str, _text(254)] = ""
    phone: Annotated[str, _text(50)] = ""
    location: ShortText = ""
    links: list[Link] = Field(default_factory=list, max_length=10)


class Item(_Strict):
    id: UUID = Field(default_factory=uuid4)
    title: ShortText = ""
    subtitle: ShortText = ""
    location: ShortText = ""
    start_date: DateText = ""
    end_date: DateText = ""
    description: LongText = ""
    bullets: list[Bullet] = Field(default_factory=list, max_length=30)


class Section(_Strict):
    id: UUID = Field(default_factory=uuid4)
    title: ShortText = ""
    kind: SectionKind = "custom"
    items: list[Item] = Field(default_factory=list, max_length=50)


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


MAX_RESUME_BYTES = 256 * 1024
