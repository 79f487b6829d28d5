"""What the build of web/ must be: small enough to load fast, typed by the current API."""

import gzip
import re
import subprocess
from pathlib import Path

from tests.browser.conftest import ROOT

FIRST_PAGE_JS_LIMIT = 200 * 1024  # gzipped bytes
TYPES = ROOT / "web" / "src" / "api" / "schema.d.ts"


def first_page_scripts(dist: Path) -> list[Path]:
    """The scripts index.html loads: its module entry and what it preloads."""
    index = (dist / "index.html").read_text()
    found = re.findall(r'<script[^>]+src="(/assets/[^"]+\.js)"', index)
    found += re.findall(r'<link[^>]+rel="modulepreload"[^>]+href="(/assets/[^"]+\.js)"', index)
    return [dist / path.lstrip("/") for path in found]


def test_the_first_page_ships_at_most_200_kb_of_gzipped_javascript(web_build: Path) -> None:
    scripts = first_page_scripts(web_build)
    assert scripts, "index.html loads no script"
    size = sum(len(gzip.compress(path.read_bytes(), 9)) for path in scripts)
    print(f"first page JS: {size / 1024:.1f} KiB gzipped in {len(scripts)} file(s)")
    assert size <= FIRST_PAGE_JS_LIMIT, f"{size} bytes gzipped"


def test_the_build_has_no_inline_script(web_build: Path) -> None:
    index = (web_build / "index.html").read_text()
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", index), "an inline script"


def test_the_committed_api_types_match_the_merged_openapi(tmp_path: Path) -> None:
    fresh = tmp_path / "schema.d.ts"
    subprocess.run([str(ROOT / "web" / "scripts" / "generate-types.sh"), str(fresh)],
                   cwd=ROOT, check=True, capture_output=True, timeout=120)
    assert fresh.read_text() == TYPES.read_text(), (
        "web/src/api/schema.d.ts is stale: run web/scripts/generate-types.sh "
        "(npm run types -w web)")
