"""The resume document: resume -> ordered sections -> ordered items, with limits on every
string and list so one resume stays well under 256 KB."""

from typing import Annotated, Literal
from uuid import UUID, uuid4

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

ShortText = Annotated[str, StringConstraints(max_length=200, strip_whitespace=True)]
DateText = Annotated[str, StringConstraints(max_length=32, strip_whitespace=True)]
Bullet = Annotated[str, StringConstraints(max_length=1000)]
Url = Annotated[str, StringConstraints(max_length=2048, pattern=r"^(https?://|mailto:)\S+$")]

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
    email: Annotated[str, StringConstraints(max_length=254, strip_whitespace=True)] = ""
    phone: Annotated[str, StringConstraints(max_length=50, strip_whitespace=True)] = ""
    location: ShortText = ""
    links: list[Link] = Field(default_factory=list, max_length=10)


class Item(_Strict):
    id: UUID = Field(default_factory=uuid4)
    title: ShortText = ""
    subtitle: ShortText = ""
    location: ShortText = ""
    start_date: DateText = ""
    end_date: DateText = ""
    description: Annotated[str, StringConstraints(max_length=5000)] = ""
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
    contact: Contact = Field(default_factory=Contact)
    sections: list[Section] = Field(default_factory=list, max_length=30)


MAX_RESUME_BYTES = 256 * 1024
