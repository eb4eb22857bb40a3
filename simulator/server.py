"""HTTP front of the simulator: a threaded HTTP/1.1 keep-alive server with fault injection and stats.

The API semantics live in api.py; this module adds what only a real socket can exercise: throttling
(429 with or without rate-limit headers), 5xx, slow answers, truncated bodies, an API that goes down
mid-run, and an admin surface under /_sim/ for tests and scripts running in another process.
"""

from __future__ import annotations

import socket
import threading
import time
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, fields
from datetime import datetime
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import orjson

from .api import Api
from .data import Dataset, generate

LOG_LINES = 10_000
SERVER_KEYS = ("token", "host", "port", "account_time_zone", "verbose")


@dataclass
class Faults:
    """Fault injection settings; 0 / False means off. Counted over API requests since the last set_faults."""

    rate_limit_every: int = 0
    rate_limit_reset: int = 1
    rate_limit_bare: bool = False
    error_every: int = 0
    error_status: int = 503
    slow_every: int = 0
    slow_seconds: float = 0.0
    truncate_every: int = 0
    fail_after: int = 0


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128
    sim: SimulatorServer


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "PagerDutySimulator/1.0"
    sys_version = ""
    disable_nagle_algorithm = True  # headers and body go out as two writes: avoid the 40 ms Nagle stall
    server: _HTTPServer

    def setup(self) -> None:
        super().setup()
        with self.server.sim._lock:
            self.server.sim._connections.add(self.connection)

    def finish(self) -> None:
        with self.server.sim._lock:
            self.server.sim._connections.discard(self.connection)
        super().finish()

    def do_GET(self) -> None:  # noqa: N802 (http.server naming)
        self.server.sim._handle(self, "GET")

    def do_POST(self) -> None:  # noqa: N802
        self.server.sim._handle(self, "POST")

    def do_PUT(self) -> None:  # noqa: N802
        self.server.sim._handle(self, "PUT")

    def do_DELETE(self) -> None:  # noqa: N802
        self.server.sim._handle(self, "DELETE")

    def log_message(self, format: str, *args) -> None:  # noqa: A002 (signature of the base class)
        if self.server.sim.verbose:
            super().log_message(format, *args)


def _parse_dt(value):
    """ISO text from an admin JSON body to an aware datetime (None passes through)."""
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value).replace("Z", "+00:00"))


