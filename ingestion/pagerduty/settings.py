"""Constants of PagerDuty's REST API v2 and of how this source uses it.

The limits come from PagerDuty's documentation (see pagerduty-api.md in the shared reference); the choices
below them are ours and are explained where they are made.
"""

from datetime import timedelta

DEFAULT_BASE_URL = "https://api.pagerduty.com"
ACCEPT_HEADER = "application/vnd.pagerduty+json;version=2"

PAGE_LIMIT = 100
"""Largest page PagerDuty serves."""

MAX_OFFSET_PLUS_LIMIT = 10_000
"""PagerDuty answers 400 when offset + limit exceeds this: past it only a narrower filter helps."""

MAX_WINDOW = timedelta(days=179)
"""since/until may be at most 6 calendar months apart; the shortest 6-month span is 181 days."""

WINDOW_OVERLAP = timedelta(seconds=1)
"""PagerDuty does not say whether since/until are inclusive: adjacent windows overlap by one second, so a
time on the edge is listed under either convention (rows are deduplicated, so the overlap costs nothing)."""

SMALLEST_WINDOW = timedelta(seconds=2)
"""Timestamps have whole seconds: a window this small (one second plus the overlap) holding over 10,000
incidents cannot be split."""

INCREMENTAL_OVERLAP = timedelta(minutes=10)
"""A rerun lists incidents created, and log entries written, since the previous run's cut-off minus this,
for objects that reached the API a little after their time stamp."""

READ_AFTER_CHANGE_MARGIN = timedelta(seconds=60)
"""A log entry names an incident the lake read more than this after the entry was written: the version held
already shows the change (the previous run's overlap), and it is not read again. The margin covers the
difference between PagerDuty's clock and ours."""

CHANGE_EVENT_TRAILING_WINDOW = timedelta(hours=24)
"""Change events are listed by the timestamp their sender wrote, which can be older than the previous run (a
deploy stamped at its start and sent at its end, a retried webhook): each run lists this far back again."""

CHANGE_EVENT_RETENTION = timedelta(days=90)
"""PagerDuty keeps change events this long: a loader that runs less often loses deployments for good."""

OPEN_STATUSES = ("triggered", "acknowledged")
RESOLVED = "resolved"
ASSIGNING_LOG_ENTRIES = ("assign_log_entry", "escalate_log_entry", "delegate_log_entry")
"""Log entries that name who an incident went to (`assignees`)."""

RATE_LIMIT_PER_MINUTE = 960
"""PagerDuty's published limit per account key."""

RATE_LIMIT_BARE_PAUSE_SECONDS = 2.0
"""A 429 may come without headers: everyone pauses this long, then dlt's backoff takes over."""

CONCURRENT_REQUESTS = 8
"""Requests in flight per connection: at 250 ms a request, 4 already reach PagerDuty's 16 a second."""

MAX_RESPONSE_BYTES = 32_000_000
"""A page of 100 incidents is about 250 kB; anything near this is not PagerDuty."""

RETRY_STATUS_CODES = (429, 500, 502, 503, 504)
REQUEST_TIMEOUT_SECONDS = 60.0
REQUEST_CONNECT_TIMEOUT_SECONDS = 10.0
REQUEST_MAX_ATTEMPTS = 7
REQUEST_RATE_LIMITED_ATTEMPTS = 20
"""Attempts one request gets while PagerDuty answers 429, counted apart from REQUEST_MAX_ATTEMPTS: a 429 says
"wait", not "failed", and every request in flight is throttled together, so one request can meet several in a
row while the load moves on. With the backoff below, a limit that lasts about half an hour fails the load."""
REQUEST_UNREACHABLE_ATTEMPTS = 3
"""A refused connection or an unknown name is tried this often (waits of 1 and 2 s): a closed port does not
open in a minute, and a user waiting on the run learns it in seconds, not after 2 minutes of backoff."""
REQUEST_BACKOFF_FACTOR = 1.0
REQUEST_MAX_RETRY_DELAY_SECONDS = 120.0
