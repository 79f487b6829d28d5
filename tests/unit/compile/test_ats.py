"""The ATS check's pure parts on texts written by hand (as `pdftotext -raw` would give them):
the comparison keys, fields found in order, missing and out-of-order paths, sections in an
order of the template's own, running footers, ligatures, fonts without ToUnicode maps, the
score; and the poppler calls' failures."""

import pytest

from compile_service import ats
from compile_service.ats import AtsUnavailable, Extraction, Font, IssueCode, assess
from contracts.resume import Contact, Item, Link, ResumeDocument, Section


def resume() -> ResumeDocument:
    return ResumeDocument(
        contact=Contact(name="Ada Lovelace", email="ada@example.org", phone="+44 20 7946 0000",
                        location="London", links=[Link(label="GitHub", url="https://x.org")]),
        sections=[
            Section(title="Experience", kind="experience", items=[
                Item(title="Analyst", subtitle="Analytical Engines", location="London",
                     start_date="1842-03", end_date="1843",
                     bullets=["Wrote the first published algorithm",
                              "Computed Bernoulli numbers", "Described looping"]),
                Item(title="Translator", subtitle="Scientific Memoirs", start_date="1842",
                     description="Translated Menabrea's paper on the engine.")]),
            Section(title="Skills", kind="skills", items=[
                Item(title="Mathematics", bullets=["analysis", "probability"])]),
        ])


HEADER = "Ada Lovelace\nada@example.org • +44 20 7946 0000 • London • GitHub\n"
EXPERIENCE = ("Experience\nAnalyst 1842-03 – 1843\nAnalytical Engines London\n"
              "• Wrote the first published algorithm\n• Computed Bernoulli numbers\n"
              "• Described looping\nTranslator 1842\nScientific Memoirs\n"
              "Translated Menabrea’s paper on the engine.\n")
SKILLS = "Skills\nMathematics: analysis, probability\n"
FONT = Font("ABCDEF+DejaVuSans", "CID TrueType", "Identity-H", to_unicode=True)


def report(text: str, document: ResumeDocument | None = None,
           fonts: tuple[Font, ...] = (FONT,)) -> ats.AtsReport:
    return assess(Extraction(text, fonts), document or resume())


def test_keys_ignore_case_whitespace_hyphens_dashes_quotes_and_compatibility_forms() -> None:
    assert ats.key("Event-\nsourced  “Ledger” – ﬁnance") == ats.key('eventsourced "ledger" finance')
    assert ats.key("Ｆｕｌｌ width") == "fullwidth"
    assert ats.key(" \u200b ") == ""


def test_a_month_date_matches_its_written_and_named_forms() -> None:
    keys = ats.date_keys("2021-03")
    for form in ("2021-03", "Mar 2021", "März 2021", "mars 2021", "March 2021", "03/2021"):
        assert ats.key(form) in keys, form
    assert ats.date_keys("present") == ("present",)
    assert ats.date_keys("2021-13") == ("202113",)


def test_every_field_found_in_order_scores_100() -> None:
    found = report(HEADER + EXPERIENCE + SKILLS)
    assert (found.score, found.checked, found.found) == (100, 22, 22)
    assert found.missing == [] and found.issues == []


def test_a_field_that_is_not_there_is_missing_by_its_path() -> None:
    found = report(HEADER + EXPERIENCE.replace("• Computed Bernoulli numbers\n", "") + SKILLS)
    assert found.missing == ["sections.0.items.0.bullets.1"]
    assert found.score == 100 * 21 // 22 and found.issues == []


def test_swapped_bullets_leave_one_out_of_order_and_name_the_reading_order() -> None:
    swapped = EXPERIENCE.replace("• Wrote the first published algorithm\n• Computed Bernoulli "
                                 "numbers\n", "• Computed Bernoulli numbers\n• Wrote the first "
                                 "published algorithm\n")
    found = report(HEADER + swapped + SKILLS)
    assert found.missing == ["sections.0.items.0.bullets.0"]  # found ahead of its place
    assert found.codes() == [IssueCode.READING_ORDER]
    assert found.score == 100 * 21 // 22 - ats.ISSUE_PENALTY


def test_one_field_far_from_its_place_costs_that_field_only() -> None:
    moved = EXPERIENCE.replace("• Computed Bernoulli numbers\n", "")
    found = report(HEADER + moved + SKILLS + "• Computed Bernoulli numbers\n")
    assert found.missing == ["sections.0.items.0.bullets.1"]
    assert found.codes() == [IssueCode.READING_ORDER]


