"""HTTP access to PagerDuty's REST API v2 through dlt's retrying requests client.

dlt's client already retries 429, 5xx, dropped connections and timeouts with exponential backoff. Two things
PagerDuty needs on top: a 429 says when to come back in `ratelimit-reset` (seconds) rather than Retry-After,
and a page cut off mid-body must be fetched again rather than parsed.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Optional
from urllib.parse import urlsplit

import orjson
import requests
from dlt.sources.helpers.requests import Client

from . import settings


class PagerDutyError(Exception):
    """A request to PagerDuty failed for good. The message names the connection, never the token."""


class AuthenticationError(PagerDutyError):
    """PagerDuty refused the token (401) or its permissions (403): retrying cannot help."""


class TooManyIncidentsError(PagerDutyError):
    """A one-second window holds more incidents than PagerDuty lets a client page through."""


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to try one request before the load fails (and leaves its high-water mark untouched)."""

    max_attempts: int = settings.REQUEST_MAX_ATTEMPTS
    backoff_factor: float = settings.REQUEST_BACKOFF_FACTOR
    max_delay: float = settings.REQUEST_MAX_RETRY_DELAY_SECONDS
    timeout: float = settings.REQUEST_TIMEOUT_SECONDS


def _rate_limit_reset_as_retry_after(response: requests.Response, *args: Any, **kwargs: Any) -> None:
    """Expose PagerDuty's `ratelimit-reset` as Retry-After, which dlt's retry waits for."""
    if response.status_code == 429 and "Retry-After" not in response.headers:
        reset = response.headers.get("ratelimit-reset", "").strip()
        if reset.isdigit():
            # a reset of 0 means "now": wait one second rather than hammering the API
            response.headers["Retry-After"] = str(max(int(reset), 1))


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
    """GETs against one PagerDuty connection, counting every request that reached the API."""

    def __init__(
        self,
        base_url: str,
        token: str,
        connection_label: str,
        retry: RetryPolicy = RetryPolicy(),
        proxy: Optional[str] = None,
        rate_limit_per_hour: Optional[int] = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.connection_label = connection_label
        self.requests_made = 0
        self._lock = threading.Lock()
        self._headers = {
            "Authorization": f"Token token={token}",
            "Accept": settings.ACCEPT_HEADER,
        }
        self._min_interval = 3600.0 / rate_limit_per_hour if rate_limit_per_hour else 0.0
        self._next_request_at = 0.0
        session_attrs: dict[str, Any] = {
            "hooks": {"response": [self._count, _rate_limit_reset_as_retry_after]}
        }
        if proxy:
            session_attrs["proxies"] = {"http": proxy, "https": proxy}
        self._http = Client(
            request_timeout=retry.timeout,
            raise_for_status=False,
            status_codes=settings.RETRY_STATUS_CODES,
            request_max_attempts=retry.max_attempts,
            retry_condition=_is_cut_off,
            request_backoff_factor=retry.backoff_factor,
            request_max_retry_delay=retry.max_delay,
            respect_retry_after_header=True,
            session_attrs=session_attrs,
        )

    def _count(self, response: requests.Response, *args: Any, **kwargs: Any) -> None:
        with self._lock:
            self.requests_made += 1

    def _throttle(self) -> None:
        """Spread requests evenly when the connection sets rateLimitPerHour (as DevLake's does)."""
        if not self._min_interval:
            return
        with self._lock:
            now = time.monotonic()
            wait = self._next_request_at - now
            self._next_request_at = max(now, self._next_request_at) + self._min_interval
        if wait > 0:
            time.sleep(wait)

    def get(
        self, path: str, params: Optional[Mapping[str, Any]] = None, missing_ok: bool = False
    ) -> Optional[dict[str, Any]]:
        """GET `path` and return its JSON object, or raise a PagerDutyError that says what went wrong.

        With `missing_ok`, a 404 returns None (an incident read by id that no longer exists)."""
        self._throttle()
        where = f"GET {urlsplit(path).path}"
        try:
            response = self._http.get(self.base_url + path, params=params, headers=self._headers)
        except requests.RequestException as exc:
            raise PagerDutyError(
                f"{self.connection_label}: {where} failed after retries: {type(exc).__name__}"
                f" reaching {urlsplit(self.base_url).netloc}"
            ) from None
        if response.status_code in (401, 403):
            raise AuthenticationError(
                f"{self.connection_label}: PagerDuty refused the token (HTTP {response.status_code}"
                f" on {where}); check the connection's token and its permissions"
            )
        if response.status_code == 404 and missing_ok:
            return None
        if response.status_code != 200:
            raise PagerDutyError(
                f"{self.connection_label}: {where} answered HTTP {response.status_code}"
                f"{_error_detail(response)}"
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


def _error_detail(response: requests.Response) -> str:
    """PagerDuty's own error message and code, when the body has them."""
    try:
        error = orjson.loads(response.content).get("error") or {}
    except (orjson.JSONDecodeError, AttributeError):
        return ""
    message, code = error.get("message"), error.get("code")
    details = "; ".join(str(e) for e in error.get("errors") or [])
    text = f": {message}" if message else ""
    text += f" (code {code})" if code is not None else ""
    return text + (f": {details}" if details else "")
