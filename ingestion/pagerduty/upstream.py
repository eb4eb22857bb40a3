"""What an endpoint answered, in our own words: its text never reaches a pipeline record or an API caller.

A connection's endpoint may be any loopback service with a path, so an error body echoed into a pipeline's
message would let whoever saves a connection read local services (`GET /incidents answered HTTP 400:
internal secret: db_password=...`). Callers get the status class and, when the body carries one of
PagerDuty's documented error codes, that code and our description of it; the body itself goes to this
process's log only (logger `pagerduty_dora.upstream`), without control characters and with the connection's
secrets masked.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from typing import Optional

import orjson

LOG = logging.getLogger("pagerduty_dora.upstream")
MAX_LOGGED = 2000
"""Characters of an error body the log keeps."""

PAGERDUTY_ERROR_CODES: dict[int, str] = {
    2000: "an internal error at PagerDuty",
    2001: "invalid input",
    2002: "the arguments caused an error",
    2003: "missing arguments",
    2004: "invalid since or until",
    2005: "invalid date range",
    2006: "authentication failed",
    2007: "account not found",
    2008: "account locked",
    2009: "only https is allowed",
    2010: "access denied",
    2012: "the account has expired",
    2015: "invalid operation",
    2016: "the request took too long to process",
    2020: "rate limit exceeded",
    2100: "not found",
}
"""PagerDuty's documented REST API error codes that a reader of incidents can meet (developer docs, "Errors";
2020 from its rate-limiting page), in our words."""

_STATUS_CLASSES = {4: "the request was refused", 5: "the server failed"}
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")


def printable(text: str) -> str:
    """`text` on one line without control characters (ANSI escapes, carriage returns, newlines): each run of
    them becomes one space, so nothing it holds can move a terminal's cursor or forge a log line."""
    return _CONTROL.sub(" ", text)


def error_code(body: bytes) -> Optional[int]:
    """PagerDuty's `error.code` of an error body, if it is one of its documented codes."""
    try:
        error = orjson.loads(body).get("error")
    except (orjson.JSONDecodeError, AttributeError):
        return None
    code = error.get("code") if isinstance(error, dict) else None
    if isinstance(code, bool) or not isinstance(code, int) or code not in PAGERDUTY_ERROR_CODES:
        return None
    return code


def describe(status: int, body: bytes) -> str:
    """What an answer other than 200 means, in our words: `HTTP 4xx (the request was refused; PagerDuty error
    2002: the arguments caused an error)`. Never a word of the body."""
    kind = _STATUS_CLASSES.get(status // 100, "not an answer PagerDuty gives")
    code = error_code(body)
    detail = f"; PagerDuty error {code}: {PAGERDUTY_ERROR_CODES[code]}" if code is not None else ""
    return f"HTTP {status // 100}xx ({kind}{detail})"


def log_answer(where: str, status: int, body: bytes, secrets: Iterable[Optional[str]]) -> None:
    """The answer in full (up to MAX_LOGGED characters) for this process's own log: control characters
    removed, the connection's secrets masked."""
    text = printable(body[: MAX_LOGGED * 4].decode("utf-8", "replace"))[:MAX_LOGGED]
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    LOG.warning("%s answered HTTP %s: %s", printable(where), status, text)
