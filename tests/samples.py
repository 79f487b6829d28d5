"""Sample resumes for the template tests: a software engineer's one-page resume and an
academic CV of about three pages, as `ResumeDocument`s (so they keep to the document's
limits), and `texts` lists what a reader of the PDF must find in each."""

from collections.abc import Iterator

from pydantic import BaseModel

from contracts.resume import Contact, Item, Link, ResumeDocument, Section


def engineer() -> ResumeDocument:
    return ResumeDocument(
        title="Maria Schmidt - Backend", template="standard",
        contact=Contact(name="Maria Schmidt", email="maria.schmidt@example.org",
                        phone="+49 30 1234 5678", location="Berlin, Germany",
                        links=[Link(label="GitHub", url="https://github.com/mschmidt"),
                               Link(label="LinkedIn", url="https://linkedin.com/in/mschmidt")]),
        sections=[
            Section(title="Summary", kind="summary", items=[Item(description=(
                "Backend engineer with eight years of experience building payment and "
                "logistics systems in Python and Go; enjoys turning slow batch jobs into "
                "streaming services."))]),
            Section(title="Experience", kind="experience", items=[
                Item(title="Senior Backend Engineer", subtitle="Parcelwise GmbH",
                     location="Berlin", start_date="2021-03", end_date="present", bullets=[
                         "Led the rewrite of the routing service, cutting p99 latency from "
                         "900 ms to 120 ms",
                         "Designed the event-sourced shipment ledger used by 40 teams",
                         "Mentored five engineers through their first on-call rotations"]),
                Item(title="Backend Engineer", subtitle="Paynetics AG", location="Munich",
                     start_date="2018-01", end_date="2021-02", bullets=[
                         "Built the reconciliation pipeline for 2 million card payments a day",
                         "Introduced contract tests between 12 services, halving incidents",
                         "Moved the settlement batch to PostgreSQL logical replication"]),
                Item(title="Software Developer", subtitle="Stadtwerke Digital",
                     location="Leipzig", start_date="2016-09", end_date="2017-12", bullets=[
                         "Maintained the metering data import for 300,000 households",
                         "Wrote the first automated deployment of the billing system"]),
            ]),
            Section(title="Education", kind="education", items=[
                Item(title="M.Sc. Computer Science", subtitle="TU Dresden",
                     location="Dresden", start_date="2014", end_date="2016",
                     description="Thesis: incremental view maintenance for stream joins."),
                Item(title="B.Sc. Computer Science", subtitle="Universität Leipzig",
                     location="Leipzig", start_date="2011", end_date="2014"),
            ]),
            Section(title="Projects", kind="projects", items=[
                Item(title="pgqueue", subtitle="Open source", start_date="2020",
                     bullets=["A job queue on PostgreSQL SKIP LOCKED, 1,200 stars"]),
            ]),
            Section(title="Skills", kind="skills", items=[
                Item(title="Languages", bullets=["Python", "Go", "SQL", "TypeScript"]),
                Item(title="Systems", bullets=["PostgreSQL", "Kafka", "RabbitMQ",
                                                "Kubernetes"]),
            ]),
            Section(title="Languages", kind="languages", items=[
                Item(title="German", description="native"),
                Item(title="English", description="fluent (C1)"),
            ]),
        ])


