"""What a resume's locale means to the templates, without rendering: language, region,
script and direction from the tag; dates in the locale's words with fallbacks; the Typst
data and the LaTeX source it gives; the templates that refuse it; the ATS round trip's
dates and right-to-left reading order."""

import json

import pytest

from compile_service import ats
from compile_service.domain import UnsupportedLocale
from compile_service.locales import language_of, shown_date, with_shown_dates
from compile_service.rendering import BUILTIN_TEMPLATES, Renderer
from tests.samples import arabic, engineer, localized

TYPST_TEMPLATES = ["standard", "compact", "sidebar", "academic"]


@pytest.mark.parametrize(("tag", "language", "region", "script", "direction"), [
    ("en", "en", None, "Latn", "ltr"), ("de-CH", "de", "CH", "Latn", "ltr"),
    ("ar", "ar", None, "Arab", "rtl"), ("he", "he", None, "Hebr", "rtl"),
    ("fa-IR", "fa", "IR", "Arab", "rtl"), ("ur", "ur", None, "Arab", "rtl"),
    ("yi", "yi", None, "Hebr", "rtl"), ("ru", "ru", None, "Cyrl", "ltr"),
    ("sr-Latn-RS", "sr", "RS", "Latn", "ltr"), ("zh-Hant-TW", "zh", "TW", "Hant", "ltr"),
    ("EN-gb", "en", "GB", "Latn", "ltr"), ("es-419", "es", None, "Latn", "ltr"),
    ("xx", "xx", None, "Latn", "ltr"),
])
def test_a_tag_gives_typsts_language_region_script_and_direction(
        tag: str, language: str, region: str | None, script: str, direction: str) -> None:
    found = language_of(tag)
    assert (found.language, found.region, found.script, found.direction) == (
        language, region, script, direction)


@pytest.mark.parametrize(("tag", "typed", "shown"), [
    ("en", "2021-03", "Mar 2021"), ("de", "2021-03", "März 2021"),
    ("fr", "2021-03", "mars 2021"), ("ar", "2021-03", "مارس 2021"),
    ("he", "2021-03", "מרץ 2021"), ("en-GB", "2021-03-05", "5 Mar 2021"),
    ("de", "2021-03-05", "5. März 2021"), ("ja", "2021-03", "2021年3月"),
    ("de-XX", "2021-03", "März 2021"),  # an unknown region: its language
    ("xx", "2021-03", "Mar 2021"), ("qaa-Zzzz", "2021-03", "Mar 2021"),  # else en
    ("de", "2021", "2021"), ("de", "heute", "heute"), ("en", "Present", "Present"),
    ("de", "2021-13", "2021-13"), ("de", "2021-02-30", "2021-02-30"),
    ("de", "03/2021", "03/2021"),
])
def test_dates_typed_as_year_month_read_in_the_locales_words(
        tag: str, typed: str, shown: str) -> None:
    assert shown_date(typed, tag) == shown


def test_the_document_shown_has_its_dates_in_words_and_the_rest_untouched() -> None:
    document = localized(engineer(), "de")
    shown = with_shown_dates(document)
    first = shown.sections[1].items[0]
    assert (first.start_date, first.end_date) == ("März 2021", "present")
    assert shown.sections[3].items[0].start_date == "2020"
    assert document.sections[1].items[0].start_date == "2021-03"  # not changed in place
    assert shown.model_dump(exclude={"sections"}) == document.model_dump(exclude={"sections"})


def test_tex_pattern_names_best_first() -> None:
    assert language_of("de").tex_patterns() == ("ngerman", "german")
    assert language_of("de-CH").tex_patterns()[0] == "swissgerman"
    assert language_of("en-GB").tex_patterns() == ("british", "ukenglish", "english")
    assert language_of("fr").tex_patterns() == ("french",)
    assert language_of("nb").tex_patterns() == ("bokmal", "norwegian", "norsk")
    assert language_of("xx").tex_patterns() == ()


def test_a_typst_source_carries_the_locale_and_the_fonts_of_its_script() -> None:
    renderer = Renderer([BUILTIN_TEMPLATES])
    data = json.loads(renderer.render("standard", arabic()).source)
    assert data["locale"] == {"tag": "ar", "lang": "ar", "region": None, "dir": "rtl",
                              "script": "Arab", "fonts": ["Amiri"]}
    assert data["resume"]["sections"][1]["items"][0]["start_date"] == "مارس 2021"
    hebrew = json.loads(renderer.render("standard", localized(engineer(), "he-IL")).source)
    assert hebrew["locale"]["fonts"] == ["Frank Ruehl CLM"]
    assert hebrew["locale"]["region"] == "IL"
    german = json.loads(renderer.render("compact", localized(engineer(), "de")).source)
    assert german["locale"] == {"tag": "de", "lang": "de", "region": None, "dir": "ltr",
                                "script": "Latn", "fonts": []}


