"""Connection tests for the API: a few at a time, each answered within a deadline, never on the threads
that serve other routes (so `/ping` and the rest answer while tests wait on slow hosts)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from ingestion.scope_load import ConnectionSpec

from ..connections.check import CheckResult, check_connection
from ..output import out


class TooManyTests(Exception):
    def __init__(self, limit: int) -> None:
        super().__init__(f"too many connection tests at once (at most {limit}); try again shortly")


class ConnectionTester:
    def __init__(self, limit: int, deadline_seconds: float) -> None:
        self.limit = limit
        self.deadline = deadline_seconds
        self._slots = threading.BoundedSemaphore(limit)
        self._pool = ThreadPoolExecutor(max_workers=limit, thread_name_prefix="connection-test")

    async def run(self, make_spec: Callable[[], ConnectionSpec]) -> CheckResult:
        """Check the connection `make_spec` gives (it runs on the test's thread too: it may read the
        database or resolve names). TooManyTests when every slot is taken; errors of `make_spec` propagate."""
        if not self._slots.acquire(blocking=False):
            raise TooManyTests(self.limit)
        try:
            future = self._pool.submit(self._job, make_spec)
        except BaseException:
            self._slots.release()
            raise
        waiting = asyncio.wrap_future(future)
        waiting.add_done_callback(lambda done: done.cancelled() or done.exception())  # retrieved, even late
        done, _ = await asyncio.wait({waiting}, timeout=self.deadline)  # never cancels the job
        if done:
            return waiting.result()
        # the job keeps its slot until its requests time out; the caller has its answer now
        return CheckResult(
            False,
            f"the token could not be checked: no valid PagerDuty answer within {self.deadline:g} s",
            "deadline passed",
        )

    def _job(self, make_spec: Callable[[], ConnectionSpec]) -> CheckResult:
        try:
            spec = make_spec()
            result = check_connection(spec)
            if not result.ok and result.detail:
                out.warning(
                    f"connection test of {spec.label}: {result.detail[:300]!r}", event="connection_test"
                )
            return result
        finally:
            self._slots.release()

    def shutdown(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
