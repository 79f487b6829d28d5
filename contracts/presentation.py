"""The document as the templates show it. A resume holds more than a page lays out (all of
JSON Resume: a structured address, profiles, a headline, keywords, courses, ...); the
templates are given the fields they always had, filled from the rest, so every template
shows everything without knowing every field:

- the location line is the typed one, else the address's parts;
- the links are the typed ones, then the website, then each profile with a URL;
- the contact's summary, when the resume has no summary section, is one at the top;
- an item's description gains, a line each, what the item says beyond it (what its
  organisation is, its degree and field when its title does not say them, courses, roles,
  keywords, its kind, its score, its URL).

`contact.label` (the headline) is the one newer field the templates (and exports) show
themselves. Used by compile_service's templates and resume_service's exports alike."""

from uuid import UUID

from contracts.resume import Address, Contact, Item, Link, Profile, ResumeDocument, Section

SUMMARY_TITLE = "Summary"
# fixed, so that the same document always renders the same source (its content key)
SUMMARY_ID = UUID("5c0e1d2a-6d0b-4b8e-9a59-2f6f5d3c8a10")


def shown_document(document: ResumeDocument) -> ResumeDocument:
    sections = [section.model_copy(update={"items": [_shown_item(i) for i in section.items]})
                for section in document.sections]
    contact = document.contact
    if contact.summary and not any(s.kind == "summary" for s in sections):
        sections.insert(0, Section(id=SUMMARY_ID, title=SUMMARY_TITLE, kind="summary",
                                   items=[Item(id=SUMMARY_ID, description=contact.summary)]))
    return document.model_copy(update={"contact": _shown_contact(contact), "sections": sections})


def _shown_contact(contact: Contact) -> Contact:
    links = [*contact.links, *([Link(label=_without_scheme(contact.url), url=contact.url)]
                               if contact.url else []),
             *(Link(label=_profile_label(p), url=p.url) for p in contact.profiles if p.url)]
    return contact.model_copy(update={
        "location": contact.location or address_line(contact.address), "links": links})


def address_line(address: Address) -> str:
    city = " ".join(part for part in (address.postal_code, address.city) if part)
    return ", ".join(part for part in (address.address, city, address.region,
                                       address.country_code) if part)


def _profile_label(profile: Profile) -> str:
    if profile.network and profile.username:
        return f"{profile.network}: {profile.username}"
    return profile.network or profile.username or _without_scheme(profile.url)


def _without_scheme(url: str) -> str:
    return url.split("://", 1)[-1].removeprefix("mailto:").rstrip("/")


def _shown_item(item: Item) -> Item:
    untitled = [part for part in (item.study_type, item.area) if part not in item.title]
    lines = [item.organization_description, ", ".join(untitled), item.description,
             ", ".join(item.courses), ", ".join(item.roles), ", ".join(item.keywords),
             item.category, item.score, _without_scheme(item.url) if item.url else ""]
    shown = "\n".join(line for line in lines if line)
    return item if shown == item.description else item.model_copy(update={"description": shown})
