"""The ATS round trip: read a produced PDF back as an applicant tracking system would and say
how much of the resume came out, in reading order, and what got in the way.

What is read: poppler's `pdftotext -raw`, the text in the order the PDF's content streams
write it (the order text-extraction libraries start from). The default mode rebuilds a
layout instead: it reads the right-aligned dates of an item as a column of their own, after
the item's bullets, and, Typst writing no space characters, loses spaces between short
words. `pdffonts`, run beside it, says which fonts lack a ToUnicode map.

What is looked for (every non-empty field, each one "checked"): the name, each contact field
(email, phone, location, each link's label), and per section its title, then per item its
title, subtitle, location and dates, its description, each bullet (the first
MAX_CHECKED_FIELDS of them: the cost grows with fields times text). Text and fields are
compared as keys: Unicode NFKC, case folded, without whitespace, hyphens, dashes and quotes
(a line may wrap anywhere, TeX hyphenates, Typst and TeX draw quotes and dashes their own
way); dates of the form 2021-03 (or 2021-03-05) also match the resume's locale's words for
them, as the templates show them (compile_service.locales), and "Mar 2021", "März 2021",
"mars 2021" and "03/2021". In a right-to-left resume each line's right-to-left runs, which
`-raw` writes in the order they stand on the page (left to right), are put back in reading
order first. Lines repeated at the edge of every page after the first (running footers) are
dropped first, so that a field broken across pages reads whole.

Order: the name first, then the contact fields, then each section; a template may show the
sections in an order of its own (a sidebar puts the skills first), so they are taken in the
order of their anchors in the text: the median position of their fields that occur there
once. Within that order a forward cursor looks each field up from where the previous one
ended; an item's title, subtitle, location and dates are looked up from the same cursor (a
group: templates order them differently) and the cursor moves past the last of them. A field
found only before the cursor came out of order, and so did one found ahead of its place (the
next field that occurs lies between the cursor and it, and not after it): the cursor stays,
so one field out of place costs that field, not every field it would skip. A field found
nowhere is missing; both go into `missing` by document path (`sections.1.items.0.bullets.2`).

Score: the percentage of checked fields found in order (rounded down), minus 10 for each
kind of issue among `reading_order`, `broken_ligatures` and `missing_tounicode`, and 0 when
the PDF holds no extractable text (`no_text`) or poppler cannot read it (`unreadable_pdf`);
never below 0. An issue reads "code: what happened".
"""

import asyncio
import contextlib
import re
import statistics
import subprocess
import threading
import time
import unicodedata
from dataclasses import dataclass
from enum import StrEnum
from typing import NamedTuple

from pydantic import BaseModel, ConfigDict

from compile_service.locales import FALLBACK, language_of, shown_date
from contracts.presentation import address_line
from contracts.resume import ResumeDocument

DEFAULT_TIMEOUT_SECONDS = 5.0
ISSUE_PENALTY = 10
ANCHOR_FIELDS = 8  # a section's longest fields, by which anchor places it
LOOKAHEAD_UNITS = 5  # how far skips_ahead looks for the next unit that occurs
MAX_CHECKED_FIELDS = 2000  # the first ones; a document may hold some 20,000 (its 256 KB)
MAX_MISSING_PATHS = 100  # `missing` lists the first of them; checked - found counts them all
LIGATURES = "\ufb00\ufb01\ufb02\ufb03\ufb04\ufb05\ufb06"  # ﬀ ﬁ ﬂ ﬃ ﬄ ﬅ ﬆ
SIMPLE_ENCODINGS = frozenset({"WinAnsi", "MacRoman", "Standard"})  # read without a map


class IssueCode(StrEnum):
    NO_TEXT = "no_text"
    UNREADABLE_PDF = "unreadable_pdf"
    READING_ORDER = "reading_order"
    BROKEN_LIGATURES = "broken_ligatures"
    MISSING_TOUNICODE = "missing_tounicode"


