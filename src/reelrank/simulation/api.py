"""The sliver of HTTP the simulation needs: a client shape and one way to fail loudly.

Any object with `.get(url, params=...)` and `.post(url, json=...)` whose responses have
`.status_code` and `.json()` works: `httpx.Client(base_url=...)` against a running server, or
starlette's `TestClient` in-process. Nothing here imports either, so tests can pass a fake.
"""

from __future__ import annotations

from typing import Any, Protocol


class Response(Protocol):
    status_code: int

    def json(self) -> Any: ...


class Client(Protocol):
    """The two calls the agent needs; httpx.Client and starlette's TestClient both qualify."""

    def get(self, url: str, *, params: Any = ...) -> Any: ...

    def post(self, url: str, *, json: Any = ...) -> Any: ...


class SimulationError(RuntimeError):
    """The API answered something other than 2xx; the message carries the body so the cause is visible."""


def expect_ok(resp: Any, what: str) -> Any:
    """The response's JSON body, or a SimulationError naming the call, the status and the body."""
    if not 200 <= resp.status_code < 300:
        body = getattr(resp, "text", None)
        if body is None:
            try:
                body = resp.json()
            except Exception:  # the body is for the message only; any failure just means "no body"
                body = "<unreadable body>"
        raise SimulationError(f"{what} -> HTTP {resp.status_code}: {body}")
    return resp.json()
