"""Connection tests (`run.py connections test`, the API's test routes): one cheap authenticated call.

The answer says only whether PagerDuty accepted the token and how many services the account has: nothing of
what the endpoint sent back (its error messages, status codes, whether it answered at all), so a test cannot
be used to read other hosts. The detail goes to the server's log only. Each request has a short timeout and
is tried once.
"""

from __future__ import annotations

from typing import NamedTuple, Optional

from ingestion.pagerduty import AuthenticationError, PagerDutyClient, PagerDutyError, RetryPolicy
from ingestion.pagerduty.endpoints import EndpointPolicy, EndpointRefused
from ingestion.scope_load import ConnectionSpec

from .files import endpoint_policy

REQUEST_TIMEOUT_SECONDS = 5.0
"""Per request (connect, and each read); a test makes two."""


class CheckResult(NamedTuple):
    ok: bool
    message: str
    detail: str = ""  # for the operator's log, never for the caller


def check_connection(connection: ConnectionSpec, policy: Optional[EndpointPolicy] = None) -> CheckResult:
    """Whether PagerDuty accepts the connection's token, and how many services it sees."""
    label = connection.label
    policy = policy or endpoint_policy()
    try:
        policy.check_endpoint(connection.endpoint)
        if connection.proxy:
            policy.check_proxy(connection.proxy)
    except EndpointRefused as exc:
        return CheckResult(False, f"{label}: {exc}", str(exc))
    client = PagerDutyClient(
        connection.endpoint,
        connection.token,
        label,
        RetryPolicy(max_attempts=1, backoff_factor=0, max_delay=0, timeout=REQUEST_TIMEOUT_SECONDS),
        proxy=connection.proxy,
    )
    unchecked = f"{label}: the token could not be checked: no valid PagerDuty answer from the endpoint"
    try:
        client.get("/abilities")
        body = client.get("/services", {"limit": 1, "total": "true"}) or {}
    except AuthenticationError as exc:
        return CheckResult(False, f"{label}: PagerDuty refused the token", str(exc))
    except PagerDutyError as exc:
        return CheckResult(False, unchecked, str(exc))
    except Exception as exc:  # noqa: BLE001 - whatever the endpoint did, the caller learns only this
        return CheckResult(False, unchecked, f"{type(exc).__name__}: {exc}")
    total = body.get("total")
    if isinstance(total, bool) or not isinstance(total, int) or total < 0:
        return CheckResult(False, unchecked, "/services answered without a count of services")
    return CheckResult(True, f"{label}: token accepted, {total} services")