def every_field() -> ResumeDocument:
    """Every field of the document filled, with text Markdown would take for markup, line
    breaks and blank lines, characters XML cannot hold, and a title that is not ASCII: for
    the exports."""
    return ResumeDocument(
        title="Zoë Ålund: CV / Backend — 2026", template="classic",
        contact=Contact(name="Zoë *Ålund*", email="zoe_alund@example.org",
                        phone="+46 8 123 45 67", location="Göteborg, Sweden",
                        links=[Link(label="Site [personal]", url="https://example.org/a_(b)"),
                               Link(label="GitHub", url="https://github.com/zalund")]),
        sections=[
            Section(title="Summary", kind="summary", items=[Item(description=(
                "Engineer who ships.\n# not a heading\n1. not a list\n\n"
                "Second paragraph with <b>no html</b> & R&D &amp; $5 and $6"))]),
            Section(title="Experience #1", kind="experience", items=[
                Item(title="Lead *Engineer*", subtitle="Kjell & Co_AB", location="Malmö",
                     start_date="2020-01", end_date="present",
                     description="Owned the `billing` platform.",
                     bullets=["- starts with a dash", "[click](javascript:alert(1))",
                              "two\nlines", "Cut costs by 30%\x01 | a table? |"]),
                Item(title="Engineer", subtitle="Start", start_date="2018", end_date="2019"),
            ]),
            Section(title="Notes", kind="custom", items=[
                Item(description="    indented, not code\n===")]),
        ])


