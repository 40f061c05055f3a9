"""gunicorn's settings for the web process (the Procfile's `web`, production, the load
tests); gunicorn reads this file from the working directory, command-line flags win.

Each value is chosen for this app: requests are short, mostly database round trips and a
little CPU (JSON, ledger rules); a few cost more CPU (a photo upload's decode, a partner
batch of 500 events, an export), and those must never hold up the rest, health checks
included (issue 20 measured /healthz stalled 1.35 s behind big bodies on sync workers).
"""

import os

# Threads, not one request per process (sync) and not greenlets (gevent would need
# psycopg and SQLAlchemy's pool patched): while a thread waits on PostgreSQL or decodes a
# photo (Pillow lets go of the GIL while it decodes and resamples), the process's other
# threads answer. Expensive work is bounded inside the app (PHOTO_DECODE_CONCURRENCY
# photos per process, JSON bodies per route), so most threads stay free for quick requests.
worker_class = "gthread"

# One process per core: requests are CPU-bound Python between their waits, so more
# processes than cores only add context switches; threads cover the waits. 2 x 8 was the
# measured fit on 2 cores (docs/LOADTESTS.md). Each thread may hold a database connection:
# keep workers x threads within the database's connections (SQLAlchemy's pool: 5 + 10).
# WEB_CONCURRENCY (gunicorn's and the platforms' convention) sets it per host.
workers = int(os.environ.get("WEB_CONCURRENCY") or max(2, os.cpu_count() or 1))
threads = 8

# A worker that has not reported for 30 s (its main loop is stuck, not one slow request:
# gthread reports between requests) is killed and replaced. The longest legitimate request,
# a partner batch of 500 events, takes a few seconds; IDEMPOTENCY_CLAIM_TIMEOUT_SECONDS
# (60) stays above it.
timeout = 30
# On SIGTERM or a HUP reload, requests under way get this long to finish (a batch, an
# export). The supervisor must wait longer before SIGKILL (Kubernetes:
# terminationGracePeriodSeconds of 35 or more; systemd: TimeoutStopSec).
graceful_timeout = 30
# Idle keep-alive connections are closed after 75 s: longer than the proxy in front keeps
# an idle upstream connection (nginx 60 s) and than clients pause, so the proxy, never
# gunicorn, closes it; a close racing the client's next request loses that request
# (measured in the load tests, docs/LOADTESTS.md). gthread holds idle connections without
# a thread, up to worker_connections (1000) per process.
keepalive = 75

# Each process is replaced after about 10,000 requests (spread by up to 1,000 so they do
# not restart together): a safety net against memory that Python's allocator keeps after
# a peak (issue 20: a worker grew from 120 to 440 MB after large bodies, and stayed there).
max_requests = 10_000
max_requests_jitter = 1_000

# Request heads bounded before the app sees them (400 above): the longest URL is a
# statistics query with a cursor, far under 4 KB; clients send about 15 headers (a proxy
# adds its X-Forwarded-*); the largest header is a bearer token or the console's cookie.
limit_request_line = 4094
limit_request_fields = 50
limit_request_field_size = 8190

# Each worker imports and builds the app itself (no preload): no database pool, limiter
# connection or thread state is created before the fork and shared by accident, and a
# HUP reload picks up new code. Boot costs a second per worker, once.
preload_app = False

# The heartbeat file on tmpfs: a worker blocked writing it to a slow disk would be
# killed as stuck. (gunicorn creates it with mkstemp, private to its user.)
SHARED_MEMORY = "/dev/shm"  # noqa: S108
if os.path.isdir(SHARED_MEMORY):
    worker_tmp_dir = SHARED_MEMORY


def child_exit(server, worker):
    """Prometheus in multi-process mode (PROMETHEUS_MULTIPROC_DIR set): a dead worker's
    live gauges leave the totals."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
