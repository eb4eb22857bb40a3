"""Shared constants: status codes, log entry kinds, vocabulary and id codecs.

The bottom of the package's import graph (it imports nothing of the package): every other module names a
status, a log entry kind or a flag through this one, so each concept has exactly one name.
"""

from __future__ import annotations

import calendar

API_BASE = "https://api.pagerduty.com"
SUBDOMAIN = "acme"
WEB_BASE = f"https://{SUBDOMAIN}.pagerduty.com"

# Timestamps are kept as epoch seconds; sort keys store them relative to 2000-01-01 so that a
# (seconds << 32 | slot << 8 | seq) key still fits a signed 64-bit array slot until 2068.
BASE_TS = 946_684_800
SLOT_BITS = 24
SLOT_MASK = (1 << SLOT_BITS) - 1

# resolved_at was added to the incident object in May 2023: older resolved incidents may lack the key.
RESOLVED_AT_INTRODUCED = calendar.timegm((2023, 5, 1, 0, 0, 0))

# incident status codes (the `status` column) and their API names
TRIGGERED, ACKNOWLEDGED, RESOLVED = 0, 1, 2
STATUSES = ("triggered", "acknowledged", "resolved")
URGENCIES = ("high", "low")
NO_USER = 255  # the `user2` column when an incident has a single assignee
# bits of the `flags` column
FLAG_OMIT_RESOLVED_AT = 1  # resolved before May 2023: some such incidents lack the resolved_at key
FLAG_AUTO_RESOLVED = 2  # resolved by the service's auto-resolve timeout, not by a user

# log entry kinds (the `kind` of a history event) and their API types
TRIGGER, ASSIGN, ACKNOWLEDGE, RESOLVE, ESCALATE = 0, 1, 2, 3, 4
PRIORITY_CHANGE, URGENCY_CHANGE, SERVICE_CHANGE, LINK, UNLINK = 5, 6, 7, 8, 9
NOTIFY, UNACKNOWLEDGE, DELEGATE, SNOOZE = 10, 11, 12, 13
LOG_TYPES = (
    "trigger_log_entry",
    "assign_log_entry",
    "acknowledge_log_entry",
    "resolve_log_entry",
    "escalate_log_entry",
    "priority_change_log_entry",
    "urgency_change_log_entry",
    "service_change_log_entry",
    "link_log_entry",
    "unlink_log_entry",
    "notify_log_entry",
    "unacknowledge_log_entry",
    "delegate_log_entry",
    "snooze_log_entry",
)
# Written by real accounts but absent from the published API description (pagerduty-api.md, "Log entries"):
# a priority change (channel.old_priority / new_priority), a move to another service (channel.old_service,
# `service` the new one), and alerts linked into or unlinked from an incident, as a merge does.
UNDOCUMENTED_LOG_TYPES = (
    "priority_change_log_entry",
    "service_change_log_entry",
    "link_log_entry",
    "unlink_log_entry",
)
ASSIGNING = (ASSIGN, ESCALATE, DELEGATE)  # kinds whose event replaces the assignees
MANUAL = "manual"  # the detail of an escalate event made by hand (else the escalation policy's timeout)
NOTIFY_CHANNELS = ("push_notification", "sms", "phone", "email")
"""How a user is notified (a notify_log_entry's channel.type): each notification rule writes one."""
ESCALATION_TIMEOUT = 900
"""Seconds an escalation policy level waits for an acknowledgement before escalating to the next level (each
service's policy: 15 minutes, the web UI's default of 30 halved so that the demo shows escalations)."""
ACK_TIMEOUT = 1800
"""A service's acknowledgement_timeout: an acknowledgement lasts this long, then the incident is triggered
again (an unacknowledge_log_entry)."""
REOPENED = "reopened"  # the detail of a trigger event that reopened a resolved incident


def weighted_table(weights: list[tuple[int, int]]) -> bytes:
    """1000-entry lookup table for weighted choices: table[int(random() * 1000)]."""
    out = bytearray()
    for value, weight in weights:
        out.extend([value] * weight)
    assert len(out) == 1000
    return bytes(out)


PRIORITY_TABLE = weighted_table([(0, 300), (1, 35), (2, 105), (3, 210), (4, 210), (5, 140)])
ALERTS_TABLE = weighted_table([(1, 700), (2, 200), (3, 80), (7, 20)])

