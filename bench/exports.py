"""Export and import benchmark: GET /resume/{id}/export/{format} per format, against the plain
read of the same resume in the same run; and POST /resume/import of the JSON Resume sample
(npm `@jsonresume/schema`, installed by make install), against creating a resume of the
engineer sample; on one uvicorn worker.

Run with the local services up: ``.venv/bin/python bench/exports.py``. The resume is the
engineer sample (tests/samples.py, a one-page resume). The baseline is `GET /resume/{id}`
with the read cache off, the same read-model row read from PostgreSQL that an export starts
with, so each ratio is what rendering the format costs on top of that read. `docx 304` is a
revalidation with the export's ETag (answered from the row, nothing rendered). wrk loads one
URL at a time, in alternating rounds, so the drift of this shared machine falls on all."""

import json
import sys
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import Result, background_process, identity, interleaved, uvicorn_server, wrk
from tests import json_resume_package
from tests.samples import engineer

APP = "resume_service.app:create_app"
FORMATS = ("native", "json-resume", "markdown", "text", "docx")
ROUNDS, ROUND_SECONDS = 3, 3
USER = "bench-exports"


def create_resume(base: str) -> str:
    url = f"{base}/resume/create"
    request = urllib.request.Request(
        url, data=engineer().model_dump_json().encode(), method="POST",
        headers={**identity(USER, "POST", url),
                 "Content-Type": "application/json"})
    with urllib.request.urlopen(request) as response:
        return str(json.load(response)["id"])


def etag_of(url: str) -> str:
    with urllib.request.urlopen(urllib.request.Request(url, headers=identity(USER, "GET", url))
                                ) as response:
        return str(response.headers["ETag"])


def targets(base: str, resume_id: str) -> dict[str, tuple[str, dict[str, str]]]:
    """Name -> (URL, headers) of every load: the baseline, each format, a revalidation."""
    read = f"{base}/resume/{resume_id}"
    loads = {"read (baseline)": (read, identity(USER, "GET", read))}
    for name in FORMATS:
        url = f"{read}/export/{name}"
        loads[name] = (url, identity(USER, "GET", url))
    docx = loads["docx"][0]
    loads["docx 304"] = (docx, {**loads["docx"][1], "If-None-Match": etag_of(docx)})
    return loads


def writes(base: str) -> dict[str, tuple[str, dict[str, str], str]]:
    """Name -> (URL, headers, body) of the POSTs: the baseline create, the import."""
    create, imported = f"{base}/resume/create", f"{base}/resume/import?format=json-resume"
    json_type = {"Content-Type": "application/json"}
    return {
        "create (baseline)": (create, {**identity(USER, "POST", create), **json_type},
                              engineer().model_dump_json()),
        "import json-resume": (imported, {**identity(USER, "POST", imported), **json_type},
                               json.dumps(json_resume_package.load("sample.resume.json"))),
    }


def main() -> None:
    relay = background_process("-m", "ops.relay", "resume_service")
    with relay, uvicorn_server(APP, {"READ_CACHE": "false", "RELAY_IN_PROCESS": "false"}) as base:
        loads, posts = targets(base, create_resume(base)), writes(base)
        for name, (url, headers) in loads.items():
            wrk(f"warm-up {name}", url, headers, seconds=1)
        rounds: dict[str, list[Result]] = {name: [] for name in [*loads, *posts]}
        for _ in range(ROUNDS):  # alternating, so every load sees the same drift
            for name, (url, headers) in loads.items():
                rounds[name].append(wrk(name, url, headers, seconds=ROUND_SECONDS))
            for name, (url, headers, body) in posts.items():
                rounds[name].append(wrk(name, url, headers, seconds=ROUND_SECONDS,
                                        method="POST", body=body))
    results = {name: interleaved(f"{'POST' if name in posts else 'GET'} {name}", found)
               for name, found in rounds.items()}
    for name, result in results.items():
        baseline = results["create (baseline)" if name in posts else "read (baseline)"]
        print(f"{result.line()}   p50 {result.p50_ms / baseline.p50_ms:5.2f}x, "
              f"throughput {result.rps / baseline.rps:5.2f}x of the "
              f"{'create' if name in posts else 'read'}")


if __name__ == "__main__":
    main()
