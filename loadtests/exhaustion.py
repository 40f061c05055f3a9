"""The cheap-exhaustion attacks of issue 20, measured: CPU seconds and peak memory of the
web workers, and /healthz latency while they run.

(a) six unauthenticated 10 MB JSON arrays sent at once to POST /api/v1/auth/otp;
(b) ten 116 KB PNGs declaring 36 million pixels uploaded at once as evidence photos;
(c) ten 54 KB PNGs declaring 16 million pixels (the most a PNG may declare now) likewise.

Each scenario gets a fresh SQLite database under a temporary instance directory and a
gunicorn of its own on 127.0.0.1, started from `--app-dir` (this tree by default; another
checkout gives the "before" figures, read-only: nothing is written into it), with that
tree's gunicorn.conf.py if it has one and `--workers` processes. Workers' CPU and peak
resident memory come from /proc (Linux). Bounded in time: every request has a timeout,
the whole run `--deadline`.

    .venv/bin/python -m loadtests.exhaustion [--app-dir DIR] [--workers 2] [--json out.json]
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import io
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from loadtests import bodies
from loadtests.server import free_port

ROOT = Path(__file__).resolve().parent.parent
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
TEN_MB = 10_000_000  # under the old 10 MiB MAX_CONTENT_LENGTH: read and parsed before
PROBE_INTERVAL = 0.05
REQUEST_TIMEOUT = 120


# The server


def _cli(app_dir: Path, env: dict, *args: str) -> None:
    subprocess.run(  # noqa: S603 - the project's own executables
        [sys.executable, "-m", "flask", "--app", "wsgi", *args],
        cwd=app_dir,
        env=env,
        check=True,
        capture_output=True,
    )


@contextlib.contextmanager
def server(app_dir: Path, workers: int, deadline: float) -> Iterator[tuple[str, int]]:
    """gunicorn serving `app_dir` on a fresh database: (base URL, master pid)."""
    with tempfile.TemporaryDirectory(prefix="zq-exhaustion-") as instance:
        env = {
            **os.environ,
            "APP_ENV": "development",
            "INSTANCE_PATH": instance,
            "DATABASE_URL": f"sqlite:///{instance}/zq.db",
            "PYTHONPATH": str(app_dir),  # that tree's code, not an installed copy
            "PYTHONDONTWRITEBYTECODE": "1",  # nothing written into the tree served
        }
        _cli(app_dir, env, "db", "upgrade")
        _cli(app_dir, env, "refdata", "load")
        base = f"127.0.0.1:{free_port()}"
        log = open(Path(instance) / "gunicorn.log", "wb")  # noqa: SIM115 - closed below
        process = subprocess.Popen(  # noqa: S603 - the project's own executables
            [
                sys.executable,
                "-m",
                "gunicorn",
                "--workers",
                str(workers),
                "--bind",
                base,
                "wsgi:app",
            ],
            cwd=app_dir,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            while _workers(process.pid) == [] or _get(base, "/healthz")[0] != 200:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise RuntimeError((Path(instance) / "gunicorn.log").read_text())
                time.sleep(0.2)
            # Every worker has booted (each imports the app once): a warm-up request each.
            for _ in range(workers * 2):
                _get(base, "/healthz")
            yield base, process.pid
        finally:
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
            log.close()


def _workers(master: int) -> list[int]:
    with contextlib.suppress(OSError):
        children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
        return [int(pid) for pid in children]
    return []


def _usage(pid: int) -> dict:
    """CPU seconds so far, resident and peak resident memory (MB) of one process."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    cpu = (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime + stime
    status = dict(
        line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines()
    )
    megabytes = {name: int(status[name].split()[0]) / 1024 for name in ("VmRSS", "VmHWM")}
    return {"cpu_s": cpu, "rss_mb": megabytes["VmRSS"], "peak_rss_mb": megabytes["VmHWM"]}


# Requests (stdlib only: a connection per request, as an attacker's script would)


def _request(base: str, method: str, path: str, body: bytes = b"", headers=None):
    """(status or the error's name, parsed JSON body or None)."""
    connection = http.client.HTTPConnection(base, timeout=REQUEST_TIMEOUT)
    try:
        # A server that refuses a body from its headers answers and closes before it is
        # all sent: its answer is read all the same.
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            connection.request(method, path, body=body or None, headers=headers or {})
        response = connection.getresponse()
        raw = response.read()
        with contextlib.suppress(ValueError):
            return response.status, json.loads(raw)
        return response.status, None
    except (OSError, http.client.HTTPException) as exc:
        return type(exc).__name__, None
    finally:
        connection.close()


def _get(base: str, path: str):
    return _request(base, "GET", path)


def _post_json(base: str, path: str, body: bytes, headers=None):
    return _request(
        base, "POST", path, body, {"Content-Type": "application/json", **(headers or {})}
    )


def _sign_in(base: str) -> dict:
    phone = "13912345678"
    _status, sent = _post_json(base, "/api/v1/auth/otp", json.dumps({"phone": phone}).encode())
    login = {"phone": phone, "code": sent["dev_code"], "privacy_version": bodies.privacy_version()}
    _status, tokens = _post_json(base, "/api/v1/auth/login", json.dumps(login).encode())
    return {"Authorization": f"Bearer {tokens['access_token']}"}


