"""What a resume's `locale` (a BCP 47 tag: contracts.resume) means to the templates: the
language and region Typst's text takes, the script and direction (right to left for Arabic,
Hebrew, Thaana, ... scripts), the names of TeX's hyphenation patterns for it, and how its
dates read.

The tag is read by Babel (CLDR): a tag Babel does not know falls back to its language, then
to `en`, for the dates; the script is the tag's own script subtag, else the language's most
likely one (CLDR's likely subtags: `ar` -> Arab, `sr` -> Cyrl), else Latin. Dates typed as
`YYYY-MM` or `YYYY-MM-DD` are shown in the locale's words (`2021-03`: "Mar 2021", "März 2021",
"mars 2021"); anything else ("2019", "Present", "heute") is shown as typed.
"""

import datetime
import functools
import re
from dataclasses import dataclass
from typing import Any

from babel import Locale, UnknownLocaleError
from babel.core import get_global
from babel.dates import format_skeleton

from contracts.resume import Item, ResumeDocument

FALLBACK = "en"
LATIN = "Latn"
RTL_SCRIPTS = frozenset({"Arab", "Hebr", "Syrc", "Thaa", "Nkoo", "Adlm", "Rohg", "Mand"})
_SCRIPT = re.compile(r"^[A-Za-z]{4}$")
_REGION = re.compile(r"^[A-Za-z]{2}$")
_TEX_NAME = re.compile(r"^[a-z]+$")  # only letters may stand in a control sequence name
_YEAR_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_YEAR_MONTH_DAY = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")

# TeX's pattern names (language.dat) where they are not the language's English name
_TEX_PATTERNS = {
    "de": ("ngerman", "german"), "de-CH": ("swissgerman", "ngerman", "german"),
    "en": ("english",), "en-GB": ("british", "ukenglish", "english"),
    "en-US": ("american", "usenglish", "english"), "nb": ("bokmal", "norwegian", "norsk"),
    "nn": ("nynorsk", "norwegian"), "no": ("norwegian", "norsk", "bokmal"),
    "el": ("monogreek", "greek"), "pt-BR": ("brazilian", "portuguese"),
    "sl": ("slovenian", "slovene"), "ms": ("malay", "bahasam"), "id": ("indonesian", "bahasai"),
}


@dataclass(frozen=True)
class Language:
    """A locale as the templates use it."""

    tag: str  # as the document has it
    language: str  # ISO 639, lower case: Typst's `lang`
    region: str | None  # ISO 3166 alpha-2, upper case: Typst's `region`
    script: str  # ISO 15924, e.g. Latn, Arab, Hebr
    babel: Locale  # what formats its dates: the tag, else its language, else en

    @property
    def rtl(self) -> bool:
        return self.script in RTL_SCRIPTS

    @property
    def direction(self) -> str:
        return "rtl" if self.rtl else "ltr"

    def tex_patterns(self) -> tuple[str, ...]:
        """Names of TeX hyphenation patterns for it, the best first (a template uses the
        first its format holds, else none)."""
        key = f"{self.language}-{self.region}" if self.region else self.language
        known = _TEX_PATTERNS.get(key, ()) + _TEX_PATTERNS.get(self.language, ())
        named = self.babel.english_name if self.babel.language == self.language else ""
        own = (named or "").split(" (")[0].lower()
        return tuple(dict.fromkeys(known + ((own,) if _TEX_NAME.match(own) else ())))


@functools.lru_cache(maxsize=512)
def language_of(tag: str) -> Language:
    subtags = tag.split("-")
    language = subtags[0].lower()
    script = next((s.title() for s in subtags[1:2] if _SCRIPT.match(s)), None)
    rest = subtags[2:] if script else subtags[1:]
    region = next((s.upper() for s in rest[:1] if _REGION.match(s)), None)
    return Language(tag, language, region, script or _likely_script(language),
                    _babel_locale(tag, language))


def _likely_script(language: str) -> str:
    likely = get_global("likely_subtags").get(language)
    parts = likely.split("_") if likely else []
    return parts[1] if len(parts) > 1 and _SCRIPT.match(parts[1]) else LATIN


def _babel_locale(tag: str, language: str) -> Locale:
    for candidate in (tag, language):
        try:
            return Locale.parse(candidate, sep="-")
        except (UnknownLocaleError, ValueError, TypeError):
            continue
    return Locale.parse(FALLBACK)


@functools.lru_cache(maxsize=4096)
def shown_date(text: str, tag: str) -> str:
    """A date as the locale writes it, when typed as YYYY-MM or YYYY-MM-DD; else as typed."""
    if match := _YEAR_MONTH.match(text):
        skeleton, parts = "yMMM", (int(match[1]), int(match[2]), 1)
    elif match := _YEAR_MONTH_DAY.match(text):
        skeleton, parts = "yMMMd", (int(match[1]), int(match[2]), int(match[3]))
    else:
        return text
    try:
        day = datetime.date(*parts)
    except ValueError:
        return text  # 2021-13 is no date: shown as typed
    return format_skeleton(skeleton, day, locale=language_of(tag).babel)


def shown_json(document: ResumeDocument) -> dict[str, Any]:
    """The document as JSON data, as the templates show it: every item's dates in the
    locale's words (what a Typst template reads)."""
    data = document.model_dump(mode="json")
    for section in data["sections"]:
        for item in section["items"]:
            item["start_date"] = shown_date(item["start_date"], document.locale)
            item["end_date"] = shown_date(item["end_date"], document.locale)
    return data


def with_shown_dates(document: ResumeDocument) -> ResumeDocument:
    """The document as the templates show it: every item's dates in the locale's words (what
    a LaTeX template is rendered from)."""
    def shown(item: Item) -> Item:
        start = shown_date(item.start_date, document.locale)
        end = shown_date(item.end_date, document.locale)
        if (start, end) == (item.start_date, item.end_date):
            return item
        return item.model_copy(update={"start_date": start, "end_date": end})

    sections = [section.model_copy(update={"items": [shown(i) for i in section.items]})
                for section in document.sections]
    return document.model_copy(update={"sections": sections})
