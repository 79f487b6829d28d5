"""Wait until every HTTP process of a Procfile answers /healthz.

Usage: ``python -m runtime.wait_healthy Procfile``.
Says which process did not come up, so `make up` never fails silently."""

import os
import re
import sys
import time
import urllib.request
from pathlib import Path


def health_urls(procfile: Path) -> dict[str, str]:
    """/healthz of every process started with `--port N` or `--port ${VAR:-N}`."""
    urls = {}
    for line in procfile.read_text().splitlines():
        name, _, command = line.partition(":")
        port = re.search(r"--port[ =](?:\$\{(\w+):-(\d+)\}|(\d+))", command)
        if port and not line.startswith("#"):
            variable, default, literal = port.groups()
            number = os.environ.get(variable, default) if variable else literal
            urls[name.strip()] = f"http://127.0.0.1:{number}/healthz"
    return urls


def healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1) as response:
            return bool(response.status == 200)
    except OSError:
        return False


def main(procfile: str, timeout: float = 60.0) -> int:
    pending = health_urls(Path(procfile))
    deadline = time.monotonic() + timeout
    while pending and time.monotonic() < deadline:
        pending = {name: url for name, url in pending.items() if not healthy(url)}
        time.sleep(0.3)
    for name, url in pending.items():
        print(f"!! {name} did not answer {url} within {timeout:.0f} s", file=sys.stderr)
    return 1 if pending else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