def _multipart(data: bytes, filename: str, content_type: str) -> tuple[bytes, str]:
    boundary = "zq-exhaustion-boundary"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"'
        f"\r\nContent-Type: {content_type}\r\n\r\n"
    ).encode()
    tail = f"\r\n--{boundary}--\r\n".encode()
    return head + data + tail, f"multipart/form-data; boundary={boundary}"


# The attacks


def ten_mb_array() -> bytes:
    count = (TEN_MB - 2) // 2
    return b"[" + b"0," * (count - 1) + b"0]"


def flat_png(width: int, height: int) -> bytes:
    from PIL import Image  # only the photo scenarios need it

    out = io.BytesIO()
    Image.new("RGB", (width, height), (120, 180, 90)).save(out, "PNG", optimize=True)
    return out.getvalue()


def attack_big_json(base: str, body: bytes) -> list:
    with ThreadPoolExecutor(6) as pool:
        calls = [pool.submit(_post_json, base, "/api/v1/auth/otp", body) for _ in range(6)]
        return [call.result()[0] for call in calls]


def signed_in_upload(width: int, height: int) -> Callable[[str], tuple[bytes, dict]]:
    def prepare(base: str) -> tuple[bytes, dict]:
        body, content_type = _multipart(flat_png(width, height), "meal.png", "image/png")
        return body, {**_sign_in(base), "Content-Type": content_type}

    return prepare


def attack_photos(base: str, prepared: tuple[bytes, dict]) -> list:
    body, headers = prepared
    with ThreadPoolExecutor(10) as pool:
        calls = [
            pool.submit(_request, base, "POST", "/api/v1/photos", body, headers) for _ in range(10)
        ]
        return [
            (status, (answer or {}).get("error", {}).get("code"))
            for status, answer in (call.result() for call in calls)
        ]


# Each: what it is, what it needs made first (not measured), the attack (measured).
SCENARIOS: dict[str, tuple[str, Callable[[str], object], Callable[[str, object], list]]] = {
    "a": (
        "six 10 MB JSON arrays to POST /api/v1/auth/otp",
        lambda base: ten_mb_array(),
        attack_big_json,
    ),
    "b": (
        "ten PNGs declaring 36 MP uploaded as photos",
        signed_in_upload(6000, 6000),
        attack_photos,
    ),
    # The most a PNG may now declare (PHOTO_MAX_FULL_DECODE_PIXELS): decoded, in slots.
    "c": (
        "ten PNGs declaring 16 MP uploaded as photos",
        signed_in_upload(4000, 4000),
        attack_photos,
    ),
}


# Measuring


class HealthProbe:
    """GET /healthz every 50 ms on a thread of its own; the latencies while it runs."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.latencies: list[float] = []
        self.failures = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            started = time.perf_counter()
            status, _ = _get(self.base, "/healthz")
            if status == 200:
                self.latencies.append(time.perf_counter() - started)
            else:
                self.failures += 1
            self._stop.wait(PROBE_INTERVAL)

    def __enter__(self) -> HealthProbe:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(timeout=REQUEST_TIMEOUT)

    def summary(self) -> dict:
        if not self.latencies:
            return {"probes": 0, "failures": self.failures}
        ordered = sorted(self.latencies)
        return {
            "probes": len(ordered),
            "failures": self.failures,
            "median_ms": round(statistics.median(ordered) * 1000, 1),
            "p95_ms": round(ordered[math.ceil(0.95 * len(ordered)) - 1] * 1000, 1),
            "max_ms": round(ordered[-1] * 1000, 1),
        }


def measure(app_dir: Path, name: str, workers: int, deadline: float) -> dict:
    title, prepare, attack = SCENARIOS[name]
    with server(app_dir, workers, deadline) as (base, master):
        prepared = prepare(base)
        with HealthProbe(base) as idle:
            time.sleep(1)
        pids = _workers(master)
        before = {pid: _usage(pid) for pid in pids}
        started = time.perf_counter()
        with HealthProbe(base) as during:
            answers = attack(base, prepared)
        wall = time.perf_counter() - started
        after = {pid: _usage(pid) for pid in pids if Path(f"/proc/{pid}").exists()}
    per_worker = [
        {
            "cpu_s": round(after[pid]["cpu_s"] - before[pid]["cpu_s"], 2),
            "rss_before_mb": round(before[pid]["rss_mb"]),
            "peak_rss_mb": round(after[pid]["peak_rss_mb"]),
        }
        for pid in after
    ]
    return {
        "scenario": f"({name}) {title}",
        "answers": answers,
        "wall_s": round(wall, 2),
        "workers_cpu_s": round(sum(w["cpu_s"] for w in per_worker), 2),
        "workers": per_worker,
        "workers_replaced": len(pids) - len(after),
        "healthz_idle": idle.summary(),
        "healthz_during": during.summary(),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--app-dir", type=Path, default=ROOT, help="the tree to serve")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--scenarios", default="abc", help="which of a, b, c")
    parser.add_argument("--deadline", type=float, default=600, help="seconds for the run")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)
    deadline = time.monotonic() + args.deadline
    results = {"app_dir": str(args.app_dir.resolve()), "workers": args.workers, "runs": []}
    for name in args.scenarios:
        run = measure(args.app_dir.resolve(), name, args.workers, deadline)
        results["runs"].append(run)
        print(json.dumps(run, ensure_ascii=False), flush=True)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