SERVICE_NAMES = (
    "Checkout API",
    "Payments Gateway",
    "Search Service",
    "User Auth",
    "Inventory Sync",
    "Notifications",
    "Mobile Backend",
    "Data Pipeline",
    "Billing Worker",
    "Edge Proxy",
)
TEAM_NAMES = ("Platform", "Commerce", "Data & Analytics")
USER_NAMES = (
    "Alice Martin",
    "Bob Nguyen",
    "Chiara Rossi",
    "Dmitri Ivanov",
    "Esther Okafor",
    "François Dubois",
    "Grace Kim",
    "Hiroshi Tanaka",
    "Ingrid Larsen",
    "José Álvarez",
    "Kavya Reddy",
    "Liam O'Brien",
)
# Each user's own time zone (GET /users: `time_zone`), the zone in which their off and sleep hours are judged.
USER_TIME_ZONES = (
    "America/New_York",
    "America/Los_Angeles",
    "Europe/Rome",
    "Europe/Berlin",
    "Africa/Lagos",
    "Europe/Paris",
    "Asia/Seoul",
    "Asia/Tokyo",
    "Europe/Oslo",
    "America/Mexico_City",
    "Asia/Kolkata",
    "Europe/Dublin",
)
PRIORITY_DESCRIPTIONS = (
    None,
    "Critical issue that warrants public notification and liaison with executive teams",
    "Critical system issue actively impacting many customers' ability to use the product",
    "Stability or minor customer-impacting issues that require immediate attention from service owners",
    "Minor issues requiring action, but not affecting customers' ability to use the product",
    "Cosmetic issues or bugs, not affecting customers' ability to use the product",
)
# Change event senders: (name, source, the zone its timestamps are written in, with milliseconds?).
# Senders write their own clock: GitHub Actions sends UTC with Z, a Jenkins in Berlin sends +01:00/+02:00,
# Buildkite agents in New York send -05:00/-04:00 with milliseconds.
INTEGRATIONS = (
    ("GitHub Actions", "github-actions", "UTC", False),
    ("Jenkins", "jenkins", "Europe/Berlin", False),
    ("Buildkite", "buildkite", "America/New_York", True),
)

_TRACE = (
    'Traceback (most recent call last): File "/srv/app/worker.py", line 212, in handle_job '
    'result = processor.run(payload) File "/srv/app/processor.py", line 88, in run '
    "raise UpstreamTimeout(f'upstream {name} timed out after {timeout}s') "
)

# (weight out of 1000, template). Placeholders are filled per incident from its number, on demand.
TITLE_TEMPLATES: tuple[tuple[int, str], ...] = (
    (175, "High CPU on {host}"),
    (150, "{svc}: error rate above 5% for 10 minutes"),
    (120, "Disk usage at {pct}% on {host}"),
    (120, "{svc} latency p99 > {ms}ms"),
    (100, "Health check failed for {svc}"),
    (80, "Database connection pool exhausted ({svc})"),
    (60, "Certificate for {domain} expires in {n} days"),
    (50, "Memory leak suspected in {svc} worker"),
    (25, 'Job "nightly-export-{n}" failed on {host}'),
    (25, "Can't reach upstream 'payments-gateway' from {host}"),
    (20, "Path C:\\Program Files\\Agent\\logs not writable on {host} (regex \\d+ failed)"),
    (20, "🔥 {svc} is on fire 🚒 ({pct}% errors)"),
    (15, "Ошибка базы данных на {host}"),
    (15, "データベース接続エラー ({svc})"),
    (12, "数据库连接超时 — {host}"),
    (8, "Mixed: \"double\", 'single', back\\slash and ✅ emoji on {host}"),
    (5, "{long}"),
)
LONG_TITLE_LEN = 3000
SPECIAL_TEMPLATES = tuple(range(8, len(TITLE_TEMPLATES)))


def title_table() -> bytes:
    """Lookup table of 1000 template indexes: int(random() * 1000) picks a weighted template in O(1)."""
    return weighted_table([(idx, weight) for idx, (weight, _) in enumerate(TITLE_TEMPLATES)])


def render_title(template: int, number: int, service_name: str) -> str:
    """Title text for an incident, derived from its number so it never has to be stored."""
    fmt = TITLE_TEMPLATES[template][1]
    if fmt == "{long}":
        head = f"{service_name}: unhandled exception in worker #{number}: "
        text = head + _TRACE * (LONG_TITLE_LEN // len(_TRACE) + 1)
        return text[:LONG_TITLE_LEN]
    h = number * 2_654_435_761
    return fmt.format(
        svc=service_name,
        host=f"web-{h % 64:02d}.prod.internal",
        pct=90 + h % 10,
        ms=250 * (1 + h % 12),
        n=1 + h % 30,
        domain=f"api{h % 5}.example.com",
    )


ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_ALPHA_INDEX = {ch: i for i, ch in enumerate(ALPHABET)}
_ID_SPACE = 36**6
_ID_MULT = 1_000_003  # prime, so coprime with 36: multiplication is a bijection on the id space
_ID_MULT_INV = pow(_ID_MULT, -1, _ID_SPACE)


def b36(value: int, width: int) -> str:
    """Fixed-width base-36 (0-9A-Z) encoding."""
    out = []
    for _ in range(width):
        value, rem = divmod(value, 36)
        out.append(ALPHABET[rem])
    return "".join(reversed(out))


def incident_id(number: int, salt: int) -> str:
    """7-char id like 'Q1ABC2D' that is a bijection of the incident number, so lookups need no table."""
    return "Q" + b36((number * _ID_MULT + salt) % _ID_SPACE, 6)


def incident_number_from_id(iid: str, salt: int) -> int | None:
    """Inverse of incident_id; None when the text cannot be one of our ids."""
    if len(iid) != 7 or iid[0] != "Q":
        return None
    value = 0
    for ch in iid[1:]:
        digit = _ALPHA_INDEX.get(ch)
        if digit is None:
            return None
        value = value * 36 + digit
    return ((value - salt) * _ID_MULT_INV) % _ID_SPACE


MAX_EVENTS = 1 << 16  # log entries per incident


def log_entry_id(slot: int, seq: int, salt: int) -> str:
    """14-char log entry id (PagerDuty's newer ids are this long), unique per (incident, event)."""
    value = ((slot << 16 | seq) * 1_000_000_007 + salt) % 36**13
    return "R" + b36(value, 13)
