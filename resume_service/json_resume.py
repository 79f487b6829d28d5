"""JSON Resume <-> the resume document, without loss either way.

Each JSON Resume array is a section kind (`KINDS`) whose items map field by field. Import
keeps the properties the schema does not define in `extensions`; export gives them back.
What JSON Resume cannot say (a resume's title and template, free-text dates such as
"present", custom sections, the order and titles of sections, links beside profiles) goes in
an `x-resume-builder` property of the object it belongs to, and only when it differs from
what importing the plain export would rebuild: so a JSON Resume file imported and exported
comes back as it was, and a document exported and imported comes back as it was."""

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import partial
from typing import Any

from pydantic import ValidationError

from contracts.json_resume import ISO_DATE_PATTERN, JsonResume
from contracts.resume import Address, Contact, Item, Meta, Profile, ResumeDocument, Section

OURS = "x-resume-builder"  # what only this project's documents say
ISO_DATE = re.compile(ISO_DATE_PATTERN)
DATE_FIELDS = frozenset({"startDate", "endDate", "date", "releaseDate"})


@dataclass(frozen=True)
class Kind:
    """A JSON Resume array as a section kind: its title on import, and its fields (JSON
    Resume property -> Item field)."""

    kind: str
    title: str
    fields: dict[str, str]


KINDS: dict[str, Kind] = {
    "work": Kind("experience", "Experience", {
        "position": "title", "name": "subtitle", "location": "location",
        "startDate": "start_date", "endDate": "end_date", "summary": "description",
        "highlights": "bullets", "url": "url", "description": "organization_description"}),
    "volunteer": Kind("volunteering", "Volunteering", {
        "position": "title", "organization": "subtitle", "startDate": "start_date",
        "endDate": "end_date", "summary": "description", "highlights": "bullets", "url": "url"}),
    "education": Kind("education", "Education", {
        "institution": "subtitle", "area": "area", "studyType": "study_type",
        "startDate": "start_date", "endDate": "end_date", "score": "score",
        "courses": "courses", "url": "url"}),
    "awards": Kind("awards", "Awards", {
        "title": "title", "awarder": "subtitle", "date": "end_date", "summary": "description"}),
    "certificates": Kind("certificates", "Certificates", {
        "name": "title", "issuer": "subtitle", "date": "end_date", "url": "url"}),
    "publications": Kind("publications", "Publications", {
        "name": "title", "publisher": "subtitle", "releaseDate": "end_date",
        "summary": "description", "url": "url"}),
    "skills": Kind("skills", "Skills", {
        "name": "title", "level": "description", "keywords": "bullets"}),
    "languages": Kind("languages", "Languages", {"language": "title", "fluency": "description"}),
    "interests": Kind("interests", "Interests", {"name": "title", "keywords": "bullets"}),
    "references": Kind("references", "References", {
        "name": "title", "reference": "description"}),
    "projects": Kind("projects", "Projects", {
        "name": "title", "entity": "subtitle", "description": "description",
        "highlights": "bullets", "keywords": "keywords", "startDate": "start_date",
        "endDate": "end_date", "url": "url", "roles": "roles", "type": "category"}),
}
ARRAY_OF_KIND = {kind.kind: name for name, kind in KINDS.items()}

BASICS = {"name": "name", "label": "label", "image": "image", "email": "email",
          "phone": "phone", "url": "url", "summary": "summary"}
LOCATION = {"address": "address", "postalCode": "postal_code", "city": "city",
            "countryCode": "country_code", "region": "region"}
PROFILE = {"network": "network", "username": "username", "url": "url"}
META = {"canonical": "canonical", "version": "version", "lastModified": "last_modified"}
DEFAULT_TITLE = "Imported resume"


class InvalidJsonResume(ValueError):
    """The document is not valid JSON Resume, or does not fit the resume document's limits.
    `errors` name the failing paths in the imported document."""

    def __init__(self, errors: list[dict[str, Any]]) -> None:
        super().__init__("invalid JSON Resume")
        self.errors = errors


# --- import ---------------------------------------------------------------------------------

def from_json_resume(data: Any) -> ResumeDocument:
    """The resume document of a JSON Resume document (raises InvalidJsonResume)."""
    try:
        JsonResume.model_validate(data)
    except ValidationError as exc:
        raise InvalidJsonResume(_errors(exc, ())) from exc
    return _validated(lambda: _document(data), ())


