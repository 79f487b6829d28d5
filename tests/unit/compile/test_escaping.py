"""The one escaping function and the URL escaping, and that every character it lets through
really typesets with the real pdflatex."""

import unicodedata

import pytest

from compile_service.rendering import MISSING_GLYPH, TexSafe, _finalize, escape_tex, escape_url
from compile_service.typesetting.latex import PdfLatex
from compile_service.typesetting.sandbox import Limits

TEX_SPECIALS = "\\{}$&#^_%~"


@pytest.mark.parametrize("char", list(TEX_SPECIALS))
def test_every_tex_special_character_becomes_a_command_or_escaped_char(char: str) -> None:
    escaped = escape_tex(f"a{char}b")
    assert escaped != f"a{char}b"
    body = escaped[1:-1]
    assert body.startswith("\\")
    unescaped = body.replace("\\{", "").replace("\\}", "")
    assert unescaped.count("{") == unescaped.count("}")  # groups stay balanced


def test_caret_notation_cannot_form() -> None:
    escaped = escape_tex("^^5cinput{/etc/passwd} ^^M ^^@")
    assert "^^" not in escaped and "^" not in escaped.replace(r"\textasciicircum{}", "")


def test_no_backslash_survives_except_the_ones_escaping_made() -> None:
    escaped = escape_tex(r"\input{x}\\\csname")
    assert escaped.count("\\") == escaped.count(r"\textbackslash{}") + 2  # \{ \}
    assert "\\input" not in escaped and "\\csname" not in escaped


def test_control_and_bidi_format_characters_are_dropped() -> None:
    assert escape_tex("a\x00b\x07c\x1bd\x7fe") == "abcde"
    assert escape_tex("x\u202eevil\u202cy\u200b") == "xevily"
    assert escape_tex("line\nnext\ttab") == "line next tab"


def test_characters_the_fonts_lack_become_ascii_or_a_placeholder() -> None:
    assert escape_tex("café naïve Łódź ß €") == "café naïve Łódź ß €"
    assert escape_tex("Ｆｕｌｌ ﬁ") == "Full ﬁ"
    assert escape_tex("😀") == MISSING_GLYPH
    assert escape_tex("שלום") == MISSING_GLYPH * 4
    assert escape_tex("e\u0301") == "é"  # composed first


def test_brackets_cannot_become_an_optional_argument() -> None:
    assert escape_tex("[x]") == "{[}x{]}"


def test_none_is_empty_and_templates_cannot_output_unescaped_text() -> None:
    assert escape_tex(None) == ""
    assert _finalize(r"\x") == r"\textbackslash{}x"
    assert _finalize(TexSafe(r"\x")) == r"\x"


def test_urls_are_percent_encoded_and_tex_specials_escaped() -> None:
    url = escape_url("https://ex.com/a_b~c/{x}\\y^z$?q=1&r=2#frag%20 100%")
    assert url == (r"https://ex.com/a\%5Fb\%7Ec/\%7Bx\%7D\%5Cy\%5Ez\%24?q=1\&r=2\#frag\%20"
                   r"\%20100\%25")
    assert escape_url("mailto:a@b.c") == "mailto:a@b.c"
    assert escape_url("https://ex.com/é") == r"https://ex.com/\%C3\%A9"


@pytest.mark.parametrize("url", ["javascript:alert(1)", "file:///etc/passwd", "",
                                 "https://ex.com/\nx", None])
def test_other_schemes_and_control_characters_give_an_empty_link(url: object) -> None:
    assert escape_url(url) == ""


async def test_every_character_up_to_u_2fff_typesets_after_escaping() -> None:
    text = "".join(chr(c) for c in range(0x20, 0x3000)
                   if unicodedata.category(chr(c)) not in ("Cs",))
    lines = [escape_tex(text[i:i + 60]) for i in range(0, len(text), 60)]
    source = ("\\documentclass{article}\\usepackage[T1]{fontenc}\\usepackage{lmodern}"
              "\\begin{document}\n" + "\n\n".join(lines) + "\n\\end{document}\n")
    pdf = await PdfLatex(limits=Limits(wall_seconds=20)).compile(source)
    assert pdf.data.startswith(b"%PDF")
