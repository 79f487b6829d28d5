"""The origins the web client calls from: the gateway's own (same origin, make up) and the
Vite development server's (:5173, proxying /api) may send unsafe requests and read answers
with credentials; another origin may not."""

from pathlib import Path

from gateway.guards import OriginPolicy
from gateway.settings import GatewaySettings

ROOT = Path(__file__).resolve().parents[3]
DEV_SERVER = ("http://127.0.0.1:5173", "http://localhost:5173")


def test_the_gateway_and_the_dev_server_are_allowed_by_default_and_in_env_example() -> None:
    for settings in (GatewaySettings(_env_file=None),  # type: ignore[call-arg]
                     GatewaySettings(_env_file=ROOT / ".env.example")):  # type: ignore[call-arg]
        assert {"http://127.0.0.1:8000", *DEV_SERVER} <= settings.origins


def test_the_dev_server_passes_csrf_and_gets_cors_with_credentials_a_stranger_does_not() -> None:
    policy = OriginPolicy(GatewaySettings(_env_file=None).origins)  # type: ignore[call-arg]
    for origin in DEV_SERVER:
        assert policy.csrf_ok("PUT", origin, None)
        headers = dict(policy.preflight_headers(origin, b"content-type, if-match") or [])
        assert headers[b"access-control-allow-origin"] == origin.encode()
        assert headers[b"access-control-allow-credentials"] == b"true"
    assert not policy.csrf_ok("POST", "http://evil.test", None)
    assert policy.preflight_headers("http://evil.test", None) is None