def _document(data: dict[str, Any]) -> ResumeDocument:
    basics = data.get("basics") or {}
    ours = _ours(data, ())
    sections = _sections(data, _layout_of(ours))
    title = basics.get("name") or DEFAULT_TITLE
    fields = {"title": title, "contact": _contact(basics), "sections": sections,
              "meta": _validated(lambda: _mapped(Meta, META, data.get("meta") or {}), ("meta",)),
              "extensions": _extensions(data, {*KINDS, "basics", "meta"})}
    return ResumeDocument.model_validate({**fields, **_without(ours, "sections")})


def _contact(basics: dict[str, Any]) -> Contact:
    def build() -> Contact:
        location = basics.get("location") or {}
        profiles = [_validated(partial(_mapped, Profile, PROFILE, profile),
                               ("basics", "profiles", n))
                    for n, profile in enumerate(basics.get("profiles") or [])]
        address = _validated(lambda: _mapped(Address, LOCATION, location),
                             ("basics", "location"))
        return _mapped(Contact, BASICS, basics, {"profiles", "location"},
                       address=address, profiles=profiles)
    return _validated(build, ("basics",))


def _sections(data: dict[str, Any], layout: list[dict[str, Any]] | None) -> list[Section]:
    items = {name: [_item(kind, entry, (name, n)) for n, entry in enumerate(data.get(name) or [])]
             for name, kind in KINDS.items()}
    if layout is None:
        return [Section(title=KINDS[name].title, kind=KINDS[name].kind, items=found)
                for name, found in items.items() if found]
    laid_out = [_laid_out(section, items, (OURS, "sections", n))
                for n, section in enumerate(layout)]
    return laid_out + [Section(title=KINDS[name].title, kind=KINDS[name].kind, items=left)
                       for name, left in items.items() if left]


def _laid_out(section: dict[str, Any], items: dict[str, list[Item]],
              path: tuple[Any, ...]) -> Section:
    """A section as the export's layout recorded it: a mapped kind takes its next `count`
    items from its array; other kinds carry their items."""
    array = ARRAY_OF_KIND.get(section.get("kind", ""))
    if array is None:
        return _validated(lambda: Section.model_validate(section), path)
    count = section.get("count")
    if not isinstance(count, int) or count < 0:
        raise InvalidJsonResume([{"loc": [*path, "count"], "msg": "must be a count of items",
                                  "type": "int_type"}])
    taken, items[array] = items[array][:count], items[array][count:]
    return _validated(lambda: Section(title=section.get("title", ""), kind=section["kind"],
                                      items=taken), path)


def _item(kind: Kind, entry: dict[str, Any], path: tuple[Any, ...]) -> Item:
    derived = {}
    if kind.kind == "education":
        derived["title"] = ", ".join(v for v in (entry.get("studyType"), entry.get("area")) if v)
    return _validated(lambda: _mapped(Item, kind.fields, entry, path=path, **derived), path,
                      kind.fields)


def _mapped(model: Callable[..., Any], names: dict[str, str], data: dict[str, Any],
            skip: Iterable[str] = (), path: tuple[Any, ...] = (), **more: Any) -> Any:
    """`model` of the JSON Resume object `data`: its fields by `names` (JSON Resume's ->
    the document's), `more`, what the schema does not define, and what only we say."""
    values = {field: data[key] for key, field in names.items() if data.get(key) not in (None, "")}
    return model(**{**values, **more, "extensions": _extensions(data, {*names, *skip}),
                    **_ours(data, path)})


def _ours(data: dict[str, Any], path: tuple[Any, ...]) -> dict[str, Any]:
    ours = data.get(OURS, {})
    if not isinstance(ours, dict):
        raise InvalidJsonResume([{"loc": [*path, OURS], "msg": "must be an object",
                                  "type": "dict_type"}])
    return ours


def _layout_of(ours: dict[str, Any]) -> list[dict[str, Any]] | None:
    layout = ours.get("sections")
    if layout is not None and not (isinstance(layout, list)
                                   and all(isinstance(s, dict) for s in layout)):
        raise InvalidJsonResume([{"loc": [OURS, "sections"], "msg": "must be a list of objects",
                                  "type": "list_type"}])
    return layout


def _extensions(data: dict[str, Any], known: set[str]) -> dict[str, Any]:
    return {key: value for key, value in data.items() if key not in known and key != OURS}


def _without(data: dict[str, Any], *keys: str) -> dict[str, Any]:
    return {key: value for key, value in data.items() if key not in keys}


