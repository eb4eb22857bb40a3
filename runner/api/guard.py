"""Who may drive the API, checked before any route runs (an ASGI middleware).

- `/ping` is open to everyone (it says only {"success": true}).
- Without API_TOKEN the server answers only requests whose `Host` is a loopback name (localhost, 127.0.0.1,
  [::1], any port), or one ALLOWED_HOSTS names (the name a reverse proxy in front sends): a web page that
  rebinds its own name to 127.0.0.1 (DNS rebinding) is refused. With
  API_TOKEN every request must carry `Authorization: Bearer <API_TOKEN>`, which no browser adds on its own.
- State-changing requests (POST, PUT, PATCH, DELETE) from another site are refused, token or not: an `Origin`
  that is not this server's, or a `Sec-Fetch-Site` other than same-origin / none. curl and scripts send
  neither header and are unaffected.
- Bodies over MAX_BODY_BYTES answer 413 whether they come with Content-Length or chunked: the body is counted
  as it arrives, and the route sees it only once it is whole.
"""

from __future__ import annotations

import hmac
from typing import Any, Optional
from urllib.parse import urlsplit

from starlette.datastructures import Headers
from starlette.responses import JSONResponse

from ingestion.pagerduty.endpoints import is_loopback_host

STATE_CHANGING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
OPEN_PATHS = frozenset({"/ping"})
_DRAIN_LIMIT = 64 * 1024 * 1024  # read (and drop) this much of an oversized body so the client sees the 413


def split_host(value: str) -> tuple[str, Optional[int]]:
    """A Host header's host and port ("[::1]:8080" -> ("::1", 8080)); ("", None) when malformed."""
    value = value.strip()
    if value.startswith("["):
        host, sep, rest = value[1:].partition("]")
        if not sep or (rest and not rest.startswith(":")):
            return "", None
        port = rest[1:]
    else:
        host, _, port = value.partition(":") if value.count(":") <= 1 else ("", "", "")
    if port and not (port.isascii() and port.isdigit() and len(port) <= 5):
        return "", None
    return host.lower(), int(port) if port else None


def same_origin(origin: str, host_header: str) -> bool:
    """Whether a browser's Origin is the server the request was sent to (its Host)."""
    try:
        parts = urlsplit(origin.strip())
        origin_port = parts.port
    except ValueError:
        return False
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return False
    default = 443 if parts.scheme == "https" else 80
    host, port = split_host(host_header)
    return bool(host) and (parts.hostname, origin_port or default) == (host, port or default)


def _refusal(status: int, message: str) -> JSONResponse:
    return JSONResponse({"success": False, "message": message}, status_code=status)


class Guard:
    def __init__(
        self,
        app: Any,
        api_token: Optional[str],
        max_body_bytes: int,
        allowed_hosts: tuple[str, ...] = (),
    ) -> None:
        self.app = app
        self.expected = f"Bearer {api_token}".encode() if api_token else None
        self.max_body_bytes = max_body_bytes
        self.allowed_hosts = frozenset(allowed_hosts)

    def refuse(self, method: str, path: str, headers: Headers) -> Optional[JSONResponse]:
        """The answer that stops this request before any route, or None to let it through."""
        if path in OPEN_PATHS:
            return None
        host_header = headers.get("host", "")
        if self.expected is None:
            host, _ = split_host(host_header)
            if not host or not (is_loopback_host(host) or host.rstrip(".") in self.allowed_hosts):
                return _refusal(
                    403,
                    "this server answers only on localhost, 127.0.0.1, [::1] and the names ALLOWED_HOSTS"
                    " gives (it has no API_TOKEN); the Host of this request is not one of them",
                )
        else:
            # headers arrive as bytes; Starlette shows them as latin-1, which gives the bytes back whole
            given = headers.get("authorization", "").encode("latin-1")
            if not hmac.compare_digest(given, self.expected):
                return _refusal(401, "unauthorized: send Authorization: Bearer <API_TOKEN>")
        if method in STATE_CHANGING:
            site = headers.get("sec-fetch-site")
            if site is not None and site.strip().lower() not in ("same-origin", "none"):
                return _refusal(403, f"cross-site request refused (Sec-Fetch-Site: {site[:20]!r})")
            origin = headers.get("origin")
            if origin is not None and not same_origin(origin, host_header):
                return _refusal(403, "cross-site request refused: its Origin is not this server")
        length = headers.get("content-length")
        if length is not None and (not length.strip().isdigit() or int(length) > self.max_body_bytes):
            return _refusal(413, f"body over {self.max_body_bytes} bytes")
        return None

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        refusal = self.refuse(scope["method"], scope["path"], Headers(scope=scope))
        if refusal is not None:
            await self._drain(receive)
            await refusal(scope, receive, send)
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body_bytes:
                chunks.clear()
                await self._drain(receive, size, message.get("more_body", False))
                await _refusal(413, f"body over {self.max_body_bytes} bytes")(scope, receive, send)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        replayed = False

        async def replay() -> dict:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    @staticmethod
    async def _drain(receive: Any, size: int = 0, more: bool = True) -> None:
        """Read what is left of a refused request's body (up to a limit), so the client reads the answer
        instead of a reset connection."""
        while more and size <= _DRAIN_LIMIT:
            message = await receive()
            if message["type"] != "http.request":
                return
            size += len(message.get("body", b""))
            more = message.get("more_body", False)
