"""Resume documents to the source an engine compiles.

LaTeX templates (`<name>.tex.jinja`) are rendered to TeX by Jinja2 with LaTeX-safe
delimiters and one escaping function that every user string passes through. Typst templates
(`typst/<name>/main.typ` with a `template.toml` manifest, compile_service.manifests) are not
rendered at all: their source is the resume and the resolved options as JSON, which the
template reads as a data file (compile_service.typesetting.typst): nothing to escape.

Both see the document as its locale shows it (compile_service.locales: its dates in the
locale's words), and what the locale asks of them: Typst templates its language, region,
direction and the fonts for its script (`locale` beside the resume in the JSON), LaTeX
templates the names of TeX's hyphenation patterns for it. A template is refused a locale
whose script it does not show (UnsupportedLocale: pdflatex shows Latin alone).

Delimiters: ``((( expr )))`` for values, ``((* stmt *))`` for blocks, ``((= comment =))``,
so TeX's braces and percent signs never clash with Jinja. Every ``((( ... )))`` goes through
`finalize`, which escapes it with `escape_tex` unless it is `TexSafe` (only `escape_url`
makes those): a template cannot forget to escape, and user text never becomes TeX code.
"""

import hashlib
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import orjson
from jinja2 import Environment, FileSystemLoader, StrictUndefined

from compile_service.locales import Language, language_of, shown_json, with_shown_dates
from compile_service.manifests import (
    LATEX_SCRIPTS,
    LanguageSupport,
    Option,
    OptionValue,
    Scripts,
    read_manifest,
    resolve_options,
    unsupported_locale,
)
from contracts.presentation import shown_document
from contracts.resume import ResumeDocument

BUILTIN_TEMPLATES = Path(__file__).parent / "templates"
TEMPLATE_SUFFIXES = {".tex.jinja": "pdflatex"}
TYPST_FOLDER = "typst"  # <template dir>/typst/<name>/{main.typ,template.toml}, helpers beside
TYPST_ENGINE, TYPST_MANIFEST, TYPST_MAIN = "typst", "template.toml", "main.typ"
_TEMPLATE_NAME = re.compile(r"^[a-z0-9_-]{1,64}$")
MISSING_GLYPH = "?"


class TexSafe(str):
    """A string that is already valid TeX (made only by this module)."""


_SPECIALS = {
    "\\": r"\textbackslash{}", "{": r"\{", "}": r"\}", "$": r"\$", "&": r"\&", "#": r"\#",
    "^": r"\textasciicircum{}", "_": r"\_", "%": r"\%", "~": r"\textasciitilde{}",
    "`": r"\textasciigrave{}", "<": r"\textless{}", ">": r"\textgreater{}",
    "|": r"\textbar{}", '"': r"\textquotedbl{}",
    # brackets only matter after commands with optional arguments (\item[..], \\[..])
    "[": "{[}", "]": "{]}",
}
_WHITESPACE = {"\n", "\r", "\t", "\v", "\f", "\u2028", "\u2029"}

# Code points above ASCII that pdflatex can typeset with T1/TS1 + Latin Modern: those with a
# \DeclareUnicodeCharacter in t1enc/ts1enc/ot1enc/omsenc.dfu (TeX Live 2022).
_SUPPORTED_RANGES = (
    (0x00A0, 0x0125), (0x0128, 0x0137), (0x0139, 0x013E), (0x0141, 0x0148), (0x014A, 0x0165),
    (0x0168, 0x017E), (0x0192, 0x0192), (0x01C4, 0x01D4), (0x01E2, 0x01E3), (0x01E6, 0x01EB),
    (0x01F0, 0x01F0), (0x01F4, 0x01F5), (0x0218, 0x021B), (0x0232, 0x0233), (0x0237, 0x0237),
    (0x02C7, 0x02C7), (0x02D8, 0x02D9), (0x02DB, 0x02DB), (0x02DD, 0x02DD), (0x0E3F, 0x0E3F),
    (0x1E02, 0x1E03), (0x1E0D, 0x1E0D), (0x1E1E, 0x1E21), (0x1E25, 0x1E25), (0x1E30, 0x1E31),
    (0x1E37, 0x1E37), (0x1E43, 0x1E43), (0x1E45, 0x1E45), (0x1E47, 0x1E47), (0x1E5B, 0x1E5B),
    (0x1E63, 0x1E63), (0x1E6D, 0x1E6D), (0x1E8E, 0x1E91), (0x1E9E, 0x1E9E), (0x1EF2, 0x1EF3),
    (0x2010, 0x2016), (0x2018, 0x201A), (0x201C, 0x201E), (0x2020, 0x2022), (0x2030, 0x2031),
    (0x2039, 0x203B), (0x203D, 0x203D), (0x2044, 0x2044), (0x204E, 0x204E), (0x2052, 0x2052),
    (0x20A1, 0x20A1), (0x20A4, 0x20A4), (0x20A6, 0x20A6), (0x20A9, 0x20A9), (0x20AB, 0x20AC),
    (0x20B1, 0x20B1), (0x2103, 0x2103), (0x2116, 0x2117), (0x211E, 0x211E), (0x2120, 0x2120),
    (0x2122, 0x2122), (0x2126, 0x2127), (0x212E, 0x212E), (0x2190, 0x2193), (0x2329, 0x232A),
    (0x2422, 0x2423), (0x25E6, 0x25E6), (0x25EF, 0x25EF), (0x266A, 0x266A), (0x27E8, 0x27E9),
    (0x3008, 0x3009), (0xFB00, 0xFB06),
)