FATAL = frozenset({IssueCode.NO_TEXT, IssueCode.UNREADABLE_PDF})


class AtsReport(BaseModel):
    """What the round trip found: `found` of `checked` fields in reading order, the paths of
    the others (the first MAX_MISSING_PATHS), the issues as "code: text"."""

    model_config = ConfigDict(frozen=True)

    score: int
    checked: int
    found: int
    missing: list[str]
    issues: list[str]

    def codes(self) -> list[str]:
        return [issue.split(":", 1)[0] for issue in self.issues]


class AtsUnavailable(Exception):
    """The check could not run (poppler missing, or over its time limit): not the PDF's fault."""


@dataclass(frozen=True)
class Font:
    name: str
    type: str
    encoding: str
    to_unicode: bool


@dataclass(frozen=True)
class Extraction:
    """What poppler read: the text (`-raw`, pages ended by form feeds), the fonts, and the
    reason when it could not read the PDF at all."""

    text: str
    fonts: tuple[Font, ...] = ()
    error: str = ""


class Field(NamedTuple):
    path: str
    shown: str  # as the document has it
    keys: tuple[str, ...]  # what may stand for it in the text's key


Unit = tuple[Field, ...]  # looked up from one cursor
Block = list[Unit]  # the header, or one section


# --- keys ----------------------------------------------------------------------------------

_IGNORED = re.compile("[\\s\u00ad\u200b-\u200f\u2028-\u202e\u2060-\u2064\ufeff"
                      "\\-\u2010-\u2015\u2212'\"`\u00b4\u2018-\u201f\u00ab\u00bb\u2039\u203a]")
_MONTHS = [("jan", "januar", "janv", "janvier", "january"), ("feb", "februar", "fevr",
           "fevrier", "february", "févr", "février"), ("mar", "märz", "mars", "march"),
           ("apr", "april", "avr", "avril"), ("may", "mai"), ("jun", "juni", "juin", "june"),
           ("jul", "juli", "juil", "juillet", "july"), ("aug", "august", "août"),
           ("sep", "sept", "september", "septembre"), ("oct", "okt", "oktober", "october",
           "octobre"), ("nov", "november", "novembre"), ("dec", "dez", "dezember", "déc",
           "décembre", "december")]
_YEAR_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


def key(text: str) -> str:
    """The comparison form of a text: NFKC, case folded, without whitespace, hyphens, dashes
    and quotes."""
    return _IGNORED.sub("", unicodedata.normalize("NFKC", text).casefold())


def date_keys(text: str, locale: str = FALLBACK) -> tuple[str, ...]:
    """The date as written and as `locale` shows it, and for YYYY-MM its month-name (en, de,
    fr) and MM/YYYY forms."""
    forms = [text, shown_date(text.strip(), locale)]
    match = _YEAR_MONTH.match(text.strip())
    if match and 1 <= int(match.group(2)) <= 12:
        year, month = match.group(1), int(match.group(2))
        forms += [f"{name} {year}" for name in _MONTHS[month - 1]]
        forms += [f"{name}. {year}" for name in _MONTHS[month - 1]]
        forms += [f"{month:02d}/{year}", f"{month}/{year}", f"{month:02d}.{year}"]
    return tuple(dict.fromkeys(k for k in map(key, forms) if k))


# --- what the document says ----------------------------------------------------------------

