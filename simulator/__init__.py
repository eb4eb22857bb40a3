"""PagerDuty REST API v2 simulator: deterministic synthetic incidents served over real HTTP.

Used by tests, the demo and the benchmark to exercise the loader against the API's real rules
(pagination ceiling, date-range limits, time zones, edits after resolution, merges, late change events,
retention, throttling) without a PagerDuty account.

Modules, each importing only those listed before it:
catalog (constants, kinds, ids) < times (zones) < entities < render (JSON) < store (the Dataset and its
mutations) < query (listing selection) < generate < api (API semantics) < server (HTTP) < __main__.
"""

from .generate import generate
from .server import Faults, SimulatorServer, running
from .store import Dataset

__all__ = ["Dataset", "Faults", "SimulatorServer", "generate", "running"]
