"""HTTP front of the simulator: a threaded HTTP/1.1 keep-alive server with fault injection and stats.

The API semantics live in api.py; this module adds what only a real socket can exercise: throttling as
PagerDuty does it (a throttled period, a per-minute limit, 429 with or without rate-limit headers), 5xx,
latency and slow answers, truncated bodies, an API that goes down mid-run, and an admin surface under
/_sim/ for tests and scripts running in another process.
"""

from __future__ import annotations

import math
import socket
import threading
import time
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, fields, replace
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

import orjson

from .api import OFFSET_WORDINGS, Api, check_window_bounds
from .generate import generate
from .store import Dataset
from .times import parse_iso

LOG_LINES = 10_000
SERVER_KEYS = (
    "token",
    "host",
    "port",
    "account_time_zone",
    "verbose",
    "latency",
    "rate_limit_per_minute",
    "window_bounds",
)
_LISTINGS = {
    "GET /incidents": "incidents",
    "GET /log_entries": "log_entries",
    "GET /change_events": "change_events",
}
RATE_LIMIT_DEFAULT = 960  # PagerDuty's per-key limit, announced in ratelimit-limit when no limit is set
RATE_WINDOW = 60.0


@dataclass
class Faults:
    """Fault injection and behaviour settings; 0 / False means off. Counted over API requests since the
    last set_faults.

    rate_limit_every=N: the Nth request starts a throttled period of rate_limit_reset seconds in which
    every API request gets 429 (so retrying before ratelimit-reset only earns more 429s).
    rate_limit_per_minute=N: at most N API requests in any rolling 60 seconds (refused ones not counted),
    and every response carries ratelimit-limit / ratelimit-remaining / ratelimit-reset.
    latency: seconds every API request waits before its answer (requests in flight wait concurrently).
    window_bounds: whether since / until are inclusive: "[)" (default), "[]", "(]" or "()".
    shift_pages=N: the next N listing pages after a first page (offset > 0) lose their first item, as when
    the listing shifts under a client paging through it (PagerDuty has no snapshot).
    ignore_total: listings answer total=true with `"total": null`, as some real listings do.
    offset_wording: which wording the 400 past offset + limit 10,000 carries (0 or 1: api.OFFSET_WORDINGS).
    rate_limit_bare: 429s come with no headers and no body.
    """

    rate_limit_every: int = 0
    rate_limit_reset: float = 1  # seconds; may be fractional, the header rounds up (at least 1)
    rate_limit_bare: bool = False
    rate_limit_per_minute: int = 0
    error_every: int = 0
    error_status: int = 503
    slow_every: int = 0
    slow_seconds: float = 0.0
    latency: float = 0.0
    truncate_every: int = 0
    fail_after: int = 0
    window_bounds: str = "[)"
    shift_pages: int = 0
    ignore_total: bool = False
    offset_wording: int = 0

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if f.type == "str":
                check_window_bounds(value)
            elif f.type == "bool":
                if not isinstance(value, bool):
                    raise ValueError(f"{f.name} must be true or false")
            elif isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
                raise ValueError(f"{f.name} must be a number >= 0")
            elif f.type == "int" and value != int(value):
                raise ValueError(f"{f.name} must be a whole number")
        if self.offset_wording >= len(OFFSET_WORDINGS):
            raise ValueError(f"offset_wording must be below {len(OFFSET_WORDINGS)}")


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