def expected(document: ResumeDocument) -> tuple[Block, list[Block]]:
    """The header block and one block per section, each a list of units of fields."""
    contact, locale = document.contact, document.locale
    location = (("contact.location", contact.location) if contact.location
                else ("contact.address", address_line(contact.address)))
    links = ((f"contact.links.{n}.label", link.label) for n, link in enumerate(contact.links))
    header: Block = [
        _unit(("contact.name", contact.name)), _unit(("contact.label", contact.label)),
        _unit(("contact.email", contact.email), ("contact.phone", contact.phone), location,
              *links)]
    sections = []
    for s, section in enumerate(document.sections):
        block: Block = [_unit((f"sections.{s}.title", section.title))]
        for i, item in enumerate(section.items):
            at = f"sections.{s}.items.{i}"
            block += [_unit((f"{at}.title", item.title), (f"{at}.subtitle", item.subtitle),
                            (f"{at}.location", item.location),
                            (f"{at}.start_date", item.start_date),
                            (f"{at}.end_date", item.end_date), locale=locale),
                      _unit((f"{at}.description", item.description)),
                      *(_unit((f"{at}.bullets.{b}", bullet))
                        for b, bullet in enumerate(item.bullets))]
        sections.append([unit for unit in block if unit])
    return _first_fields([unit for unit in header if unit], sections, MAX_CHECKED_FIELDS)


def _first_fields(header: Block, sections: list[Block],
                  limit: int) -> tuple[Block, list[Block]]:
    """The blocks cut after their first `limit` fields in document order."""
    blocks: list[Block] = []
    for block in (header, *sections):
        kept: Block = []
        for unit in block:
            if limit <= 0:
                break
            kept.append(unit[:limit])
            limit -= len(kept[-1])
        blocks.append(kept)
    return blocks[0], [block for block in blocks[1:] if block]


def _unit(*fields: tuple[str, str], locale: str = FALLBACK) -> Unit:
    made = (Field(path, shown, date_keys(shown, locale) if path.endswith("_date")
                  else (key(shown),)) for path, shown in fields)
    return tuple(f for f in made if f.keys and f.keys[0])


# --- the round trip ------------------------------------------------------------------------

def assess(extraction: Extraction, document: ResumeDocument) -> AtsReport:
    """The report on what poppler read of the PDF of `document` (pure: no I/O)."""
    header, sections = expected(document)
    fields = [f for block in (header, *sections) for unit in block for f in unit]
    paths = [f.path for f in fields]
    if extraction.error:
        return _report(fields, set(), paths, [f"{IssueCode.UNREADABLE_PDF}: poppler could not "
                                              f"read the PDF: {extraction.error}"])
    raw = reading_order(extraction.text) if language_of(document.locale).rtl else extraction.text
    text = key(drop_running_lines(raw))
    if not text and fields:
        return _report(fields, set(), paths, [f"{IssueCode.NO_TEXT}: {_why_no_text(extraction)}"])
    found, out_of_order = match(text, header, sections)
    issues = []
    if out_of_order:
        issues.append(f"{IssueCode.READING_ORDER}: {len(out_of_order)} of {len(fields)} fields "
                      "came out of order (columns or boxes read in the wrong order)")
    issues += _ligature_issues(extraction.text, text, fields, found | out_of_order)
    issues += _font_issues(extraction.fonts)
    return _report(fields, found, [p for p in paths if p not in found], issues)


def _report(fields: list[Field], found: set[str], missing: list[str],
            issues: list[str]) -> AtsReport:
    checked = len(fields)
    codes = {issue.split(":", 1)[0] for issue in issues}
    score = 100 * len(found) // checked if checked else 100
    score = 0 if codes & FATAL else max(0, score - ISSUE_PENALTY * len(codes))
    return AtsReport(score=score, checked=checked, found=len(found),
                     missing=missing[:MAX_MISSING_PATHS], issues=issues)


def match(text: str, header: Block, sections: list[Block]) -> tuple[set[str], set[str]]:
    """The paths found in order and those found only before the cursor, in `text` (a key):
    the header first, then the sections by their anchors."""
    anchors, previous = [], 0.0
    for block in sections:
        previous = anchor(text, block, previous)
        anchors.append(previous)
    order = sorted(range(len(sections)), key=lambda n: anchors[n])  # stable: ties keep order
    units = [u for block in (header, *(sections[n] for n in order)) for u in block]
    found: set[str] = set()
    out_of_order: set[str] = set()
    cursor = 0
    for n, unit in enumerate(units):
        ends = []
        for field in unit:
            at = find(text, field.keys, cursor)
            if at is not None and not skips_ahead(text, units[n + 1:n + 1 + LOOKAHEAD_UNITS],
                                                  cursor, at):
                found.add(field.path)
                ends.append(at[1])
            elif find(text, field.keys, 0) is not None:
                out_of_order.add(field.path)
        cursor = max(ends, default=cursor)
    return found, out_of_order


