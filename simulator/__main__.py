"""CLI: `python -m simulator --port 8765 --size 10000` serves a simulated account until SIGTERM/SIGINT.

Prints exactly one line once listening, so scripts can wait for it and read the URL (--port 0 picks a
free port).
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from datetime import datetime

from .generate import generate
from .query import WINDOW_BOUNDS
from .server import SimulatorServer


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m simulator", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--size", type=int, default=10_000)
    parser.add_argument("--services", type=int, default=5)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--burst", type=int, default=0)
    parser.add_argument(
        "--end",
        type=datetime.fromisoformat,
        default=None,
        help="latest created_at, ISO-8601 with a zone (default: now); fixes the data for reproducible runs",
    )
    parser.add_argument("--token", default="sim-token")
    parser.add_argument(
        "--time-zone",
        default="America/Los_Angeles",
        help="the account's time zone (IANA name): times are rendered in it, naive since/until read in it",
    )
    parser.add_argument(
        "--rate-limit-per-minute", type=int, default=0, help="at most N API requests per rolling minute"
    )
    parser.add_argument("--latency", type=float, default=0.0, help="seconds before every API answer")
    parser.add_argument(
        "--window-bounds", choices=WINDOW_BOUNDS, default="[)", help="since/until inclusive or exclusive"
    )
    parser.add_argument("--verbose", action="store_true", help="log every request to stderr")
    parser.add_argument(
        "--responders",
        action="store_true",
        help="write every incident's response as log entries (notifications, escalations, snoozes...)",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    dataset = generate(
        args.seed,
        args.size,
        services=args.services,
        days=args.days,
        burst=args.burst,
        end=args.end,
        responders=args.responders,
    )
    server = SimulatorServer(
        dataset,
        token=args.token,
        host=args.host,
        port=args.port,
        account_time_zone=args.time_zone,
        verbose=args.verbose,
        latency=args.latency,
        rate_limit_per_minute=args.rate_limit_per_minute,
        window_bounds=args.window_bounds,
    )
    url = server.bind()

    def shutdown(signum, frame) -> None:
        # shutdown() waits for serve_forever() to return, so it must not run in the serving thread
        threading.Thread(target=server.stop, daemon=True).start()

    signal.signal(signal.SIGTERM, shutdown)
    signal.signal(signal.SIGINT, shutdown)
    print(f"PagerDuty simulator listening on {url} ({len(dataset)} incidents)", flush=True)
    server.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
