"""The README's picture of the report: `make demo`'s own lake, rendered by headless Chromium.

    make demo && .venv/bin/python -m scripts.report_screenshot      # writes docs/report.png

It writes the demo lake's report (`run.py report`, database pagerduty_demo unless DB_URL names another) to a
temporary file and takes a screenshot of its first screen and a half: what a team lead sees on opening it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from runner.cli import main as run_main

ROOT = Path(__file__).resolve().parent.parent
DEMO_DB_URL = "mysql://root@127.0.0.1:3306/pagerduty_demo"
WINDOW = "1150,1500"


def main() -> int:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        print("headless Chromium is not installed (Debian: apt-get install -y chromium)", file=sys.stderr)
        return 2
    os.environ.setdefault("DB_URL", DEMO_DB_URL)
    out = ROOT / "docs" / "report.png"
    with tempfile.TemporaryDirectory() as tmp:
        page = Path(tmp, "report.html")
        code = run_main(["report", "--out", str(page)])
        if code != 0:
            return code
        subprocess.run(
            [
                chromium,
                "--headless=new",
                "--no-sandbox",
                "--disable-gpu",
                "--hide-scrollbars",
                "--no-first-run",
                "--disable-background-networking",
                f"--window-size={WINDOW}",
                f"--screenshot={out}",
                page.as_uri(),
            ],
            check=True,
            capture_output=True,
            timeout=120,
        )
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