def _typesettable(char: str) -> bool:
    code = ord(char)
    if 0x20 <= code < 0x7F:
        return True
    return any(low <= code <= high for low, high in _SUPPORTED_RANGES)


def _tex_char(char: str) -> str:
    if char in _SPECIALS:
        return _SPECIALS[char]
    if char in _WHITESPACE:
        return " "
    if unicodedata.category(char) in ("Cc", "Cf", "Cs", "Mn", "Me"):
        return ""  # control, format (bidi overrides, zero-width), surrogates, stray marks
    if _typesettable(char):
        return char
    folded = "".join(c for c in unicodedata.normalize("NFKD", char)
                     if _typesettable(c) and c not in _SPECIALS)
    return folded or MISSING_GLYPH


def escape_tex(value: object) -> str:
    """Any value as TeX text that typesets literally: TeX's special characters become
    their text commands, `^^` notation cannot form (``^`` is escaped), control and format
    characters are dropped, and characters the fonts lack become compatible ASCII when
    Unicode has a decomposition, else ``?``."""
    if value is None:
        return ""
    text = unicodedata.normalize("NFC", str(value))
    return "".join(_tex_char(c) for c in text)


_URL_OK = re.compile(r"^(https?://|mailto:)", re.IGNORECASE)
# left as is: unreserved and reserved characters that mean nothing to TeX (after escaping)
_URL_SAFE = "-.:/?=@!*'(),;+[]&#"


def escape_url(url: object) -> TexSafe:
    """A http(s)/mailto URL for the first argument of \\href: everything outside a small
    safe set is percent-encoded (including ``\\ { } ^ ~ _ $`` and non-ASCII), and ``% # &``
    are backslash-escaped, which hyperref turns back into the plain characters. Any other
    scheme gives an empty link."""
    text = str(url or "").strip()
    if not _URL_OK.match(text) or any(unicodedata.category(c)[0] == "C" for c in text):
        return TexSafe("")
    encoded = quote(text, safe=_URL_SAFE + "%")  # existing %XX escapes stay as they are
    encoded = encoded.replace("_", "%5F").replace("~", "%7E")  # quote() never encodes these
    encoded = re.sub(r"%(?![0-9A-Fa-f]{2})", "%25", encoded)
    return TexSafe(encoded.replace("%", r"\%").replace("#", r"\#").replace("&", r"\&"))


def _finalize(value: Any) -> str:
    return value if isinstance(value, TexSafe) else escape_tex(value)


@dataclass(frozen=True)
class Template:
    name: str
    engine: str
    description: str
    filename: str  # Jinja: the file's name in its directory; Typst: main.typ's path in `root`
    one_page: bool = False
    options: Mapping[str, Option] = field(default_factory=dict)
    fonts: tuple[str, ...] = ()  # font families it needs, when the engine checks them
    root: Path | None = None  # Typst: the only folder the engine may read
    digest: str = ""  # Typst: of every file under `root`, so a template change is a new PDF
    scripts: Scripts = field(default_factory=lambda: dict(LATEX_SCRIPTS))

    @property
    def languages(self) -> LanguageSupport:
        return LanguageSupport.of(self.scripts)


_DESCRIPTION = re.compile(r"\(\(=\s*(.*?)\s*=\)\)", re.S)


