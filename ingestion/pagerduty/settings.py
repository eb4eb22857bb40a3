"""Constants of PagerDuty's REST API v2 and of how this source uses it.

The limits come from PagerDuty's documentation (see docs/pagerduty-api.md in the shared reference); the
choices below them are ours and are explained where they are made.
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

SMALLEST_WINDOW = timedelta(seconds=1)
"""Timestamps have whole seconds: a window this small holding over 10,000 incidents cannot be split."""

INCREMENTAL_OVERLAP = timedelta(minutes=10)
"""A rerun lists incidents created since the previous run's cut-off minus this, for incidents that reached the
API a little after their created_at. Upserts make the overlap free of duplicates."""

SERVICES_REFRESH = timedelta(hours=24)
"""Services are listed on a scope's first run and then at most this often."""

OPEN_STATUSES = ("triggered", "acknowledged")
RESOLVED = "resolved"

RETRY_STATUS_CODES = (429, 500, 502, 503, 504)
REQUEST_TIMEOUT_SECONDS = 60.0
REQUEST_MAX_ATTEMPTS = 8
REQUEST_BACKOFF_FACTOR = 1.0
REQUEST_MAX_RETRY_DELAY_SECONDS = 120.0

CHANGE_EVENT_RETENTION = timedelta(days=90)
"""PagerDuty keeps change events this long: a loader that runs less often loses deployments for good."""

INCIDENTS_TABLE = "incidents"
CHANGE_EVENTS_TABLE = "change_events"
SERVICES_TABLE = "services"
