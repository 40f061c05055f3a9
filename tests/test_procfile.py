"""The Procfile `make demo` runs with honcho: both process types, the web one on
gunicorn.conf.py with its metrics folder."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_honcho_reads_the_procfile_with_a_web_and_a_worker():
    done = subprocess.run(
        [Path(sys.executable).parent / "honcho", "check"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "(web, worker)" in done.stderr
    web = next(
        line for line in (ROOT / "Procfile").read_text().splitlines() if line.startswith("web:")
    )
    assert "--config gunicorn.conf.py" in web and "PROMETHEUS_MULTIPROC_DIR" in web
