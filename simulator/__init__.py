"""PagerDuty REST API v2 simulator: deterministic synthetic incidents served over real HTTP.

Used by tests, the demo and the benchmark to exercise the loader against the API's real rules
(pagination ceiling, date-range limits, time zones, retention, throttling) without a PagerDuty account.
"""

from .data import Dataset, generate
from .server import Faults, SimulatorServer, running

__all__ = ["Dataset", "Faults", "SimulatorServer", "generate", "running"]
