"""Checks every service's HTTP edge must pass: no redirect naming the service's own address,
a 405 that lists what the path accepts, and integers bounded before they reach a column."""

from typing import Any

import httpx

from runtime.bounds import INT4_MAX

TOO_BIG = INT4_MAX + 1


async def assert_trailing_slash_is_404(client: httpx.AsyncClient, headers: dict[str, str],
                                       *paths: str) -> None:
    for path in paths:
        response = await client.get(path, headers=headers)
        assert response.status_code == 404, (path, response.status_code)
        assert "location" not in response.headers, path
        assert response.json()["error"]["code"] == "not_found", path


async def assert_allow(client: httpx.AsyncClient, method: str, path: str,
                       allowed: set[str]) -> None:
    response = await client.request(method, path)
    assert response.status_code == 405, (method, path, response.text)
    assert response.json()["error"]["code"] == "method_not_allowed"
    assert {m.strip() for m in response.headers["allow"].split(",")} == allowed, (
        method, path, response.headers["allow"])


def assert_refused(response: httpx.Response, *fields: str) -> None:
    """A 422 naming the fields, never a 500 from a column that cannot hold the number."""
    assert response.status_code == 422, (response.request.url, response.text)
    assert {f["path"] for f in response.json()["error"]["fields"]} >= set(fields)


async def assert_versions_refused(client: httpx.AsyncClient, headers: dict[str, str],
                                  path: str, seen_failing: int) -> None:
    """POST `{"version": n}` to `path` for a number once seen to fail there, and the edges."""
    for version in (seen_failing, TOO_BIG, 0, -1):
        response = await client.post(path, json={"version": version}, headers=headers)
        assert_refused(response, "version")


async def assert_waits_refused(client: httpx.AsyncClient, headers: dict[str, str],
                               path: str, method: str = "GET") -> None:
    """A long poll's `?wait=` past its bound, or no number at all, is a 422."""
    for wait in ("61", "-1", "inf", "nan", "1e400"):
        response = await client.request(method, path, params={"wait": wait}, headers=headers)
        assert_refused(response, "wait")


def parameter_schema(spec: dict[str, Any], path: str, method: str,
                     name: str) -> dict[str, Any]:
    parameters = spec["paths"][path][method]["parameters"]
    schema: dict[str, Any] = next(p["schema"] for p in parameters if p["name"] == name)
    return schema
