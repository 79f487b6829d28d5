"""HTTP answers that are files: the Content-Disposition naming them, and the If-None-Match
check of a strong ETag."""

import re
import unicodedata
from urllib.parse import quote

MAX_NAME = 100
_UNSAFE_ASCII = re.compile(r"[^A-Za-z0-9._ -]+")
# what a file name must not hold on any common system, and controls
_UNSAFE_UNICODE = re.compile(r'[\x00-\x1f\x7f<>:"/\\|?*]+')


def content_disposition(title: str, extension: str, disposition: str = "attachment") -> str:
    """A file named after `title`: an ASCII fallback `filename`, and the UTF-8 `filename*`
    (RFC 6266 / RFC 5987) when the title is not plain ASCII."""
    name = " ".join(_UNSAFE_UNICODE.sub(" ", title).split())[:MAX_NAME].strip(" .") or "resume"
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    ascii_name = " ".join(_UNSAFE_ASCII.sub("", ascii_name).split()).strip(" .") or "resume"
    header = f'{disposition}; filename="{ascii_name}.{extension}"'
    if ascii_name != name:
        header += f"; filename*=UTF-8''{quote(f'{name}.{extension}', safe='')}"
    return header


def etag_matches(if_none_match: str | None, etag: str) -> bool:
    """Whether an If-None-Match names `etag` (weak comparison, as RFC 9110 says for it; `*`
    matches any current representation)."""
    if not if_none_match:
        return False
    tags = [tag.strip() for tag in if_none_match.split(",")]
    return "*" in tags or etag in (tag.removeprefix("W/") for tag in tags)
