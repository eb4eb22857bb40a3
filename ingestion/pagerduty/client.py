"""HTTP access to PagerDuty's REST API v2: requests with retries PagerDuty's limits call for.

Every request is retried on 429, 5xx, dropped connections, timeouts and pages cut off mid-body, with
exponential backoff (the Retry-After a 429 implies is honoured). A connection refused or a name that does not
resolve is given up sooner (no backoff schedule makes a closed port open). Each retry is told to the caller
(`on_retry`: "PagerDuty did not answer: retry 3 of 6 in 4 s"), and `cancel()` stops every thread's waits at
once, so a failed load ends promptly instead of sleeping through other requests' backoffs. PagerDuty needs
more:
- one rate limiter per connection, shared by every thread: at most `rateLimitPerHour` requests in any hour
  when the connection sets it, else at most 960 in any minute (PagerDuty's published limit); a 429 or a
  `ratelimit-remaining` of 0 pauses every thread until `ratelimit-reset` says the window is over;
- a page cut off mid-body is fetched again rather than parsed;
- every request asks for UTC (`time_zone=UTC`), follows no redirect, and reads at most 32 MB: a hostile or
  broken endpoint can neither bounce the token elsewhere nor exhaust memory (urllib3 caps no response's size).
"""

from __future__ import annotations

import threading
import time
import zlib
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Optional
from urllib.parse import urlsplit

import orjson
import requests

from . import settings, upstream
from .endpoints import EndpointPolicy, EndpointRefused, IPAddress, policy_from_env
from .pinned import PinnedAdapter


class PagerDutyError(Exception):
    """A request to PagerDuty failed for good. The message names the connection, never the token."""


class AuthenticationError(PagerDutyError):
    """PagerDuty refused the token (401) or its permissions (403): retrying cannot help."""


class TooManyIncidentsError(PagerDutyError):
    """A one-second window holds more incidents than PagerDuty lets a client page through."""


class NotOnPlanError(PagerDutyError):
    """PagerDuty answered 402: the account's plan lacks what was asked (teams, priorities)."""


class OffsetLimitError(PagerDutyError):
    """PagerDuty refused a page past its 10,000-result ceiling (HTTP 400, code 2002, in either wording): the
    query must be narrowed, not retried."""


OFFSET_LIMIT_WORDINGS = ("offset+limit exceeds maximum allowed value", "offset must be less than")
"""Both wordings of the ceiling's error seen from PagerDuty ("Offset+limit exceeds maximum allowed value of
10000", "Offset must be less than 10001"), compared in lower case."""


