"""One line per request the API answered: method, path, status and time taken, in the server's log format
(text, or JSON with `--log-format json`). The query string is left out: it could carry a secret a caller put
there by mistake, and the log is read by more people than the API's users."""

from __future__ import annotations

import time
from typing import Any

from ..output import out


class AccessLog:
    """ASGI middleware around the whole app (so refusals by the guard are logged too)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.monotonic()
        status = {"code": 0}

        async def remember(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, remember)
        finally:
            millis = round((time.monotonic() - started) * 1000, 1)
            path = scope.get("path", "")
            out.info(
                f"{scope.get('method', '-')} {path} {status['code'] or '-'} {millis} ms",
                event="access",
                method=scope.get("method"),
                path=path,
                status=status["code"] or None,
                ms=millis,
            )