def test_sections_may_come_in_the_templates_own_order() -> None:
    """A sidebar shows the skills first: that reads in order."""
    assert report(HEADER + SKILLS + EXPERIENCE).score == 100


def test_the_name_and_contact_fields_must_come_first() -> None:
    found = report(EXPERIENCE + SKILLS + HEADER)
    assert "contact.name" not in found.missing  # the cursor starts at the header
    assert set(found.missing) >= {"sections.0.title", "sections.1.title"}
    assert IssueCode.READING_ORDER in found.codes()


def test_an_items_title_subtitle_place_and_dates_may_come_in_any_order() -> None:
    reordered = EXPERIENCE.replace("Analyst 1842-03 – 1843\nAnalytical Engines London",
                                   "Mar 1842 – 1843 London\nAnalytical Engines, Analyst")
    assert report(HEADER + reordered + SKILLS).score == 100


def test_two_sections_read_line_by_line_across_columns_come_out_of_order() -> None:
    left, right = EXPERIENCE.splitlines(), SKILLS.splitlines() + ["", "", "", ""]
    interleaved = "\n".join(f"{a}\n{b}" for a, b in zip(left, right, strict=False))
    found = report(HEADER + interleaved + "\n" + "\n".join(left[len(right):]))
    assert IssueCode.READING_ORDER in found.codes()
    assert found.score < 80


def test_a_field_broken_across_pages_by_a_running_footer_reads_whole() -> None:
    pages = [HEADER + "Experience\nAnalyst 1842-03 – 1843\nAnalytical Engines London\n"
             "• Wrote the first published",
             "algorithm\nAda Lovelace page 2 of 3",
             "• Computed Bernoulli numbers\n• Described looping\nTranslator 1842\nScientific "
             "Memoirs\nTranslated Menabrea’s paper on the engine.\n" + SKILLS +
             "Ada Lovelace page 3 of 3"]
    assert report("\f".join(pages) + "\f").score == 100
    assert "Ada Lovelace page 2 of 3" not in ats.drop_running_lines("\f".join(pages))


def test_a_line_repeated_at_page_edges_with_other_numbers_is_content() -> None:
    pages = ["Name\n[1] Paper 1: sampling", "[12] Paper 12: sampling\nx", "[24] Paper 24: "
             "sampling\ny"]
    assert ats.drop_running_lines("\f".join(pages)).count("Paper") == 3


def test_ligature_glyphs_in_the_text_are_found_but_named() -> None:
    document = resume()
    document.sections[0].items[0].bullets[0] = "Filed the first financial report"
    found = report(HEADER + EXPERIENCE.replace("Wrote the first published algorithm",
                                               "Filed the ﬁrst ﬁnancial report") + SKILLS,
                   document)
    assert found.found == found.checked
    assert found.codes() == [IssueCode.BROKEN_LIGATURES] and "ﬁ" in found.issues[0]
    assert found.score == 100 - ats.ISSUE_PENALTY


def test_ligatures_the_document_itself_holds_are_no_issue() -> None:
    document = resume()
    document.sections[0].items[0].bullets[0] = "ﬁne print"
    text = HEADER + EXPERIENCE.replace("Wrote the first published algorithm", "ﬁne print")
    assert report(text + SKILLS, document).issues == []


def test_ligatures_that_map_to_no_text_are_named() -> None:
    document = resume()
    document.sections[0].items[0].bullets[0] = "Filed the first financial report"
    text = HEADER + EXPERIENCE.replace("Wrote the first published algorithm",
                                       "Filed the rst nancial report")
    found = report(text + SKILLS, document)
    assert found.missing == ["sections.0.items.0.bullets.0"]
    assert found.codes() == [IssueCode.BROKEN_LIGATURES]


def test_no_text_scores_0_and_lists_every_path() -> None:
    found = report("\f\f", fonts=())
    assert (found.score, found.found, found.checked) == (0, 0, 22)
    assert found.missing[0] == "contact.name" and len(found.missing) == 22
    assert found.codes() == [IssueCode.NO_TEXT] and "outlines" in found.issues[0]


