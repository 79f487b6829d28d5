"""Which service serves a public path, and which paths need no session.

The gateway strips `/api` and forwards the rest unchanged: ``/api/resume/all`` goes to
resume_service as ``/resume/all``. Paths with dot segments or empty segments are refused,
so a path can never be routed by one prefix and resolved by the upstream as another.
"""

from dataclasses import dataclass

from starlette.types import Scope

from runtime.metrics import UNMATCHED_ROUTE, route_template

API_PREFIX = "/api"

# first segment after /api -> service name (see GatewaySettings.upstreams)
SERVICE_OF_SEGMENT = {"auth": "auth", "user": "auth", "resume": "resume",
                      "compile": "compile", "ai": "ai", "events": "live", "public": "resume"}

# exact paths anyone may call: the sign-in routes
PUBLIC_PATHS = frozenset({"/api/auth/login", "/api/auth/callback", "/api/auth/dev-login"})
# and every path under these: share links (resume_service), which set no session cookie, and
# an account erasure's progress (its account, so its sessions, are gone; the id is random)
PUBLIC_PREFIXES = ("/api/public/", "/api/auth/erasures/")

# paths after which the caller's session may be gone: its kept lookup is dropped
SESSION_ENDING_PATHS = frozenset({"/api/auth/logout"})

# paths whose `?wait=` holds the request open until a job moves (capped: gateway.long_polls):
# a job's status, and a compile request (`POST /api/compile/{id}?wait=` answers once done)
LONG_POLL_PREFIXES = ("/api/compile/", "/api/ai/ratings/", "/api/ai/imports/",
                      "/api/user/me/exports/")

# exact paths answered by a stream that never ends (server-sent events): held open against a
# cap of their own (gateway.long_polls), relayed chunk by chunk, ended when the client leaves
STREAM_PATHS = frozenset({"/api/events"})

# exact paths that take a file: their body may reach MAX_UPLOAD_BYTES, not MAX_BODY_BYTES
UPLOAD_PATHS = frozenset({"/api/ai/import"})

# served by the gateway itself, not forwarded
GATEWAY_PATHS = frozenset({"/api/openapi.json", "/api/docs", "/api/asyncapi.json",
                           "/api/asyncapi"})


@dataclass(frozen=True)
class Route:
    service: str
    upstream_path: str  # raw (still percent-encoded) path without /api
    public: bool
    ends_session: bool = False
    long_poll: bool = False
    upload: bool = False
    stream: bool = False


def is_clean(path: str) -> bool:
    """No `.`/`..` segments and no empty segment (`//`) in the decoded path."""
    segments = path.split("/")[1:]
    return ("." not in segments and ".." not in segments
            and "" not in segments[:-1])


def is_public(path: str) -> bool:
    """Whether `path` (or an OpenAPI path template) is served without a session."""
    return path in PUBLIC_PATHS or path.startswith(PUBLIC_PREFIXES)


def route(path: str, raw_path: str) -> Route | None:
    """The route of an `/api/...` request, or None when no service serves it."""
    segment = path[len(API_PREFIX) + 1:].split("/", 1)[0]
    service = SERVICE_OF_SEGMENT.get(segment)
    if service is None:
        return None
    return Route(service, raw_path[len(API_PREFIX):], is_public(path),
                 path in SESSION_ENDING_PATHS, path.startswith(LONG_POLL_PREFIXES),
                 path in UPLOAD_PATHS, path in STREAM_PATHS)


def route_label(scope: Scope) -> str:
    """The metrics label of a request: `/api/<segment>/*` per service (the paths behind it
    are the services' to count), the gateway's own route templates, else `unmatched`."""
    path: str = scope["path"]
    if path.startswith(API_PREFIX + "/") and path not in GATEWAY_PATHS:
        segment = path[len(API_PREFIX) + 1:].split("/", 1)[0]
        return f"{API_PREFIX}/{segment}/*" if segment in SERVICE_OF_SEGMENT else UNMATCHED_ROUTE
    return route_template(scope)