def _validated(build: Callable[[], Any], path: tuple[Any, ...],
               names: dict[str, str] | None = None) -> Any:
    """`build()`, its validation errors raised as InvalidJsonResume at `path`, with the
    resume document's field names turned back into the imported document's."""
    try:
        return build()
    except ValidationError as exc:
        raise InvalidJsonResume(_errors(exc, path, names)) from exc


def _errors(exc: ValidationError, path: tuple[Any, ...],
            names: dict[str, str] | None = None) -> list[dict[str, Any]]:
    back = {field: key for key, field in (names or {}).items()}
    return [{"loc": [*path, *_imported_path(error["loc"], back)], "msg": error["msg"],
             "type": error["type"]} for error in exc.errors()]


def _imported_path(loc: tuple[Any, ...], back: dict[str, str]) -> list[Any]:
    """A document field's path as the imported document's: its own name for the field, and
    a kept property where it stood (not under `extensions`)."""
    if loc[:1] == ("extensions",):
        return list(loc[1:])
    return [back.get(str(loc[0]), loc[0]), *loc[1:]] if loc else []


# --- export ---------------------------------------------------------------------------------

def to_json_resume(document: ResumeDocument) -> dict[str, Any]:
    """A JSON Resume document of the resume, with what JSON Resume cannot say under
    `x-resume-builder` where needed (see the module's docstring)."""
    exported: dict[str, Any] = dict(document.extensions)
    basics = _export_contact(document.contact)
    if basics:
        exported["basics"] = basics
    for name, kind in KINDS.items():
        entries = [_export_item(kind, item) for section in document.sections
                   if section.kind == kind.kind for item in section.items]
        if entries:
            exported[name] = entries
    meta = _export_mapped(META, document.meta)
    if meta:
        exported["meta"] = meta
    ours = _document_differences(document, exported)
    if ours:
        exported[OURS] = ours
    return exported


def _export_contact(contact: Contact) -> dict[str, Any]:
    basics = _export_mapped(BASICS, contact)
    location = _export_mapped(LOCATION, contact.address)
    if not location and contact.location:
        location = {"address": contact.location}
    if location:
        basics["location"] = location
    profiles = [_export_mapped(PROFILE, profile) for profile in contact.profiles]
    profiles += [{"network": link.label, "url": link.url} for link in contact.links]
    if profiles:
        basics["profiles"] = profiles
    rebuilt = _contact(basics)
    differences = _differences(contact, rebuilt, ("extensions",))
    if differences:
        basics[OURS] = differences
    return basics


def _export_item(kind: Kind, item: Item) -> dict[str, Any]:
    entry = {key: value for key, field in kind.fields.items()
             if (value := getattr(item, field)) not in ("", [])
             and (key not in DATE_FIELDS or ISO_DATE.match(value))}
    if kind.kind == "education" and not item.area and not item.study_type and item.title:
        entry["area"] = item.title
    entry.update(item.extensions)
    differences = _differences(item, _item(kind, entry, ()), ("id", "extensions"))
    if differences:
        entry[OURS] = differences
    return entry


def _export_mapped(names: dict[str, str], model: Any) -> dict[str, Any]:
    values = {key: value for key, field in names.items() if (value := getattr(model, field))}
    return {**values, **model.extensions}


def _differences(wanted: Any, rebuilt: Any, ignored: tuple[str, ...]) -> dict[str, Any]:
    mine, theirs = wanted.model_dump(mode="json"), rebuilt.model_dump(mode="json")
    return {name: value for name, value in mine.items()
            if name not in ignored and value != theirs.get(name)}


def _document_differences(document: ResumeDocument, exported: dict[str, Any]) -> dict[str, Any]:
    rebuilt = _document(exported)
    ours = _differences(document, rebuilt, ("contact", "sections", "meta", "extensions"))
    if _layout(document.sections) != _layout(rebuilt.sections):
        ours["sections"] = _layout(document.sections)
    return ours


def _layout(sections: list[Section]) -> list[Any]:
    return [_section_layout(section) for section in sections]


def _section_layout(section: Section) -> dict[str, Any]:
    if section.kind in ARRAY_OF_KIND:
        return {"title": section.title, "kind": section.kind, "count": len(section.items)}
    return section.model_dump(mode="json", exclude_defaults=True,
                              exclude={"id": True, "items": {"__all__": {"id"}}})