class ResponseTooLarge(requests.RequestException):
    """A response body over the cap: treated as a failed request, never read whole."""


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to try one request before the load fails (and leaves its cut-off untouched)."""

    max_attempts: int = settings.REQUEST_MAX_ATTEMPTS
    backoff_factor: float = settings.REQUEST_BACKOFF_FACTOR
    max_delay: float = settings.REQUEST_MAX_RETRY_DELAY_SECONDS
    timeout: float = settings.REQUEST_TIMEOUT_SECONDS
    """Seconds to wait for an answer once connected."""
    connect_timeout: float = settings.REQUEST_CONNECT_TIMEOUT_SECONDS
    unreachable_attempts: int = settings.REQUEST_UNREACHABLE_ATTEMPTS
    """Attempts when the connection is refused or the name does not resolve."""
    rate_limited_attempts: int = settings.REQUEST_RATE_LIMITED_ATTEMPTS
    """Attempts while PagerDuty answers 429, not counted in `max_attempts`."""

    def delay(self, attempt: int) -> float:
        """Seconds before attempt `attempt + 1`: exponential, capped."""
        return min(self.backoff_factor * 2 ** (attempt - 1), self.max_delay)


class RequestCancelled(requests.RequestException):
    """The client was cancelled (its load failed or stopped): no more requests, no more waiting."""


_RETRIED_EXCEPTIONS = (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError)


def _unreachable(exc: BaseException) -> Optional[str]:
    """'connection refused' or 'name not resolved' when that is why a request failed, else None."""
    text = repr(exc).lower()
    if isinstance(exc, requests.ConnectionError) and not isinstance(exc, requests.Timeout):
        if any(words in text for words in ("does not resolve", "name or service not known", "resolution")):
            return "name not resolved"
        if "connection refused" in text or "errno 111" in text:
            return "connection refused"
    return None


class RateLimiter:
    """PagerDuty's limits for one connection, across threads.

    Sliding windows rather than a token bucket: a bucket with any burst capacity lets more than the limit
    through in some minute, and PagerDuty answers those with 429s. After a 429 (or a response saying no
    request is left) every thread waits for `ratelimit-reset`, so a throttled client does not hammer.
    """

    def __init__(
        self,
        per_hour: Optional[int] = None,
        per_minute: int = settings.RATE_LIMIT_PER_MINUTE,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        # a connection's rateLimitPerHour (DevLake's field) replaces PagerDuty's default per-minute limit
        self.limits = [(per_hour, 3600.0)] if per_hour else [(per_minute, 60.0)]
        self._sent: list[deque[float]] = [deque() for _ in self.limits]
        self._paused_until = 0.0
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self.waited = 0.0

    def acquire(self) -> None:
        """Block until one more request fits every limit, then count it."""
        while True:
            with self._lock:
                now = self._clock()
                wait = self._paused_until - now
                for (limit, span), sent in zip(self.limits, self._sent, strict=True):
                    while sent and sent[0] <= now - span:
                        sent.popleft()
                    if len(sent) >= limit:
                        wait = max(wait, sent[0] + span - now)
                if wait <= 0:
                    for sent in self._sent:
                        sent.append(now)
                    return
                self.waited += wait
            self._sleep(wait)

    def pause(self, seconds: float) -> None:
        """Nobody sends before `seconds` from now (PagerDuty said the window is spent)."""
        with self._lock:
            self._paused_until = max(self._paused_until, self._clock() + seconds)

    def observe(self, response: requests.Response) -> None:
        reset = _reset_seconds(response)
        if response.status_code == 429:
            self.pause(reset if reset is not None else settings.RATE_LIMIT_BARE_PAUSE_SECONDS)
        elif response.headers.get("ratelimit-remaining", "").strip() == "0" and reset is not None:
            self.pause(reset)


def _reset_seconds(response: requests.Response) -> Optional[float]:
    text = response.headers.get("ratelimit-reset", "").strip()
    try:
        # a reset of 0 means "now": wait one second rather than hammering the API
        return max(float(text), 1.0) if text else None
    except ValueError:
        return None


class _GuardedAdapter(PinnedAdapter):
    """Every request, retries included, passes the rate limiter and is counted; bodies are read with a cap;
    connections go only to addresses the endpoint policy checked (pinned.py)."""

    def __init__(
        self, limiter: RateLimiter, count: Callable[[], None], max_bytes: int, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.limiter = limiter
        self.count = count
        self.max_bytes = max_bytes

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        self.limiter.acquire()
        self.count()
        kwargs["stream"] = True
        response = super().send(request, **kwargs)
        try:
            response._content = _read_capped(response, self.max_bytes)  # type: ignore[attr-defined]
        finally:
            response.close()
        response._content_consumed = True  # type: ignore[attr-defined]
        self.limiter.observe(response)
        if response.status_code == 429 and "Retry-After" not in response.headers:
            reset = _reset_seconds(response)
            if reset is not None:  # dlt's retry waits for Retry-After; PagerDuty says ratelimit-reset
                response.headers["Retry-After"] = str(int(reset + 0.999))
        return response


def _read_capped(response: requests.Response, max_bytes: int) -> bytes:
    """The body, decompressed, refusing more than `max_bytes` either way (no decompression bomb)."""
    chunks: list[bytes] = []
    size = 0
    while True:
        chunk = response.raw.read(65536, decode_content=False)
        if not chunk:
            break
        size += len(chunk)
        if size > max_bytes:
            raise ResponseTooLarge(f"response over {max_bytes // 1_000_000} MB")
        chunks.append(chunk)
    body = b"".join(chunks)
    encoding = response.headers.get("content-encoding", "").strip().lower()
    if encoding in ("gzip", "deflate"):
        inflater = zlib.decompressobj(zlib.MAX_WBITS | 32)  # gzip or zlib header, detected
        try:
            body = inflater.decompress(body, max_bytes + 1)
        except zlib.error as exc:
            raise requests.exceptions.ContentDecodingError(str(exc)) from None
        if len(body) > max_bytes or inflater.unconsumed_tail:
            raise ResponseTooLarge(f"response over {max_bytes // 1_000_000} MB once decompressed")
        del response.headers["content-encoding"]
    elif encoding not in ("", "identity"):
        raise requests.exceptions.ContentDecodingError(f"unsupported content-encoding {encoding!r}")
    return body


def _is_cut_off(response: Optional[requests.Response], exception: Optional[BaseException]) -> bool:
    """A 200 whose body is not whole JSON was cut off in transit: retry it. The parsed body is kept on the
    response, so a page is parsed once."""
    if response is None or response.status_code != 200:
        return False
    try:
        response.parsed_json = orjson.loads(response.content)  # type: ignore[attr-defined]
    except orjson.JSONDecodeError:
        return True
    return False


class PagerDutyClient:
    """GETs against one PagerDuty connection, from any number of threads, counting every request sent."""

    def __init__(
        self,
        base_url: str,
        token: str,
        connection_label: str,
        retry: RetryPolicy = RetryPolicy(),
        proxy: Optional[str] = None,
        rate_limit_per_hour: Optional[int] = None,
        concurrency: int = settings.CONCURRENT_REQUESTS,
        max_response_bytes: int = settings.MAX_RESPONSE_BYTES,
        policy: Optional[EndpointPolicy] = None,
        on_retry: Optional[Callable[[str], None]] = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.connection_label = connection_label
        self.concurrency = max(1, concurrency)
        self.requests_made = 0
        self.limiter = RateLimiter(per_hour=rate_limit_per_hour or None)
        self.retry = retry
        self.on_retry = on_retry
        self._lock = threading.Lock()
        self._policy = policy
        self._proxy = proxy
        self._checked = False
        self._cancelled = threading.Event()
        self._secrets = (token, urlsplit(proxy).password if proxy else None)
        self._headers = {
            "Authorization": f"Token token={token}",
            "Accept": settings.ACCEPT_HEADER,
            "Accept-Encoding": "gzip",
        }
        self._adapter = _GuardedAdapter(
            self.limiter,
            self._count,
            max_response_bytes,
            addresses=self._addresses,
            proxy_addresses=lambda host, port: self._addresses(host, port, proxy=True),
            pool_maxsize=self.concurrency + 2,
        )
        self._local = threading.local()

    @property
    def _session(self) -> requests.Session:
        """This thread's session (requests' sessions are not shared between threads), on the shared adapter:
        one rate limiter, one request count, one connection pool."""
        session = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = requests.Session()
            session.max_redirects = 0
            session.trust_env = not self._proxy  # a connection's proxy is the only one used for it
            if self._proxy:
                session.proxies = {"http": self._proxy, "https": self._proxy}
            session.mount("http://", self._adapter)
            session.mount("https://", self._adapter)
        return session

    def cancel(self) -> None:
        """Stop: requests not yet sent are not sent, and every wait between retries ends now."""
        self._cancelled.set()

    def _count(self) -> None:
        with self._lock:
            self.requests_made += 1

    def _send(self, url: str, query: Mapping[str, Any], where: str) -> requests.Response:
        """One GET, retried as the module says: the answer, or the last exception once attempts run out."""
        policy = self.retry
        failed = throttled = 0  # 429s have their own count: see settings.REQUEST_RATE_LIMITED_ATTEMPTS
        while True:
            if self._cancelled.is_set():
                raise RequestCancelled("the load was stopped")
            response, failure = self._attempt(url, query)
            if response is not None and not _worth_retrying(response):
                return response
            unreachable = _unreachable(failure) if failure is not None else None
            if response is not None and response.status_code == 429:
                throttled += 1
                attempt, limit = throttled, policy.rate_limited_attempts
            else:
                failed += 1
                attempt, limit = failed, policy.max_attempts
                if unreachable:
                    limit = min(limit, policy.unreachable_attempts)
            if attempt >= limit:
                if failure is not None:
                    raise failure
                return response  # type: ignore[return-value]
            wait = (_retry_after(response) if response is not None else None) or policy.delay(attempt)
            note = _retry_note(response, failure, unreachable, wait)
            if note and self.on_retry is not None:
                self.on_retry(f"{where}: {note}: retry {attempt} of {limit - 1} in {wait:.0f} s")
            if self._cancelled.wait(wait):
                raise RequestCancelled("the load was stopped")

    def _attempt(
        self, url: str, query: Mapping[str, Any]
    ) -> tuple[Optional[requests.Response], Optional[BaseException]]:
        try:
            response = self._session.get(
                url,
                params=query,
                headers=self._headers,
                allow_redirects=False,
                timeout=(self.retry.connect_timeout, self.retry.timeout),
            )
        except _RETRIED_EXCEPTIONS as exc:
            return None, exc
        return response, None

    def get(
        self, path: str, params: Optional[Mapping[str, Any]] = None, missing_ok: bool = False
    ) -> Optional[dict[str, Any]]:
        """GET `path` and return its JSON object, or raise a PagerDutyError that says what went wrong.

        With `missing_ok`, a 404 returns None (an incident read by id that no longer exists)."""
        url = self.base_url + path
        where = f"GET {urlsplit(path).path}"
        self._check_endpoint()
        query = {"time_zone": "UTC", **(params or {})}
        try:
            response = self._send(url, query, where)
        except EndpointRefused as exc:  # the address the name resolved to, when connecting
            raise PagerDutyError(f"{self.connection_label}: {exc}") from None
        except requests.RequestException as exc:
            if isinstance(exc, ResponseTooLarge):
                detail = str(exc)
            else:
                detail = _unreachable(exc) or type(exc).__name__
            raise PagerDutyError(
                f"{self.connection_label}: {where} failed after retries: {detail}"
                f" reaching {urlsplit(self.base_url).netloc}"
            ) from None
        if response.status_code in (401, 403):
            raise AuthenticationError(
                f"{self.connection_label}: PagerDuty refused the token (HTTP {response.status_code}"
                f" on {where}); check the connection's token and its permissions"
            )
        if response.status_code == 429:
            raise PagerDutyError(
                f"{self.connection_label}: {where}: PagerDuty kept answering 429 (rate limited) after"
                f" {self.retry.rate_limited_attempts} tries; run again later, or lower the connection's"
                " rateLimitPerHour if another client shares its token"
            )
        if response.status_code == 404 and missing_ok:
            return None
        if response.status_code == 402:
            raise NotOnPlanError(f"{self.connection_label}: {where} is not on this account's plan (HTTP 402)")
        if response.status_code == 400 and _is_offset_limit(response):
            raise OffsetLimitError(f"{self.connection_label}: {where} refused a page past offset 10,000")
        if 300 <= response.status_code < 400:
            raise PagerDutyError(
                f"{self.connection_label}: {where} answered a redirect (HTTP 3xx);"
                " redirects are not followed: check the connection's endpoint"
            )
        if response.status_code != 200:  # its text goes to our log only: the endpoint may be any service
            upstream.log_answer(
                f"{self.connection_label}: {where}", response.status_code, response.content, self._secrets
            )
            raise PagerDutyError(
                f"{self.connection_label}: {where} answered"
                f" {upstream.describe(response.status_code, response.content)}"
            )
        body = getattr(response, "parsed_json", None)
        if body is None:
            try:
                body = orjson.loads(response.content)
            except orjson.JSONDecodeError:
                raise PagerDutyError(
                    f"{self.connection_label}: {where} returned malformed JSON after retries"
                ) from None
        if not isinstance(body, dict):
            raise PagerDutyError(f"{self.connection_label}: {where} returned JSON that is not an object")
        return body

    def _policy_now(self) -> EndpointPolicy:
        return self._policy or policy_from_env()

    def _addresses(self, host: str, port: int, proxy: bool = False) -> list[IPAddress]:
        """Where a new connection to `host` may go: resolved once, every address checked (pinned.py)."""
        return self._policy_now().addresses(host, port, proxy=proxy)

    def _check_endpoint(self) -> None:
        """Where the token may go (ingestion/pagerduty/endpoints.py), checked once per client before its
        first request; the addresses are checked as each connection is made. Through a proxy, which resolves
        the endpoint's name itself, the name is resolved and checked here too."""
        if self._checked:
            return
        try:
            policy = self._policy_now()
            policy.check_endpoint(self.base_url, resolve=bool(self._proxy))
            if self._proxy:
                policy.check_proxy(self._proxy, resolve=False)
        except ValueError as exc:
            raise PagerDutyError(f"{self.connection_label}: {exc}") from None
        self._checked = True


