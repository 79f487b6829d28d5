"""JSON Resume 1.3.1 (https://jsonresume.org/schema, npm `@jsonresume/schema`), as models that
validate an imported document: the schema's types and date pattern, every object open to
properties the schema does not define (it allows them; they are kept). Field names are the
schema's own (camelCase), so errors name the document's paths."""

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

JSON_RESUME_VERSION = "1.3.1"

# the schema's `iso8601`: a year, a year and month, or a full date
ISO_DATE_PATTERN = r"^([1-2][0-9]{3}-[0-1][0-9]-[0-3][0-9]|[1-2][0-9]{3}-[0-1][0-9]|[1-2][0-9]{3})$"
IsoDate = Annotated[str, StringConstraints(pattern=ISO_DATE_PATTERN)]
Strings = list[str]


class _Open(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)


class Location(_Open):
    address: str | None = None
    postalCode: str | None = None
    city: str | None = None
    countryCode: str | None = None
    region: str | None = None


class Profile(_Open):
    network: str | None = None
    username: str | None = None
    url: str | None = None


class Basics(_Open):
    name: str | None = None
    label: str | None = None
    image: str | None = None
    email: str | None = None
    phone: str | None = None
    url: str | None = None
    summary: str | None = None
    location: Location | None = None
    profiles: list[Profile] | None = None


class _Dated(_Open):
    startDate: IsoDate | None = None
    endDate: IsoDate | None = None


class Work(_Dated):
    name: str | None = None
    location: str | None = None
    description: str | None = None
    position: str | None = None
    url: str | None = None
    summary: str | None = None
    highlights: Strings | None = None


class Volunteer(_Dated):
    organization: str | None = None
    position: str | None = None
    url: str | None = None
    summary: str | None = None
    highlights: Strings | None = None


class Education(_Dated):
    institution: str | None = None
    url: str | None = None
    area: str | None = None
    studyType: str | None = None
    score: str | None = None
    courses: Strings | None = None


class Award(_Open):
    title: str | None = None
    date: IsoDate | None = None
    awarder: str | None = None
    summary: str | None = None


class Certificate(_Open):
    name: str | None = None
    date: IsoDate | None = None
    url: str | None = None
    issuer: str | None = None


class Publication(_Open):
    name: str | None = None
    publisher: str | None = None
    releaseDate: IsoDate | None = None
    url: str | None = None
    summary: str | None = None


class Skill(_Open):
    name: str | None = None
    level: str | None = None
    keywords: Strings | None = None


class Language(_Open):
    language: str | None = None
    fluency: str | None = None


class Interest(_Open):
    name: str | None = None
    keywords: Strings | None = None


class Reference(_Open):
    name: str | None = None
    reference: str | None = None


class Project(_Dated):
    name: str | None = None
    description: str | None = None
    highlights: Strings | None = None
    keywords: Strings | None = None
    url: str | None = None
    roles: Strings | None = None
    entity: str | None = None
    type: str | None = None


class Meta(_Open):
    canonical: str | None = None
    version: str | None = None
    lastModified: str | None = None


class JsonResume(_Open):
    schema_uri: str | None = Field(None, alias="$schema")
    basics: Basics | None = None
    work: list[Work] | None = None
    volunteer: list[Volunteer] | None = None
    education: list[Education] | None = None
    awards: list[Award] | None = None
    certificates: list[Certificate] | None = None
    publications: list[Publication] | None = None
    skills: list[Skill] | None = None
    languages: list[Language] | None = None
    interests: list[Interest] | None = None
    references: list[Reference] | None = None
    projects: list[Project] | None = None
    meta: Meta | None = None
