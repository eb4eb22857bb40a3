"""Listing PagerDuty collections completely despite the 10,000-result and 6-month limits, several requests
at a time.

PagerDuty has no cursor for incidents: offset + limit may not pass 10,000, and since/until may not be more
than 6 months apart. The only way to reach every incident is to cut the time range into windows that each hold
at most 10,000 incidents, which `total=true` on a window's first page tells us. The pages after the first are
then known in advance and are fetched side by side (up to the client's concurrency, under its rate limiter),
so a first load runs at PagerDuty's own limit rather than at one request's latency.

PagerDuty does not say whether since/until are inclusive. Each window's query starts one second before the
seconds it is meant to cover: under every convention the query then lists them all, and neighbouring windows
overlap by one second (rows are deduplicated downstream, so the overlap costs nothing).

Some listings answer `total=true` with a null total. Nothing is then known in advance: such a listing is read
one page at a time by following `more`, and a window that reaches the 10,000 ceiling that way is halved and
read again, as one whose total said so.
"""

from __future__ import annotations

import queue
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, wait
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Optional

from . import settings
from .client import OffsetLimitError, PagerDutyClient, PagerDutyError, TooManyIncidentsError
from .times import iso_z

Page = list[dict[str, Any]]
Warn = Callable[[str], None]


def warn_ignored_total(path: str, warn: Optional[Warn]) -> None:
    """The one warning line of a listing that ignored total=true (the same text wherever it is found)."""
    if warn is not None:
        warn(
            f"GET {path} ignored total=true: its listings are read one page at a time, following `more`"
            " (slower, but complete)"
        )


def read_by_more(
    client: PagerDutyClient, path: str, collection: str, params: Mapping[str, Any], first: dict[str, Any]
) -> Optional[list[Page]]:
    """Every page of a listing that gave no total, from its first page on, following `more` one request at a
    time; None when the listing goes past the 10,000-result ceiling (narrow it and read again)."""
    items = first.get(collection) or []
    pages = [items] if items else []
    offset, body = len(items), first
    while body.get("more") and items:
        if offset + settings.PAGE_LIMIT > settings.MAX_OFFSET_PLUS_LIMIT:
            return None
        try:
            body = client.get(path, {**params, "limit": settings.PAGE_LIMIT, "offset": offset})
        except OffsetLimitError:
            return None
        items = body.get(collection) or []
        if items:
            pages.append(items)
        offset += len(items)
    return pages


def windows(since: datetime, until: datetime, width: timedelta = settings.MAX_WINDOW) -> list[tuple]:
    """Contiguous half-open [start, end) windows covering [since, until), none wider than `width`."""
    out = []
    start = since
    while start < until:
        end = min(start + width, until)
        out.append((start, end))
        start = end
    return out


def query_window(start: datetime, end: datetime) -> dict[str, str]:
    """since/until that list every second of [start, end) whatever PagerDuty's boundary convention."""
    return {"since": iso_z(start - settings.WINDOW_OVERLAP), "until": iso_z(end)}


@dataclass
class _Window:
    start: datetime
    end: datetime
    total: int = 0
    pages_left: int = 0
    attempt: int = 1
    seen: set[str] = field(default_factory=set)


class _Pool:
    """Requests in flight on worker threads, at most `limit` at once; results come back as they finish.

    The workers are daemon threads: a load that fails (or is interrupted) ends its process at once, instead
    of waiting for requests still in flight on other threads to time out."""

    def __init__(self, workers: int) -> None:
        self.tasks: queue.SimpleQueue = queue.SimpleQueue()
        self.limit = workers * 2
        self.queued: deque[tuple[Any, tuple]] = deque()
        self.running: dict[Future, Any] = {}
        self.workers = [
            threading.Thread(target=self._work, name=f"pagerduty-{i}", daemon=True) for i in range(workers)
        ]
        for worker in self.workers:
            worker.start()

    def _work(self) -> None:
        while True:
            item = self.tasks.get()
            if item is None:
                return
            future, fn, args = item
            if not future.set_running_or_notify_cancel():
                continue
            try:
                future.set_result(fn(*args))
            except BaseException as exc:  # noqa: BLE001 - handed to the caller through the future
                future.set_exception(exc)

    def add(self, tag: Any, fn: Any, *args: Any, first: bool = False) -> None:
        (self.queued.appendleft if first else self.queued.append)((tag, (fn, *args)))

    def results(self) -> Iterator[tuple[Any, Any]]:
        while self.queued or self.running:
            while self.queued and len(self.running) < self.limit:
                tag, (fn, *args) = self.queued.popleft()
                future: Future = Future()
                self.tasks.put((future, fn, args))
                self.running[future] = tag
            done, _ = wait(list(self.running), return_when=FIRST_COMPLETED)
            for future in done:
                tag = self.running.pop(future)
                yield tag, future.result()

    def close(self) -> None:
        self.queued.clear()
        for future in self.running:
            future.cancel()
        for _ in self.workers:
            self.tasks.put(None)