def skips_ahead(text: str, later: list[Unit], cursor: int, at: tuple[int, int]) -> bool:
    """Whether a field found at `at` is ahead of its place: the next unit that occurs from
    the cursor on occurs before it and nowhere after it."""
    for unit in later:
        starts = [hit[0] for f in unit if (hit := find(text, f.keys, cursor)) is not None]
        if starts:
            return min(starts) < at[0] and all(find(text, f.keys, at[1]) is None for f in unit)
    return False


def find(text: str, keys: tuple[str, ...], start: int) -> tuple[int, int] | None:
    """The earliest occurrence at or after `start` of any of `keys`: (start, end)."""
    best = None
    for k in keys:
        at = text.find(k, start)
        if at >= 0 and (best is None or at < best[0]):
            best = (at, at + len(k))
    return best


def anchor(text: str, block: Block, fallback: float) -> float:
    """Where a section sits in the text: the median position of those of its longest fields
    (ANCHOR_FIELDS) that occur there once (others could be anywhere), else its first field's
    first occurrence, else `fallback`."""
    once = []
    fields = sorted((f for unit in block for f in unit), key=lambda f: -len(f.keys[0]))
    for field in fields[:ANCHOR_FIELDS]:
        first = find(text, field.keys, 0)
        if first is not None and find(text, field.keys, first[0] + 1) is None:
            once.append(first[0])
    if once:
        return float(statistics.median(once))
    first = find(text, block[0][0].keys, 0) if block else None
    return float(first[0]) if first else fallback


_RUNS = re.compile("\u202b[^\u202c]*\u202c?|[^\u202b]+")  # right-to-left runs, the rest


def reading_order(text: str) -> str:
    """`-raw` text of a right-to-left document in reading order: poppler writes each line's
    runs of right-to-left text (each between U+202B and U+202C, its letters in reading order)
    in the order they stand on the page, left to right; a line that holds some is reversed
    run by run."""
    return "\f".join("\n".join(_line_in_reading_order(line) for line in page.split("\n"))
                     for page in text.split("\f"))


def _line_in_reading_order(line: str) -> str:
    runs = _RUNS.findall(line)
    return "".join(reversed(runs)) if any(r.startswith("\u202b") for r in runs) else line


_NUMBER = re.compile(r"\d+")


def drop_running_lines(text: str) -> str:
    """The text without running headers and footers: a line at the top or bottom of a page
    that is the same on every page after the first, but for the page's number and the page
    count (page 1's first line, where the name is, stays)."""
    pages = [[line.strip() for line in page.splitlines() if line.strip()]
             for page in text.split("\f")]
    pages = [page for page in pages if page]
    if len(pages) < 2:
        return text

    def form(line: str, number: int) -> str:
        return _NUMBER.sub(lambda m: "#" if int(m.group()) in (number, len(pages))
                           else m.group(), line)

    running = set()
    for edge in (0, -1):
        forms = [form(page[edge], n) for n, page in enumerate(pages, 1)]
        if len(set(forms[1:])) == 1 and (len(pages) > 2 or forms[0] == forms[1]):
            running.add((edge, forms[1]))
    kept = []
    for n, page in enumerate(pages, 1):
        start = 1 if n > 1 and (0, form(page[0], n)) in running else 0
        end = len(page) - 1 if (-1, form(page[-1], n)) in running else len(page)
        kept.append("\n".join(page[start:max(start, end)]))
    return "\n\f".join(kept)


