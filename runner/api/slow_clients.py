"""Clients that hold connections without finishing their requests are cut off (uvicorn's h11 protocol, with
deadlines and a cap).

uvicorn closes a connection idle between requests (`timeout_keep_alive`), but none that is sending a request
slowly: 300 connections with unfinished headers or bodies were held for as long as their clients liked, and
`limit_concurrency` does not help (it answers 503 once headers are complete, which a slow client never
reaches). Here every connection has:
- a headers deadline: the request line and headers within HEADER_TIMEOUT_SECONDS of the first byte (of the
  connection, or of the next request on a kept-alive one), however slowly they trickle in;
- a body deadline: the whole body within BODY_TIMEOUT_SECONDS of the headers;
- a cap: past `max_connections` open connections, a new one makes room by closing the one that has waited
  longest for its client (unfinished headers or body, or idle between requests), never a request being
  answered; only when there is none is the new connection closed. So `/ping` answers while slow clients
  hold the server, and the process never runs out of file descriptors.
A connection past a deadline is closed; the route waiting for its body sees the client gone.
"""

from __future__ import annotations

import asyncio
from typing import Any, Optional

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

WAITING = ("headers", "body", "idle")
"""Phases in which a connection waits for its client (and may be closed to make room)."""


class SlowClientGuard(H11Protocol):
    """H11Protocol with the deadlines and the cap above; `guarded_protocol` sets the class's limits."""

    max_connections = 500
    header_seconds = 10.0
    body_seconds = 20.0

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        self._phase: Optional[str] = None
        self._since = 0.0
        self._deadline: Optional[asyncio.TimerHandle] = None
        super().connection_made(transport)
        if len(self.connections) > self.max_connections and not self._make_room():
            transport.close()
            return
        self._follow("headers")

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        self._follow("headers")

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._follow("idle")  # waiting for the next request: uvicorn's keep-alive timeout applies

    def connection_lost(self, exc: Optional[Exception]) -> None:
        self._set(None)
        super().connection_lost(exc)

    def _follow(self, when_idle: str) -> None:
        """The phase the client's side of the exchange is in, and its deadline. A phase's deadline starts
        when the phase does: bytes trickling in never extend it."""
        state = self.conn.their_state
        if state is h11.SEND_BODY:
            self._set("body")
        elif state is h11.IDLE:
            self._set("headers" if when_idle == "headers" or self._phase == "headers" else "idle")
        else:
            self._set(None)  # the request is whole: the app is answering it

    def _set(self, phase: Optional[str]) -> None:
        if phase == self._phase:
            return
        self._phase, self._since = phase, self.loop.time()
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None
        seconds = {"headers": self.header_seconds, "body": self.body_seconds}.get(phase or "")
        if seconds is not None:
            self._deadline = self.loop.call_later(seconds, self._too_slow)

    def _too_slow(self) -> None:
        self._deadline = None
        if not self.transport.is_closing():
            self.transport.close()

    def _make_room(self) -> bool:
        """Close the connection that has waited longest for its client; False if none waits."""
        waiting = [
            other
            for other in self.connections
            if other is not self and getattr(other, "_phase", None) in WAITING
        ]
        if not waiting:
            return False
        oldest = min(waiting, key=lambda other: other._since)
        oldest.transport.close()
        oldest._set(None)
        return True


def guarded_protocol(max_connections: int, header_seconds: float, body_seconds: float) -> type[Any]:
    """The protocol class uvicorn is given (`http=`), with these limits."""
    return type(
        "GuardedH11Protocol",
        (SlowClientGuard,),
        {"max_connections": max_connections, "header_seconds": header_seconds, "body_seconds": body_seconds},
    )