def test_missing_lists_at_most_its_limit_while_found_and_checked_count_all() -> None:
    many = ResumeDocument(sections=[Section(title="Long", items=[
        Item(bullets=[f"bullet {n}" for n in range(30)]) for _ in range(10)])])
    found = report("", many, fonts=())
    assert found.checked == 301 and len(found.missing) == ats.MAX_MISSING_PATHS


def test_a_resume_of_more_fields_than_the_limit_is_checked_on_its_first_ones() -> None:
    huge = ResumeDocument(sections=[Section(title=f"S{s}", items=[
        Item(title=f"T{s}.{i}", bullets=[f"B{s}.{i}.{b}" for b in range(5)]) for i in range(50)])
        for s in range(10)])
    header, sections = ats.expected(huge)
    assert sum(len(unit) for block in sections for unit in block) == ats.MAX_CHECKED_FIELDS
    first = "\n".join(f.shown for block in sections for unit in block for f in unit)
    assert report(first, huge).model_dump() == {
        "score": 100, "checked": ats.MAX_CHECKED_FIELDS, "found": ats.MAX_CHECKED_FIELDS,
        "missing": [], "issues": []}


def test_an_empty_resume_checks_nothing_and_scores_100() -> None:
    assert report("", ResumeDocument()).model_dump() == {
        "score": 100, "checked": 0, "found": 0, "missing": [], "issues": []}


def test_an_unreadable_pdf_scores_0() -> None:
    found = assess(Extraction("", error="May not be a PDF file"), resume())
    assert found.score == 0 and found.codes() == [IssueCode.UNREADABLE_PDF]


def test_a_font_without_a_tounicode_map_is_named_unless_its_encoding_is_standard() -> None:
    unmapped = Font("XYZ+Custom", "Type 3", "Custom", to_unicode=False)
    standard = Font("Helvetica", "Type 1", "WinAnsi", to_unicode=False)
    found = report(HEADER + EXPERIENCE + SKILLS, fonts=(FONT, unmapped, standard))
    assert found.codes() == [IssueCode.MISSING_TOUNICODE] and "XYZ+Custom" in found.issues[0]
    assert found.score == 100 - ats.ISSUE_PENALTY
    assert report(HEADER + EXPERIENCE + SKILLS, fonts=(FONT, standard)).issues == []


def test_penalties_add_up_per_kind_of_issue() -> None:
    unmapped = Font("XYZ", "Type 3", "Custom", to_unicode=False)
    text = HEADER + SKILLS + EXPERIENCE.replace("Described looping", "Described ﬂoping")
    document = resume()
    document.sections[0].items[0].bullets[2] = "Described floping"
    found = report(text.replace("• Computed Bernoulli numbers\n", "") +
                   "• Computed Bernoulli numbers\n", document, fonts=(unmapped,))
    assert set(found.codes()) == {IssueCode.READING_ORDER, IssueCode.BROKEN_LIGATURES,
                                  IssueCode.MISSING_TOUNICODE}
    assert found.score == 100 * 21 // 22 - 3 * ats.ISSUE_PENALTY


PDFFONTS = """\
name                                 type              encoding         emb sub uni object ID
------------------------------------ ----------------- ---------------- --- --- --- ---------
XHXPIU+DejaVuSans-Bold               CID TrueType      Identity-H       yes yes yes    117  0
[none]                               Type 3            Custom           yes no  no       8  0
Helvetica                            Type 1            WinAnsi          no  no  no       9  0
"""


def test_pdffonts_is_read_by_its_columns() -> None:
    assert ats.parse_pdffonts(PDFFONTS) == (
        Font("XHXPIU+DejaVuSans-Bold", "CID TrueType", "Identity-H", True),
        Font("[none]", "Type 3", "Custom", False), Font("Helvetica", "Type 1", "WinAnsi", False))
    assert ats.parse_pdffonts("name type\n") == ()


def test_what_is_not_a_pdf_is_reported_unreadable() -> None:
    found = ats.check(b"not a pdf at all", resume())
    assert found.score == 0 and found.codes() == [IssueCode.UNREADABLE_PDF]


def test_without_poppler_the_check_is_unavailable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(AtsUnavailable, match="poppler"):
        ats.extract(b"%PDF-1.4")


async def test_a_check_past_its_time_limit_is_unavailable() -> None:
    with pytest.raises(AtsUnavailable, match="time limit"):
        await ats.check_async(b"%PDF-1.4", resume(), timeout=0)