def _worth_retrying(response: requests.Response) -> bool:
    return response.status_code in settings.RETRY_STATUS_CODES or _is_cut_off(response, None)


def _retry_note(
    response: Optional[requests.Response],
    failure: Optional[BaseException],
    unreachable: Optional[str],
    wait: float,
) -> Optional[str]:
    """What a retry line says, or None for a short pause at PagerDuty's rate limit (those are routine)."""
    if response is None:
        reason = unreachable or (
            "no answer in time" if isinstance(failure, requests.Timeout) else "no answer"
        )
        return f"PagerDuty did not answer ({reason})"
    if response.status_code == 429:
        return "PagerDuty asked to slow down (429)" if wait >= 5 else None
    if response.status_code == 200:
        return "PagerDuty's answer was cut off"
    return f"PagerDuty answered HTTP {response.status_code}"


def _retry_after(response: requests.Response) -> Optional[float]:
    """Seconds a 429 says to wait (Retry-After, as the adapter derives it from ratelimit-reset)."""
    text = response.headers.get("Retry-After", "").strip()
    try:
        return float(text) if text else None
    except ValueError:
        return None


def _error_body(response: requests.Response) -> dict[str, Any]:
    """PagerDuty's `error` object, or {} when the body has none."""
    try:
        error = orjson.loads(response.content).get("error") or {}
    except (orjson.JSONDecodeError, AttributeError):
        return {}
    return error if isinstance(error, dict) else {}


def _is_offset_limit(response: requests.Response) -> bool:
    """The 400 of a page past the 10,000-result ceiling, in either of its wordings."""
    error = _error_body(response)
    listed = error.get("errors")
    texts = [error.get("message"), *(listed if isinstance(listed, list) else [])]
    return any(isinstance(t, str) and t.lower().startswith(OFFSET_LIMIT_WORDINGS) for t in texts)