def test_every_typst_template_names_the_fonts_of_its_scripts_for_the_engine() -> None:
    templates = Renderer([BUILTIN_TEMPLATES]).templates
    assert {"Amiri", "Frank Ruehl CLM", "DejaVu Serif"} <= set(templates["standard"].fonts)
    assert "Amiri" in templates["compact"].fonts
    assert templates["classic"].languages.model_dump() == {"scripts": ("Latn",),
                                                          "right_to_left": False}


def test_the_latex_source_takes_the_locales_hyphenation_and_pdf_language() -> None:
    renderer = Renderer([BUILTIN_TEMPLATES])
    for template in ("classic", "modern"):
        source = renderer.render(template, localized(engineer(), "de-CH")).source
        lines = source.splitlines()
        fallback = lines.index(r"\ifcsname l@nohyphenation\endcsname\language="
                               r"\csname l@nohyphenation\endcsname\fi")
        assert lines[fallback + 1:fallback + 4] == [
            rf"\ifcsname l@{name}\endcsname\language=\csname l@{name}\endcsname\fi"
            for name in ("german", "ngerman", "swissgerman")]  # the best one last: it wins
        assert "pdflang={de-CH}" in source and "März 2021" in source


@pytest.mark.parametrize("locale", ["ar", "he", "fa", "ur-PK", "yi"])
@pytest.mark.parametrize("template", ["classic", "modern"])
def test_a_latex_template_refuses_a_right_to_left_locale(locale: str, template: str) -> None:
    renderer = Renderer([BUILTIN_TEMPLATES])
    with pytest.raises(UnsupportedLocale) as refused:
        renderer.render(template, localized(engineer(), locale))
    assert sorted(refused.value.able) == sorted(TYPST_TEMPLATES)
    assert "right to left" in str(refused.value) and template in str(refused.value)


def test_a_script_no_template_shows_is_refused_everywhere() -> None:
    renderer = Renderer([BUILTIN_TEMPLATES])
    for template in renderer.templates:
        with pytest.raises(UnsupportedLocale) as refused:
            renderer.render(template, localized(engineer(), "hi"))  # Devanagari
        assert refused.value.able == []
    with pytest.raises(UnsupportedLocale):
        renderer.render("classic", localized(engineer(), "ru"))
    assert renderer.render("standard", localized(engineer(), "ru")).source


def test_the_ats_reads_a_right_to_left_line_run_by_run_in_reading_order() -> None:
    rle, pdf = "\u202b", "\u202c"
    raw = (f"{rle}أولى{pdf} {rle}جيات{pdf}{rle}م{pdf}{rle}بر{pdf} {rle}مهندسة{pdf}\n"
           "layla@example.org\n\f"
           f"{rle}الآن{pdf} {rle}حتى{pdf} –")
    assert ats.reading_order(raw) == (f"{rle}مهندسة{pdf} {rle}بر{pdf}{rle}م{pdf}"
                                      f"{rle}جيات{pdf} {rle}أولى{pdf}\nlayla@example.org\n\f"
                                      f" –{rle}حتى{pdf} {rle}الآن{pdf}")


def test_the_ats_finds_dates_in_the_words_of_the_resumes_locale() -> None:
    assert ats.key("مارس 2021") in ats.date_keys("2021-03", "ar")
    assert ats.key("5. März 2021") in ats.date_keys("2021-03-05", "de")
    assert ats.key("mrt 2021") in ats.date_keys("2021-03", "nl")
    assert ats.key("Mar 2021") in ats.date_keys("2021-03")
    assert ats.date_keys("present", "de") == ("present",)


def test_an_english_resume_is_read_as_extracted() -> None:
    """Only a right-to-left resume's lines are reordered: an Arabic word in an English
    resume stays where it stands."""
    document = engineer()
    document.sections[0].items[0].description = "مرحبا world"
    raw = ats.Extraction("Maria Schmidt\n\u202bمرحبا\u202c world")
    report = ats.assess(raw, document)
    assert "sections.0.items.0.description" not in report.missing