def _why_no_text(extraction: Extraction) -> str:
    if not extraction.fonts:
        return ("the PDF has no text and no fonts: its text is drawn as outlines or shown as "
                "an image, which an ATS cannot read")
    return "the PDF's fonts give no text: an ATS would read nothing"


def _ligature_issues(raw: str, text: str, fields: list[Field], seen: set[str]) -> list[str]:
    """Ligature glyphs in the text (more than the document typed), or fields found only with
    their "fi", "fl", "ff" left out (a ligature that maps to nothing)."""
    glyphs = sum(raw.count(c) for c in LIGATURES)
    typed = sum(f.shown.count(c) for f in fields for c in LIGATURES)
    dropped = [f.path for f in fields if f.path not in seen and any(
        p in f.keys[0] for p in ("ff", "fi", "fl")) and _without_ligatures(f.keys[0]) in text]
    issues = []
    if glyphs > typed:
        shown = "".join(sorted({c for c in raw if c in LIGATURES}))
        issues.append(f"{IssueCode.BROKEN_LIGATURES}: the text holds ligature glyphs ({shown}) "
                      f"where an ATS searches for the letters")
    elif dropped:
        issues.append(f"{IssueCode.BROKEN_LIGATURES}: {len(dropped)} fields read without "
                      "their ligatures (fi, fl, ff map to no text)")
    return issues


def _without_ligatures(text: str) -> str:
    for pair in ("ffi", "ffl", "ff", "fi", "fl"):
        text = text.replace(pair, "")
    return text


def _font_issues(fonts: tuple[Font, ...]) -> list[str]:
    unmapped = sorted({f.name for f in fonts if not f.to_unicode
                       and f.encoding not in SIMPLE_ENCODINGS})
    if not unmapped:
        return []
    return [f"{IssueCode.MISSING_TOUNICODE}: fonts without a ToUnicode map "
            f"({', '.join(unmapped[:5])}): a reader may not turn their glyphs back into text"]


def parse_pdffonts(output: str) -> tuple[Font, ...]:
    """pdffonts' table, read by the column widths of its dashed line."""
    lines = output.splitlines()
    rule = next((n for n, line in enumerate(lines) if line.startswith("---")), None)
    if rule is None:
        return ()
    spans = [(m.start(), m.end()) for m in re.finditer(r"-+", lines[rule])]
    if len(spans) < 6:
        return ()
    fonts = []
    for line in lines[rule + 1:]:
        cells = [line[a:b + 1].strip() for a, b in spans]
        fonts.append(Font(cells[0], cells[1], cells[2], cells[5] == "yes"))
    return tuple(fonts)


# --- poppler -------------------------------------------------------------------------------

POPPLER_COMMANDS = (["pdftotext", "-enc", "UTF-8", "-raw", "-", "-"], ["pdffonts", "-"])


class ReadyPoppler:
    """pdftotext and pdffonts started before the PDF they will read from stdin, so a check
    does not wait for two process starts (each about 3 ms of dynamic linking, more on a busy
    machine). One pair waits ready; the pair a check takes is replaced in the background
    after it, off the job's path. A check that finds none ready starts its own."""

    def __init__(self) -> None:
        self._ready: list[list[subprocess.Popen[bytes]]] = []
        self._lock = threading.Lock()
        self._closed = False

    def take(self) -> list[subprocess.Popen[bytes]]:
        with self._lock:
            ready = self._ready.pop() if self._ready else None
        return ready if ready is not None and _alive(ready) else _start(POPPLER_COMMANDS)

    def refill(self) -> None:
        """Start the next pair in a thread of its own (poppler missing: nothing kept)."""
        threading.Thread(target=self._start_spare, name="poppler-spare", daemon=True).start()

    def _start_spare(self) -> None:
        try:
            spare = _start(POPPLER_COMMANDS)
        except AtsUnavailable:
            return
        with self._lock:
            if self._closed or self._ready:
                _stop(spare)
            else:
                self._ready.append(spare)

    def close(self) -> None:
        with self._lock:
            self._closed, ready = True, self._ready
            self._ready = []
        for spare in ready:
            _stop(spare)


