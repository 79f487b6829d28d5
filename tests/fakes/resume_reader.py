"""What the fake Gemini answers for an import: an `ImportedResume` (as JSON data) read from
the text it was sent by a small deterministic parser, standing in for the model. It knows
the two shapes ai_service sends: poppler's raw text of a PDF (headings by their words,
entries by the dates that end their first line, `•` bullets, `Key: values` lines in skills
and languages) and the Markdown-marked text of a DOCX (`#` headings, `**bold**` entry titles
followed by ` · ` details, `•` list paragraphs, `[label](url)` links)."""

import re
from typing import Any

KINDS = {"summary": "summary", "profile": "summary", "experience": "experience",
         "work experience": "experience", "education": "education", "projects": "projects",
         "skills": "skills", "awards": "awards", "publications": "publications",
         "volunteering": "volunteering", "languages": "languages",
         "certificates": "certificates", "interests": "interests", "references": "references"}
_DATE = r"(?:[A-Z][a-z]{2} )?\d{4}(?:-\d{2})?"  # 2021, 2021-03, or as templates show it: Mar 2021
_TRAILING_DATES = re.compile(rf"\s+({_DATE})(?:\s*[–-]\s*(present|{_DATE}))?$")
_DATES = re.compile(rf"^({_DATE})(?:\s*[–-]\s*(present|{_DATE}))?$")
_BULLET = re.compile(r"^[•◦▪‣-]\s+")
_BOLD_ENTRY = re.compile(r"^\*\*(.+?)\*\*(.*)$")
_LINK = re.compile(r"\[([^\]]*)\]\(([^)\s]*)\)")
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+")
_PHONE = re.compile(r"^\+?[\d\s()/.-]{6,}$")
SEPARATOR = " · "


def read_resume(text: str) -> dict[str, Any]:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if not lines:
        return {"contact": {}, "sections": []}
    contact: dict[str, Any] = {"name": _plain(lines[0].lstrip("# ")), "links": []}
    rest = lines[1:]
    while rest and not _heading(rest[0]):
        _read_contact(rest.pop(0), contact)
    sections: list[dict[str, Any]] = []
    for line in rest:
        if _heading(line):
            title = _plain(line.lstrip("# "))
            sections.append({"title": title, "kind": KINDS.get(title.lower(), "custom"),
                             "items": [], "lines": []})
        else:
            sections[-1]["lines"].append(line)
    for section in sections:
        section["items"] = _items(section["kind"], section.pop("lines"))
    return {"contact": contact, "sections": sections}


def _heading(line: str) -> bool:
    return line.startswith("#") or line.lower() in KINDS


def _plain(text: str) -> str:
    return _LINK.sub(r"\1", text).replace("**", "").strip()


def _read_contact(line: str, contact: dict[str, Any]) -> None:
    for label, url in _LINK.findall(line):
        if url.startswith("http"):
            contact["links"].append({"label": label, "url": url})
    for part in _plain(line).split(SEPARATOR):
        if _EMAIL.fullmatch(part):
            contact["email"] = part
        elif _PHONE.match(part):
            contact["phone"] = part
        elif "," in part and "location" not in contact:
            contact["location"] = part


def _items(kind: str, lines: list[str]) -> list[dict[str, Any]]:
    if kind == "summary":
        return [_item(description=" ".join(_plain(line) for line in lines))]
    items: list[dict[str, Any]] = []
    subtitle_next = False
    for line in lines:
        current = items[-1] if items else None
        if bullet := _BULLET.match(line):
            if current is None:
                items.append(current := _item())
            current["bullets"].append(_plain(line[bullet.end():]))
        elif current is not None and current["bullets"] and line[:1].islower():
            current["bullets"][-1] += " " + _plain(line)  # a bullet wrapped onto this line
        elif entry := _BOLD_ENTRY.match(line):
            items.append(_entry(entry.group(1), entry.group(2)))
            subtitle_next = False
        elif kind in ("skills", "languages") and ":" in line:
            key, _, value = line.partition(":")
            values = [v.strip() for v in value.split(",")] if kind == "skills" else []
            items.append(_item(title=key.strip(), bullets=values,
                               description="" if values else value.strip()))
        elif dates := _TRAILING_DATES.search(line):
            items.append(_item(title=line[:dates.start()].strip(), start_date=dates.group(1),
                               end_date=dates.group(2) or ""))
            subtitle_next = True
        elif current is None or current["bullets"]:
            items.append(_item(title=_plain(line)))
            subtitle_next = True
        elif subtitle_next:
            current["subtitle"], subtitle_next = _plain(line), False
        else:
            current["description"] = (current["description"] + " " + _plain(line)).strip()
    return items


def _entry(title: str, details: str) -> dict[str, Any]:
    item = _item(title=title.strip())
    parts = [p.strip() for p in details.split(SEPARATOR.strip()) if p.strip()]
    for part in parts:
        if dates := _DATES.match(part):
            item["start_date"], item["end_date"] = dates.group(1), dates.group(2) or ""
        elif not item["subtitle"]:
            item["subtitle"] = part
        else:
            item["location"] = part
    return item


def _item(**fields: Any) -> dict[str, Any]:
    return {"title": "", "subtitle": "", "location": "", "start_date": "", "end_date": "",
            "description": "", "bullets": [], **fields}