class SimulatorServer:
    """A PagerDuty REST API v2 stand-in over one Dataset, on a real TCP port."""

    def __init__(
        self,
        dataset: Dataset,
        token: str = "sim-token",
        host: str = "127.0.0.1",
        port: int = 0,
        account_time_zone: str = "America/Los_Angeles",
        verbose: bool = False,
    ) -> None:
        self.dataset = dataset
        self.api = Api(dataset, token, account_time_zone)
        self.host, self.port, self.verbose = host, port, verbose
        self._httpd: _HTTPServer | None = None
        self._url: str | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._faults = Faults()
        self._fault_counter = 0
        self._connections: set[socket.socket] = set()
        self.reset_stats()

    # ------------------------------------------------------------------------------------ lifecycle
    @property
    def url(self) -> str | None:
        """Base URL ("http://127.0.0.1:<port>") once bound (kept after stop()), else None."""
        return self._url

    def bind(self) -> str:
        """Open the listening socket (port 0 picks a free one) and return the base URL."""
        if self._httpd is None:
            self._httpd = _HTTPServer((self.host, self.port), _Handler)
            self._httpd.sim = self
            self._url = f"http://{self.host}:{self._httpd.server_address[1]}"
        return self._url  # type: ignore[return-value]

    def start(self) -> str:
        """Serve in a daemon thread; returns the base URL."""
        url = self.bind()
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._httpd.serve_forever,
                kwargs={"poll_interval": 0.1},
                name="pagerduty-simulator",
                daemon=True,
            )
            self._thread.start()
        return url

    def serve_forever(self) -> None:
        """Serve in the calling thread until stop() (from another thread or a signal handler's thread)."""
        self.bind()
        self._httpd.serve_forever(poll_interval=0.1)

    def stop(self) -> None:
        """Stop serving, close the socket and drop kept-alive connections (a stopped API answers nothing)."""
        httpd, self._httpd = self._httpd, None
        if httpd is None:
            return
        httpd.shutdown()
        httpd.server_close()
        with self._lock:
            connections = list(self._connections)
        for conn in connections:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> SimulatorServer:
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    # ------------------------------------------------------------------------------- stats & faults
    def stats(self) -> dict:
        """Counters of API requests (admin requests excluded), faults served, and the last request lines."""
        with self._lock:
            return {
                "requests": self._requests,
                "by_endpoint": dict(self._by_endpoint),
                "faults": dict(self._fault_stats),
                "log": list(self._log),
            }

    def reset_stats(self) -> None:
        with self._lock:
            self._requests = 0
            self._by_endpoint: dict[str, int] = {}
            self._fault_stats = {"429": 0, "5xx": 0, "truncated": 0, "slow": 0}
            self._log: deque[str] = deque(maxlen=LOG_LINES)

    def set_faults(self, **kw) -> dict:
        """Replace the fault settings (unnamed ones go back to off) and restart the request counter."""
        known = {f.name for f in fields(Faults)}
        unknown = set(kw) - known
        if unknown:
            raise ValueError(f"unknown fault settings: {sorted(unknown)}")
        faults = Faults(**kw)
        with self._lock:
            self._faults = faults
            self._fault_counter = 0
        return asdict(faults)

    def faults(self) -> dict:
        with self._lock:
            return asdict(self._faults)

    # -------------------------------------------------------------------------------------- serving
    def _handle(self, handler: _Handler, method: str) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length) if length > 0 else b""
        target = handler.path
        if target.startswith("/_sim/"):
            status, payload = self._admin(method, target.split("?", 1)[0], body)
            self._send(handler, status, orjson.dumps(payload), {})
            return
        with self._lock:
            self._fault_counter += 1
            n = self._fault_counter
            f = self._faults
            label = self.api.route(method, target.split("?", 1)[0])[0]
            self._requests += 1
            self._by_endpoint[label] = self._by_endpoint.get(label, 0) + 1
            self._log.append(f"{method} {target}")
            fault = None
            if f.fail_after and n > f.fail_after:
                fault = "error"
            elif f.rate_limit_every and n % f.rate_limit_every == 0:
                fault = "429"
            elif f.error_every and n % f.error_every == 0:
                fault = "error"
            slow = f.slow_seconds if f.slow_every and n % f.slow_every == 0 else 0.0
            truncate = bool(f.truncate_every and n % f.truncate_every == 0)
            if fault == "429":
                self._fault_stats["429"] += 1
            elif fault == "error" and f.error_status >= 500:
                self._fault_stats["5xx"] += 1
            if slow:
                self._fault_stats["slow"] += 1
        if slow:
            time.sleep(slow)
        if fault == "429":
            if f.rate_limit_bare:
                self._send(handler, 429, b"", {}, content_type=None)
            else:
                headers = {
                    "ratelimit-limit": "960",
                    "ratelimit-remaining": "0",
                    "ratelimit-reset": str(f.rate_limit_reset),
                }
                body = orjson.dumps({"error": {"message": "Rate Limit Exceeded", "code": 2020}})
                self._send(handler, 429, body, headers)
            return
        if fault == "error":
            try:
                phrase = HTTPStatus(f.error_status).phrase
            except ValueError:
                phrase = "Error"
            self._send(handler, f.error_status, orjson.dumps({"error": {"message": phrase}}), {})
            return
        try:
            status, _label, payload, headers = self.api.handle(method, target, handler.headers)
        except Exception as err:  # a simulator bug must not look like a hung connection to the loader
            status, headers = 500, {}
            payload = orjson.dumps({"error": {"message": f"simulator error: {err!r}"}})
        if truncate and status == 200:
            payload = payload[: max(1, len(payload) // 2)]
            with self._lock:
                self._fault_stats["truncated"] += 1
        self._send(handler, status, payload, headers)

    @staticmethod
    def _send(
        handler: _Handler,
        status: int,
        body: bytes,
        headers: dict,
        content_type: str | None = "application/json",
    ) -> None:
        handler.send_response(status)
        if content_type:
            handler.send_header("Content-Type", content_type)
        handler.send_header("Content-Length", str(len(body)))
        for name, value in headers.items():
            handler.send_header(name, value)
        handler.end_headers()
        if body:
            handler.wfile.write(body)

    def _admin(self, method: str, path: str, body: bytes) -> tuple[int, dict]:
        """/_sim/ endpoints: no auth, not counted as API requests."""
        try:
            data = orjson.loads(body) if body.strip() else {}
            if not isinstance(data, dict):
                raise ValueError("JSON body must be an object")
            if (method, path) == ("GET", "/_sim/stats"):
                return 200, self.stats()
            if (method, path) == ("POST", "/_sim/reset_stats"):
                self.reset_stats()
                return 200, {"ok": True}
            if (method, path) == ("GET", "/_sim/faults"):
                return 200, self.faults()
            if (method, path) == ("POST", "/_sim/faults"):
                return 200, self.set_faults(**data)
            if (method, path) == ("POST", "/_sim/step"):
                if "now" in data:
                    data["now"] = _parse_dt(data["now"])
                return 200, self.dataset.step(**data)
            if (method, path) == ("POST", "/_sim/incidents"):
                for key in ("created_at", "acknowledged_at", "resolved_at", "updated_at"):
                    if key in data:
                        data[key] = _parse_dt(data[key])
                if "created_at" not in data:
                    raise ValueError("created_at is required")
                return 200, self.dataset.add_incident(**data)
        except (ValueError, TypeError) as err:
            return 400, {"error": {"message": str(err)}}
        except Exception as err:  # keep the connection usable: answer instead of dropping it
            return 500, {"error": {"message": f"simulator error: {err!r}"}}
        return 404, {"error": {"message": "Not Found"}}


@contextmanager
def running(dataset: Dataset | None = None, **kwargs) -> Iterator[SimulatorServer]:
    """Generate a dataset (unless given), start a server on a free port, stop it afterwards.

    Keyword arguments named in SERVER_KEYS go to SimulatorServer, the rest to generate() (seed defaults
    to 42 and size to 1000).
    """
    server_kwargs = {k: kwargs.pop(k) for k in SERVER_KEYS if k in kwargs}
    if dataset is None:
        kwargs.setdefault("seed", 42)
        kwargs.setdefault("size", 1000)
        dataset = generate(**kwargs)
    elif kwargs:
        raise TypeError(f"generate arguments given together with a dataset: {sorted(kwargs)}")
    server = SimulatorServer(dataset, **server_kwargs)
    server.start()
    try:
        yield server
    finally:
        server.stop()