def _times(data: dict, *keys: str) -> dict:
    """ISO texts of an admin JSON body to datetimes (in place; None and absent keys pass through)."""
    for key in keys:
        if data.get(key) is not None:
            data[key] = parse_iso(data[key])
    return data


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
        latency: float = 0.0,
        rate_limit_per_minute: int = 0,
        window_bounds: str = "[)",
    ) -> None:
        """`latency`, `rate_limit_per_minute` and `window_bounds` are this server's baseline settings:
        set_faults() changes them too, and set_faults() without them goes back to these values."""
        self.dataset = dataset
        self.api = Api(dataset, token, account_time_zone, window_bounds)
        self.host, self.port, self.verbose = host, port, verbose
        self._httpd: _HTTPServer | None = None
        self._url: str | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._baseline = Faults(
            latency=latency, rate_limit_per_minute=rate_limit_per_minute, window_bounds=window_bounds
        )
        self._connections: set[socket.socket] = set()
        self.reset_stats()
        self.set_faults()

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
            self._fault_stats = {"429": 0, "429_per_minute": 0, "5xx": 0, "truncated": 0, "slow": 0}
            self._log: deque[str] = deque(maxlen=LOG_LINES)

    def set_faults(self, **kw) -> dict:
        """Replace the settings (unnamed ones go back to off, or to the constructor's latency,
        rate_limit_per_minute and window_bounds), restart the request counter, end any throttled period
        and forget the requests counted against the per-minute limit. Returns the settings in force."""
        known = {f.name for f in fields(Faults)}
        unknown = set(kw) - known
        if unknown:
            raise ValueError(f"unknown fault settings: {sorted(unknown)}")
        faults = replace(self._baseline, **kw)
        with self._lock:
            self._faults = faults
            self._fault_counter = 0
            self._shifted = 0
            self._throttled_until = float("-inf")
            self._recent: deque[float] = deque()
            self.api.window_bounds = faults.window_bounds
            self.api.ignore_total = faults.ignore_total
            self.api.offset_wording = OFFSET_WORDINGS[faults.offset_wording]
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
            status, payload = self._admin(method, target, body)
            self._send(handler, status, orjson.dumps(payload), {})
            return
        now = self.api.clock()
        with self._lock:
            self._fault_counter += 1
            n = self._fault_counter
            f = self._faults
            label = self.api.route(method, target.split("?", 1)[0])[0]
            self._requests += 1
            self._by_endpoint[label] = self._by_endpoint.get(label, 0) + 1
            self._log.append(f"{method} {target}")
            fault, reset = self._admit(f, n, now)
            if fault is None and f.error_every and n % f.error_every == 0:
                fault = "error"
            limit_headers = self._limit_headers(f, now) if f.rate_limit_per_minute else {}
            slow = f.slow_seconds if f.slow_every and n % f.slow_every == 0 else 0.0
            truncate = bool(f.truncate_every and n % f.truncate_every == 0)
            if fault is not None and fault.startswith("429"):
                self._fault_stats[fault] += 1
            elif fault == "error" and f.error_status >= 500:
                self._fault_stats["5xx"] += 1
            if slow:
                self._fault_stats["slow"] += 1
        if f.latency or slow:
            time.sleep(f.latency + slow)
        if fault is not None and fault.startswith("429"):
            if f.rate_limit_bare:
                self._send(handler, 429, b"", {}, content_type=None)
            else:
                headers = {
                    "ratelimit-limit": str(f.rate_limit_per_minute or RATE_LIMIT_DEFAULT),
                    "ratelimit-remaining": "0",
                    "ratelimit-reset": str(reset),
                }
                body = orjson.dumps({"error": {"message": "Rate Limit Exceeded", "code": 2020}})
                self._send(handler, 429, body, headers)
            return
        if fault == "error":
            try:
                phrase = HTTPStatus(f.error_status).phrase
            except ValueError:
                phrase = "Error"
            self._send(handler, f.error_status, orjson.dumps({"error": {"message": phrase}}), limit_headers)
            return
        try:
            status, _label, payload, headers = self.api.handle(method, target, handler.headers)
        except Exception as err:  # a simulator bug must not look like a hung connection to the loader
            status, headers = 500, {}
            payload = orjson.dumps({"error": {"message": f"simulator error: {err!r}"}})
        if status == 200 and f.shift_pages and label in _LISTINGS and "offset=0" not in target:
            payload = self._shift(payload, _LISTINGS[label])
        if truncate and status == 200:
            payload = payload[: max(1, len(payload) // 2)]
            with self._lock:
                self._fault_stats["truncated"] += 1
        self._send(handler, status, payload, {**headers, **limit_headers})

    def _shift(self, payload: bytes, collection: str) -> bytes:
        """Drop a page's first item while shift_pages lasts: the listing moved by one under the client."""
        with self._lock:
            if self._shifted >= self._faults.shift_pages:
                return payload
            self._shifted += 1
            self._fault_stats["shifted"] = self._fault_stats.get("shifted", 0) + 1
        body = orjson.loads(payload)
        body[collection] = body[collection][1:]
        return orjson.dumps(body)

    def _admit(self, f: Faults, n: int, now: float) -> tuple[str | None, int]:
        """Under the lock: ("error" | "429" | "429_per_minute" | None, ratelimit-reset seconds)."""
        if f.fail_after and n > f.fail_after:
            return "error", 0
        if now < self._throttled_until:
            return "429", max(1, math.ceil(self._throttled_until - now))
        if f.rate_limit_every and n % f.rate_limit_every == 0:
            self._throttled_until = now + f.rate_limit_reset
            return "429", max(1, math.ceil(f.rate_limit_reset))
        if f.rate_limit_per_minute:
            recent = self._recent
            while recent and recent[0] <= now - RATE_WINDOW:
                recent.popleft()
            if len(recent) >= f.rate_limit_per_minute:
                return "429_per_minute", max(1, math.ceil(recent[0] + RATE_WINDOW - now))
            recent.append(now)
        return None, 0

    def _limit_headers(self, f: Faults, now: float) -> dict:
        """The per-minute limit's headers: the limit, requests left, seconds until a slot frees."""
        recent = self._recent
        reset = max(1, math.ceil(recent[0] + RATE_WINDOW - now)) if recent else math.ceil(RATE_WINDOW)
        return {
            "ratelimit-limit": str(f.rate_limit_per_minute),
            "ratelimit-remaining": str(max(0, f.rate_limit_per_minute - len(recent))),
            "ratelimit-reset": str(reset),
        }

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

    def _admin(self, method: str, target: str, body: bytes) -> tuple[int, object]:
        """/_sim/ endpoints: no auth, not counted as API requests. Times in bodies are ISO-8601 texts."""
        path, _, query = target.partition("?")
        ds = self.dataset
        try:
            data = orjson.loads(body) if body.strip() else {}
            if not isinstance(data, dict):
                raise ValueError("JSON body must be an object")
            route = (method, path)
            if route == ("GET", "/_sim/stats"):
                return 200, self.stats()
            if route == ("POST", "/_sim/reset_stats"):
                self.reset_stats()
                return 200, {"ok": True}
            if route == ("GET", "/_sim/faults"):
                return 200, self.faults()
            if route == ("POST", "/_sim/faults"):
                return 200, self.set_faults(**data)
            if route == ("POST", "/_sim/step"):
                return 200, ds.step(**_times(data, "now"))
            if route == ("POST", "/_sim/incidents"):
                if "created_at" not in data:
                    raise ValueError("created_at is required")
                return 200, ds.add_incident(
                    **_times(data, "created_at", "acknowledged_at", "resolved_at", "updated_at", "visible_at")
                )
            if route == ("POST", "/_sim/edit"):
                return 200, ds.edit(**_times(data, "at"))
            if route == ("POST", "/_sim/merge"):
                return 200, ds.merge(**_times(data, "at"))
            if route == ("POST", "/_sim/reopen"):
                return 200, ds.reopen(**_times(data, "at"))
            if route == ("POST", "/_sim/resolve"):
                return 200, ds.resolve(**_times(data, "at"))
            if route == ("POST", "/_sim/rename_priority"):
                return 200, ds.rename_priority(**data)
            if route == ("POST", "/_sim/rename_service"):
                return 200, ds.rename_service(**data)
            if route == ("POST", "/_sim/delete_incident"):
                ds.delete_incident(**data)
                return 200, {"ok": True}
            if route == ("POST", "/_sim/delete_service"):
                ds.delete_service(**data)
                return 200, {"ok": True}
            if route == ("POST", "/_sim/change_events"):
                return 200, ds.add_change_event(**_times(data, "sent_at"))
            if route == ("GET", "/_sim/assignment_history"):
                number = (parse_qs(query).get("number") or [""])[-1]
                return 200, [
                    {"at": at.strftime("%Y-%m-%dT%H:%M:%SZ"), "user_id": uid, "user_name": name}
                    for at, uid, name in ds.assignment_history(number)
                ]
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
