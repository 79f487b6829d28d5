"""The built-in sample resume every template's thumbnail shows (compile_service.thumbnails).
Its section and item ids are fixed: they are part of the rendered source, hence of the
thumbnail's content key, which must stay the same from one process to the next."""

from uuid import UUID, uuid5

from contracts.resume import Contact, Item, Link, ResumeDocument, Section

_IDS = UUID("6f0c7b52-1f4e-4d8a-9d43-2b7f0e1c5a90")  # namespace of the fixed ids


def _id(path: str) -> UUID:
    return uuid5(_IDS, path)


def _item(path: str, **fields: object) -> Item:
    return Item.model_validate({"id": _id(path), **fields})


def sample_resume() -> ResumeDocument:
    """A one-page software engineer's resume: every kind of field a template lays out."""
    return ResumeDocument(
        title="Sample resume", template="classic",
        contact=Contact(name="Alex Morgan", email="alex.morgan@example.com",
                        phone="+1 555 0100", location="Portland, OR",
                        links=[Link(label="GitHub", url="https://github.com/example"),
                               Link(label="Website", url="https://example.com")]),
        sections=[
            Section(id=_id("summary"), title="Summary", kind="summary", items=[
                _item("summary.0", description=(
                    "Software engineer with seven years of experience building reliable "
                    "web services, data pipelines and the tools teams use to ship them."))]),
            Section(id=_id("experience"), title="Experience", kind="experience", items=[
                _item("experience.0", title="Senior Software Engineer",
                      subtitle="Northwind Logistics", location="Portland, OR",
                      start_date="2021-04", end_date="present", bullets=[
                          "Led the move of order routing to an event-driven design, cutting "
                          "p99 latency from 800 ms to 90 ms",
                          "Built the shipment tracking API used by 30 partner companies",
                          "Mentored four engineers and ran the on-call rotation"]),
                _item("experience.1", title="Software Engineer", subtitle="Contoso Health",
                      location="Seattle, WA", start_date="2018-02", end_date="2021-03",
                      bullets=["Designed the appointment reminders service (2 million "
                               "messages a month)",
                               "Introduced contract tests between eight services"]),
            ]),
            Section(id=_id("education"), title="Education", kind="education", items=[
                _item("education.0", title="B.Sc. Computer Science",
                      subtitle="Oregon State University", location="Corvallis, OR",
                      start_date="2013", end_date="2017")]),
            Section(id=_id("skills"), title="Skills", kind="skills", items=[
                _item("skills.0", title="Languages",
                      bullets=["Python", "Go", "SQL", "TypeScript"]),
                _item("skills.1", title="Systems",
                      bullets=["PostgreSQL", "RabbitMQ", "Redis", "Kubernetes"])]),
        ])
