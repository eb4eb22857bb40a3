"""`connections test`: one cheap authenticated call, and what it found."""

from __future__ import annotations

from ingestion.pagerduty import PagerDutyClient, PagerDutyError, RetryPolicy
from ingestion.pipeline import ConnectionSpec


def check_connection(connection: ConnectionSpec) -> tuple[bool, str]:
    """(ok, one line): the account reachable, the token accepted, how many services it has."""
    client = PagerDutyClient(
        connection.endpoint,
        connection.token,
        connection.label,
        RetryPolicy(max_attempts=2, backoff_factor=0.5, max_delay=5, timeout=15),
        proxy=connection.proxy,
    )
    try:
        client.get("/abilities")
        body = client.get("/services", {"limit": 1, "total": "true"}) or {}
    except PagerDutyError as exc:
        return False, str(exc)
    return True, (
        f"{connection.label}: {connection.endpoint} reachable, token accepted,"
        f" {body.get('total', 0)} services"
    )