def iter_windows(
    client: PagerDutyClient,
    path: str,
    collection: str,
    since: datetime,
    until: datetime,
    params: Mapping[str, Any],
    exact: bool = True,
    warn: Optional[Warn] = None,
) -> Iterator[Page]:
    """Every object of a since/until listing (incidents, log entries, change events) in [since, until),
    page by page, in no particular order.

    A window holding 10,000 objects or more is split in two and asked again. With `exact`, a window is
    checked once all its pages are in: fewer distinct objects than its total means the listing moved under us
    (PagerDuty has no snapshot), so it is read once more, and a second shortfall stops the load. Listings
    filtered by status are not exact: incidents leave them legitimately while they are paged. A listing that
    ignores total=true is read by following `more` (`warn` is told once), and halved where it reaches the
    ceiling.
    """
    pool = _Pool(client.concurrency)
    base = dict(params)

    def query(window: _Window) -> dict[str, Any]:
        return {**base, **query_window(window.start, window.end), "limit": settings.PAGE_LIMIT}

    def first(window: _Window) -> None:
        params = {**query(window), "offset": 0, "total": "true"}
        pool.add(("first", window), client.get, path, params, first=True)

    def split(window: _Window, count: str) -> None:
        """Ask each half of a window holding too many objects; a window of one second cannot be halved."""
        if window.end - window.start <= timedelta(seconds=1):
            raise TooManyIncidentsError(
                f"{client.connection_label}: {count} {collection} were created around"
                f" {iso_z(window.start)}; PagerDuty serves at most {settings.MAX_OFFSET_PLUS_LIMIT}"
                " per query, so this load stops rather than skip any"
            )
        middle = _bisect(window.start, window.end)
        first(_Window(middle, window.end))
        first(_Window(window.start, middle))

    for start, end in windows(since, until):
        first(_Window(start, end))
    warned = False
    try:
        for (kind, window), body in pool.results():
            items = body.get(collection) or []
            if kind == "first":
                total = body.get("total")
                if not isinstance(total, int):
                    if not warned:
                        warn_ignored_total(path, warn)
                        warned = True
                    pages = read_by_more(client, path, collection, query(window), body)
                    if pages is None:
                        split(window, f"more than {settings.MAX_OFFSET_PLUS_LIMIT}")
                        continue
                    for page in pages:
                        fresh = [item for item in page if item.get("id") not in window.seen]
                        window.seen.update(item.get("id") for item in fresh)
                        if fresh:
                            yield fresh
                    continue
                ceiling = settings.MAX_OFFSET_PLUS_LIMIT
                wide = window.end - window.start > timedelta(seconds=1)
                if total > ceiling or (total == ceiling and wide):
                    split(window, str(total))
                    continue
                window.total = total
                offsets = range(len(items), total, settings.PAGE_LIMIT) if items else range(0)
                window.pages_left = len(offsets)
                for offset in offsets:
                    pool.add(("page", window), client.get, path, {**query(window), "offset": offset})
            else:
                window.pages_left -= 1
            fresh = [item for item in items if item.get("id") not in window.seen]
            window.seen.update(item.get("id") for item in fresh)
            if fresh:
                yield fresh
            if window.pages_left == 0 and exact and len(window.seen) < window.total:
                if window.attempt == 2:
                    raise PagerDutyError(
                        f"{client.connection_label}: the window {iso_z(window.start)} to {iso_z(window.end)}"
                        f" reported {window.total} {collection} but only {len(window.seen)} could be read,"
                        " twice; stopping rather than load a partial window"
                    )
                window.attempt = 2
                first(window)
    finally:
        pool.close()


def iter_listing(
    client: PagerDutyClient,
    path: str,
    collection: str,
    params: Mapping[str, Any],
    first: Optional[dict[str, Any]] = None,
    warn: Optional[Warn] = None,
) -> Iterator[Page]:
    """A listing without a time window (services, priorities, teams, users; open incidents): its first page
    (read here, or passed in as `first`) gives the total, the rest are fetched side by side; without a total
    they are read one by one, following `more`. Fails (never truncates) past offset 10,000."""
    body = first or client.get(path, {**params, "limit": settings.PAGE_LIMIT, "offset": 0, "total": "true"})
    items = body.get(collection) or []
    total = body.get("total")
    if not items or not body.get("more"):
        if items:
            yield items
        return
    if not isinstance(total, int):
        warn_ignored_total(path, warn)
        pages = read_by_more(client, path, collection, params, body)
        if pages is None:
            raise PagerDutyError(
                f"{client.connection_label}: {path} lists more than {settings.MAX_OFFSET_PLUS_LIMIT} results"
                " and cannot be narrowed further"
            )
        yield from pages
        return
    yield items
    if total > settings.MAX_OFFSET_PLUS_LIMIT:
        raise PagerDutyError(
            f"{client.connection_label}: {path} lists {total} results, more than"
            f" {settings.MAX_OFFSET_PLUS_LIMIT}, and cannot be narrowed further"
        )
    offsets = range(len(items), total, settings.PAGE_LIMIT)
    for _offset, page in fetch_all(
        client,
        ((offset, path, {**params, "limit": settings.PAGE_LIMIT, "offset": offset}) for offset in offsets),
    ):
        if page and page.get(collection):
            yield page[collection]


def listing_total(
    client: PagerDutyClient, path: str, params: Mapping[str, Any]
) -> tuple[Optional[int], dict[str, Any]]:
    """A listing's total (None when PagerDuty ignored total=true) and its first page."""
    body = client.get(path, {**params, "limit": settings.PAGE_LIMIT, "offset": 0, "total": "true"})
    total = body.get("total")
    return (total if isinstance(total, int) else None), body


def fetch_all(
    client: PagerDutyClient,
    requests: Iterable[tuple[Any, str, Optional[Mapping[str, Any]]]],
    missing_ok: bool = False,
) -> Iterator[tuple[Any, Optional[dict[str, Any]]]]:
    """(tag, body) for each (tag, path, params), fetched side by side, in the order they finish. With
    `missing_ok` a 404 gives None."""
    pool = _Pool(client.concurrency)
    for tag, path, params in requests:
        pool.add(tag, client.get, path, params, missing_ok)
    try:
        yield from pool.results()
    finally:
        pool.close()


def _bisect(start: datetime, end: datetime) -> datetime:
    """The whole second halfway between start and end."""
    half = int((end - start).total_seconds()) // 2
    return start + timedelta(seconds=max(half, 1))
