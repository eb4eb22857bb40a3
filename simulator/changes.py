"""Change events (deploys) per service, anchored to the real clock.

PagerDuty keeps only 90 days of change events; generating 120 days lets tests see that a loader cannot
get the older ones (the server hides them, the dataset still has them).
"""

from __future__ import annotations

import random
from typing import TYPE_CHECKING

from .catalog import API_BASE, INTEGRATIONS, WEB_BASE, b36, iso

if TYPE_CHECKING:
    from .data import Dataset

SPAN_DAYS = 120
PER_SERVICE = 150


def generate_change_events(ds: Dataset, rng: random.Random, anchor: int) -> None:
    """Fill ds.change_events (sorted by timestamp) and the parallel ts/service-set lists."""
    ent = ds.entities
    n_svc = len(ent.service_ids)
    start = anchor - SPAN_DAYS * 86_400
    rows = []
    for svc in range(n_svc):
        slug = ent.service_names[svc].lower().replace(" ", "-")
        for build in range(1, PER_SERVICE + 1):
            ts = start + rng.randrange(SPAN_DAYS * 86_400)
            services = [svc]
            if n_svc > 1 and rng.random() < 0.15:
                services.append((svc + 1 + rng.randrange(n_svc - 1)) % n_svc)
            integ = 0 if rng.random() < 0.6 else (1 if rng.random() < 0.6 else 2)
            env = "production" if rng.random() < 0.7 else "staging"
            commit = f"{rng.getrandbits(40):010x}"
            eid = "01" + b36(ts, 8) + b36(rng.getrandbits(64), 16)
            integ_path = f"services/{ent.service_ids[svc]}/integrations/{ent.integration_ids[integ]}"
            rows.append(
                (
                    ts,
                    eid,
                    {
                        "id": eid,
                        "type": "change_event",
                        "timestamp": iso(ts),
                        "summary": f"Deploy {slug} build {build} ({commit[:7]}) to {env}",
                        "source": INTEGRATIONS[integ][1],
                        "services": [ent.service_refs[s] for s in services],
                        "integration": {
                            "id": ent.integration_ids[integ],
                            "type": "inbound_integration_reference",
                            "summary": ent.integration_names[integ],
                            "self": f"{API_BASE}/{integ_path}",
                            "html_url": f"{WEB_BASE}/{integ_path}",
                        },
                        "custom_details": {"environment": env, "build": f"{slug}-{build}", "commit": commit},
                        "links": [],
                    },
                    frozenset(services),
                )
            )
    rows.sort(key=lambda row: (row[0], row[1]))
    ds.change_ts = [row[0] for row in rows]
    ds.change_events = [row[2] for row in rows]
    ds.change_services = [row[3] for row in rows]