def discover_templates(directories: list[Path]) -> dict[str, Template]:
    """Templates by name; a later directory overrides an earlier one."""
    found: dict[str, Template] = {}
    for directory in directories:
        for path in sorted(directory.iterdir()) if directory.is_dir() else []:
            for suffix, engine in TEMPLATE_SUFFIXES.items():
                if path.name.endswith(suffix):
                    name = path.name.removesuffix(suffix)
                    head = _DESCRIPTION.search(path.read_text(encoding="utf-8")[:2000])
                    found[name] = Template(name, engine, head.group(1) if head else name,
                                           path.name)
        found |= discover_typst_templates(directory / TYPST_FOLDER)
    return found


def discover_typst_templates(root: Path) -> dict[str, Template]:
    """Every `<root>/<name>/template.toml` with a `main.typ` beside it."""
    if not root.is_dir():
        return {}
    root = root.resolve()
    digest = folder_digest(root)
    found = {}
    for manifest_path in sorted(root.glob(f"*/{TYPST_MANIFEST}")):
        folder = manifest_path.parent
        if not _TEMPLATE_NAME.match(folder.name) or not (folder / TYPST_MAIN).is_file():
            continue
        manifest = read_manifest(manifest_path)
        found[folder.name] = Template(
            folder.name, manifest.engine, manifest.description,
            f"{folder.name}/{TYPST_MAIN}", manifest.one_page, manifest.options,
            manifest.all_fonts(), root, digest, manifest.scripts)
    return found


def folder_digest(root: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        digest.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def typst_source(template: Template, document: ResumeDocument,
                 options: Mapping[str, OptionValue]) -> str:
    """The JSON a Typst template reads: which template (and which version of its files), the
    resolved options, the locale and the resume as shown (its dates in the locale's words),
    in a stable order (the content address hashes it)."""
    language = language_of(document.locale)
    return orjson.dumps({
        "template": {"name": template.name, "digest": template.digest},
        "options": dict(options), "locale": typst_locale(template, language),
        "resume": shown_json(shown_document(document)),
    }).decode()


def typst_locale(template: Template, language: Language) -> dict[str, object]:
    """Typst's `text(lang, region, dir)`, and the fonts that draw the script's letters."""
    return {"tag": language.tag, "lang": language.language, "region": language.region,
            "dir": language.direction, "script": language.script,
            "fonts": list(template.scripts.get(language.script, ()))}


@dataclass(frozen=True)
class RenderedSource:
    template: Template
    source: str

    def content_key(self, engine_fingerprint: str) -> str:
        """The content address of the PDF: hash of engine, template and rendered source."""
        digest = hashlib.sha256()
        for part in (engine_fingerprint, self.template.name, self.source):
            digest.update(part.encode())
            digest.update(b"\0")
        return digest.hexdigest()


class Renderer:
    def __init__(self, directories: list[Path]) -> None:
        self.templates = discover_templates(directories)
        self.env = Environment(
            loader=FileSystemLoader([str(d) for d in reversed(directories)]),
            block_start_string="((*", block_end_string="*))",
            variable_start_string="(((", variable_end_string=")))",
            comment_start_string="((=", comment_end_string="=))",
            trim_blocks=True, lstrip_blocks=True, autoescape=False, keep_trailing_newline=True,
            undefined=StrictUndefined, finalize=_finalize, auto_reload=False,
        )
        self.env.filters["url"] = escape_url

    def has(self, name: str) -> bool:
        return name in self.templates

    def render(self, template_name: str, document: ResumeDocument,
               options: Mapping[str, object] | None = None) -> RenderedSource:
        """The source of `document` in the template, with `options` (InvalidOptions when
        they are not the template's or out of bounds; LaTeX templates declare none);
        UnsupportedLocale when the template does not show the document's locale."""
        template = self.templates[template_name]
        resolved = resolve_options(template.options, options)
        self.check_locale(template, document.locale)
        if template.engine == TYPST_ENGINE:
            return RenderedSource(template, typst_source(template, document, resolved))
        shown = with_shown_dates(shown_document(document))
        source = self.env.get_template(template.filename).render(
            resume=shown, contact=shown.contact, sections=shown.sections,
            locale=document.locale, hyphenation=language_of(document.locale).tex_patterns())
        return RenderedSource(template, source)

    def check_locale(self, template: Template, locale: str) -> None:
        """UnsupportedLocale when `template` cannot show `locale`'s script."""
        language = language_of(locale)
        if language.script in template.scripts:
            return
        able = [t.name for t in self.templates.values() if language.script in t.scripts]
        raise unsupported_locale(template.name, template.engine, language, able)
