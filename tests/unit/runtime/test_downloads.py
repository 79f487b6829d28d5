"""File answers: the Content-Disposition made from a title, and If-None-Match."""

import re
from urllib.parse import unquote

import pytest

from runtime.downloads import content_disposition, etag_matches

# RFC 6266: a quoted ASCII filename, then optionally the RFC 5987 ext-value
RFC_6266 = re.compile(r'attachment; filename="(?P<fallback>[ !#-\[\]-~]+)"'
                      r"(; filename\*=UTF-8''(?P<utf8>[A-Za-z0-9%!#$&+.^_`|~-]+))?")


def parsed(header: str) -> dict[str, str]:
    match = RFC_6266.fullmatch(header)
    assert match, header
    return {k: v for k, v in match.groupdict().items() if v is not None}


def test_an_ascii_title_names_the_file_as_it_is() -> None:
    assert parsed(content_disposition("Maria Schmidt - Backend", "md")) == {
        "fallback": "Maria Schmidt - Backend.md"}


def test_a_title_that_is_not_ascii_gets_a_fallback_and_the_utf8_name() -> None:
    names = parsed(content_disposition("Zoë Ålund: CV / Backend — 2026", "docx"))
    assert names["fallback"] == "Zoe Alund CV Backend 2026.docx"
    assert unquote(names["utf8"]) == "Zoë Ålund CV Backend — 2026.docx"


@pytest.mark.parametrize("title", ["", "   ", '"";\\', "日本語", "..", "\x01\x7f"])
def test_a_title_with_nothing_usable_in_ascii_falls_back_to_resume(title: str) -> None:
    assert parsed(content_disposition(title, "txt"))["fallback"] == "resume.txt"


def test_a_long_title_is_cut() -> None:
    header = content_disposition("x" * 500, "md")
    assert header == f'attachment; filename="{"x" * 100}.md"'


@pytest.mark.parametrize(("header", "matches"), [
    (None, False), ("", False), ('"a"', True), ('"b", "a"', True), ('W/"a"', True),
    ("*", True), ('"ab"', False), ("a", False)])
def test_if_none_match_names_the_etag(header: str | None, matches: bool) -> None:
    assert etag_matches(header, '"a"') is matches