def extract(pdf: bytes, timeout: float = DEFAULT_TIMEOUT_SECONDS,
            ready: ReadyPoppler | None = None) -> Extraction:
    """pdftotext -raw and pdffonts on `pdf`, side by side (started ahead when `ready` holds
    a pair); AtsUnavailable when poppler is missing or the two take longer than `timeout`
    (both are then killed)."""
    deadline = time.monotonic() + timeout
    try:
        running = ready.take() if ready is not None else _start(POPPLER_COMMANDS)
        text, fonts = _read(running, pdf, deadline)
    finally:
        if ready is not None:
            ready.refill()
    if text.returncode != 0:
        reason = text.stderr.decode(errors="replace").strip().splitlines()
        return Extraction("", error=(reason[-1] if reason else f"exit {text.returncode}")[:200])
    return Extraction(text.stdout.decode(errors="replace"),
                      parse_pdffonts(fonts.stdout.decode(errors="replace")))


def _start(commands: tuple[list[str], ...]) -> list[subprocess.Popen[bytes]]:
    started: list[subprocess.Popen[bytes]] = []
    try:
        for command in commands:
            started.append(subprocess.Popen(command, stdin=subprocess.PIPE,
                                            stdout=subprocess.PIPE, stderr=subprocess.PIPE))
    except FileNotFoundError as missing:
        _stop(started)
        raise AtsUnavailable(f"{missing.filename} is not installed (poppler-utils)") from None
    return started


def _alive(processes: list[subprocess.Popen[bytes]]) -> bool:
    if all(process.poll() is None for process in processes):
        return True
    _stop(processes)
    return False


def _read(running: list[subprocess.Popen[bytes]], pdf: bytes,
          deadline: float) -> list[subprocess.CompletedProcess[bytes]]:
    """Give each process the PDF, then collect what it wrote. Each reads all of its input
    before it writes, so writing to one while another's output waits cannot deadlock."""
    try:
        for process in running:
            stdin, process.stdin = process.stdin, None  # given here, so not by communicate
            assert stdin is not None
            with contextlib.suppress(BrokenPipeError):  # it died: its exit code tells
                stdin.write(pdf)
            with contextlib.suppress(BrokenPipeError):
                stdin.close()
        done = []
        for process in running:
            out, err = process.communicate(timeout=max(0.0, deadline - time.monotonic()))
            done.append(subprocess.CompletedProcess(process.args, process.returncode, out, err))
        return done
    except subprocess.TimeoutExpired:
        raise AtsUnavailable("the ATS check ran past its time limit") from None
    finally:
        _stop(running)


def _stop(processes: list[subprocess.Popen[bytes]]) -> None:
    for process in processes:
        if process.poll() is None:
            process.kill()
            process.wait()
        for pipe in (process.stdin, process.stdout, process.stderr):
            if pipe is not None:
                with contextlib.suppress(OSError):
                    pipe.close()


def check(pdf: bytes, document: ResumeDocument, timeout: float = DEFAULT_TIMEOUT_SECONDS,
          ready: ReadyPoppler | None = None) -> AtsReport:
    """The ATS report of `pdf`, the PDF of `document` (blocks on poppler: see check_async)."""
    return assess(extract(pdf, timeout, ready), document)


async def check_async(pdf: bytes, document: ResumeDocument,
                      timeout: float = DEFAULT_TIMEOUT_SECONDS,
                      ready: ReadyPoppler | None = None) -> AtsReport:
    """`check` in a thread, off the event loop; AtsUnavailable past `timeout`."""
    return await asyncio.to_thread(check, pdf, document, timeout, ready)