def academic(publications: int = 28) -> ResumeDocument:
    """An academic CV: with the default 28 publications it runs to three pages in the
    academic template. Journal articles and conference papers take half each (a section
    holds at most 50 items: up to 100 publications)."""
    papers = [Item(title=f"Paper {n}: on the convergence of sampling method {n} in high "
                         "dimensions",
                   subtitle=f"Journal of Computational Statistics, vol. {10 + n % 30}",
                   start_date=str(2024 - n // 4),
                   description=f"With A. Author and B. Coauthor; pages {100 + n}-{118 + n}.")
              for n in range(1, publications + 1)]
    talks = [Item(title=f"Talk {n}: sampling in practice", subtitle=f"Workshop {n}, Vienna",
                  start_date=str(2023 - n)) for n in range(1, 7)]
    return ResumeDocument(
        title="Dr. Jonas Weber - CV", template="academic",
        contact=Contact(name="Dr. Jonas Weber", email="j.weber@uni.example.edu",
                        phone="+43 1 4277 000", location="Vienna, Austria",
                        links=[Link(label="ORCID", url="https://orcid.org/0000-0002-1825-0097")]),
        sections=[
            Section(title="Positions", kind="experience", items=[
                Item(title="Assistant Professor", subtitle="University of Vienna",
                     location="Vienna", start_date="2020", end_date="present",
                     bullets=["Leads a group of four doctoral students",
                              "Teaches Bayesian statistics and Monte Carlo methods"]),
                Item(title="Postdoctoral Researcher", subtitle="ETH Zürich",
                     location="Zürich", start_date="2017", end_date="2020"),
            ]),
            Section(title="Education", kind="education", items=[
                Item(title="PhD in Statistics", subtitle="University of Cambridge",
                     start_date="2013", end_date="2017",
                     description="Dissertation: adaptive Markov chain Monte Carlo."),
            ]),
            Section(title="Journal Articles", kind="publications",
                    items=papers[:publications // 2]),
            Section(title="Conference Papers", kind="publications",
                    items=papers[publications // 2:]),
            Section(title="Talks", kind="custom", items=talks),
            Section(title="Grants and Awards", kind="awards", items=[
                Item(title="FWF Stand-alone Project", subtitle="EUR 380,000",
                     start_date="2022"),
                Item(title="Best Paper Award", subtitle="AISTATS", start_date="2019"),
            ]),
            Section(title="Skills", kind="skills", items=[
                Item(title="Software", bullets=["R", "Stan", "Python", "Julia"])]),
        ])


def texts(document: ResumeDocument) -> list[str]:
    """What a reader of the PDF must find: the name, each section title, each item's title,
    each bullet (skills and languages show their title and items on one line)."""
    found = [document.contact.name]
    for section in document.sections:
        found.append(section.title)
        for item in section.items:
            found += [x for x in (item.title, *item.bullets) if x]
    return found


def field_texts(document: ResumeDocument) -> list[str]:
    """Every text field of the document in document order, but those an export shows
    nowhere (the document's title names the file; template, locale, ids and section kinds
    are not text): what each export must show, in this order. Walks the models, so a field added to
    the document is asked of every export at once."""
    return list(_texts(document, skip={"title", "template", "locale"}))


def _texts(model: BaseModel, skip: set[str]) -> Iterator[str]:
    for name in type(model).model_fields:
        if name in skip or name in ("id", "kind"):
            continue
        value = getattr(model, name)
        for part in value if isinstance(value, list) else [value]:
            if isinstance(part, BaseModel):
                yield from _texts(part, set())
            elif isinstance(part, str) and part.strip():
                yield part


def arabic() -> ResumeDocument:
    """A one-page resume in Arabic (locale ar), dates typed as YYYY-MM and in words."""
    return ResumeDocument(
        title="ليلى حسن - هندسة البرمجيات", template="standard", locale="ar",
        contact=Contact(name="ليلى حسن", email="layla.hassan@example.org",
                        phone="+20 2 1234 5678", location="القاهرة، مصر",
                        links=[Link(label="GitHub", url="https://github.com/lhassan")]),
        sections=[
            Section(title="الملخص", kind="summary", items=[Item(description=(
                "مهندسة برمجيات لديها ثماني سنوات من الخبرة في بناء أنظمة الدفع والخدمات "
                "اللوجستية"))]),
            Section(title="الخبرة العملية", kind="experience", items=[
                Item(title="مهندسة برمجيات أولى", subtitle="شركة النيل للشحن",
                     location="القاهرة", start_date="2021-03", end_date="حتى الآن", bullets=[
                         "قادت إعادة كتابة خدمة التوجيه وخفضت زمن الاستجابة",
                         "صممت دفتر الشحنات المستخدم من أربعين فريقا"]),
                Item(title="مهندسة برمجيات", subtitle="مصرف الإسكندرية",
                     location="الإسكندرية", start_date="2018-01", end_date="2021-02",
                     bullets=["بنت خط المطابقة لمليوني عملية دفع يوميا"]),
            ]),
            Section(title="التعليم", kind="education", items=[
                Item(title="بكالوريوس علوم الحاسب", subtitle="جامعة القاهرة",
                     start_date="2011", end_date="2015")]),
            Section(title="المهارات", kind="skills", items=[
                Item(title="اللغات البرمجية", bullets=["Python", "Go", "SQL"])]),
        ])


def hebrew() -> ResumeDocument:
    return ResumeDocument(
        title="נועה לוי", template="standard", locale="he",
        contact=Contact(name="נועה לוי", email="noa.levi@example.org", location="תל אביב"),
        sections=[
            Section(title="ניסיון תעסוקתי", kind="experience", items=[
                Item(title="מהנדסת תוכנה בכירה", subtitle="חברת הנמל", location="חיפה",
                     start_date="2020-09", end_date="היום", bullets=[
                         "הובילה את שכתוב שירות הניתוב", "תכננה את מערכת החיובים"])]),
            Section(title="השכלה", kind="education", items=[
                Item(title="תואר ראשון במדעי המחשב", subtitle="הטכניון", start_date="2012",
                     end_date="2016")]),
        ])


def persian() -> ResumeDocument:
    return ResumeDocument(
        title="سارا احمدی", template="standard", locale="fa",
        contact=Contact(name="سارا احمدی", email="sara.ahmadi@example.org", location="تهران"),
        sections=[
            Section(title="سوابق کاری", kind="experience", items=[
                Item(title="مهندس نرم‌افزار ارشد", subtitle="گروه پژوهشی چابهار",
                     location="تهران", start_date="2019-04", end_date="اکنون", bullets=[
                         "طراحی سامانه پرداخت برای یک میلیون کاربر",
                         "راه‌اندازی پایش خودکار سرویس‌ها"])]),
            Section(title="مهارت‌ها", kind="skills", items=[
                Item(title="زبان‌ها", bullets=["Python", "Kotlin"])]),
        ])


def localized(document: ResumeDocument, locale: str) -> ResumeDocument:
    return document.model_copy(update={"locale": locale})
