"""The gateway's merged OpenAPI document made offline, from every service's app as built with
its development settings (no server, no database): ``python -m ops.openapi_document [FILE]``.

The same document `GET /api/openapi.json` serves (gateway.openapi.merge over each service's
own), with the development sign-in included: the web client's API types
(web/src/api/schema.d.ts) are generated from it, and a test fails when they are stale.
"""

import json
import sys
from pathlib import Path
from typing import Any

from fastapi import FastAPI

from gateway.openapi import merge


def service_apps() -> dict[str, FastAPI]:
    """Each service the gateway forwards to, by the name gateway.settings gives it."""
    from ai_service.app import create_app as create_ai
    from ai_service.settings import AiSettings
    from auth_service.app import create_app as create_auth
    from auth_service.settings import AuthSettings
    from compile_service.app import create_app as create_compile
    from compile_service.settings import CompileSettings
    from live_service.app import create_app as create_live
    from live_service.settings import LiveSettings
    from resume_service.app import create_app as create_resume
    from resume_service.settings import ResumeSettings

    development: dict[str, Any] = {"_env_file": None, "environment": "development"}
    return {"auth": create_auth(AuthSettings(**development, dev_login_enabled=True)),
            "resume": create_resume(ResumeSettings(**development)),
            "compile": create_compile(CompileSettings(**development)),
            "ai": create_ai(AiSettings(**development)),
            "live": create_live(LiveSettings(**development))}


def document() -> dict[str, Any]:
    return merge({name: app.openapi() for name, app in service_apps().items()})


def render(spec: dict[str, Any]) -> str:
    return json.dumps(spec, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def main() -> None:
    text = render(document())
    if len(sys.argv) > 1:
        Path(sys.argv[1]).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)


if __name__ == "__main__":
    main()
