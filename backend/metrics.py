"""GET /metrics: what operators watch, in Prometheus' text format, for a bearer of METRICS_TOKEN.

Counters and histograms are recorded as requests end and transactions commit; under
gunicorn (PROMETHEUS_MULTIPROC_DIR set) each worker writes them to files in that directory
and a scrape sums every worker's (prometheus_client's multi-process mode). Gauges about the
data (worker backlogs, SMS codes sent today) are read from the database at scrape time.
Labels name routes, methods and codes of this app: never a path, an id or a person.
"""

from __future__ import annotations

import hmac
import json
import logging
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

from flask import Flask, Response, current_app, request
from flask_babel import lazy_gettext as _l
from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.exposition import choose_encoder
from prometheus_client.multiprocess import MultiProcessCollector
from sqlalchemy import event, inspect
from sqlalchemy.exc import SQLAlchemyError

from backend.auth.budget import sms_budget_status
from backend.errors import NotFound, Unauthorized
from backend.extensions import db
from backend.health import backlogs

log = logging.getLogger(__name__)

PREFIX = "zq_"
# Where `flask demo seed` (admin/cli.py) writes the demo's credentials, its metrics token too.
DEMO_CREDENTIALS = "demo-credentials.json"
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

# What this process records. Its values live in memory, or in PROMETHEUS_MULTIPROC_DIR
# when that is set (prometheus_client reads the variable when it is first imported).
_RECORDED = CollectorRegistry(auto_describe=True)
REQUESTS = Counter(
    f"{PREFIX}http_requests",
    "HTTP requests answered, by endpoint (the route's name), method and status class",
    ("endpoint", "method", "status"),
    registry=_RECORDED,
)
LATENCY = Histogram(
    f"{PREFIX}http_request_duration_seconds",
    "Time to answer an HTTP request, by endpoint (the route's name) and method",
    ("endpoint", "method"),
    registry=_RECORDED,
)
RATE_LIMITED = Counter(
    f"{PREFIX}rate_limited_requests",
    "Requests refused with 429, by endpoint and error code (rate_limited, a budget's code)",
    ("endpoint", "code"),
    registry=_RECORDED,
)
_COMMITTED: dict[type, tuple[Counter, tuple[str, ...]]] = {}


# --- what requests and transactions record ------------------------------------------------


def count_committed(model: type, name: str, documentation: str, labels: tuple[str, ...]) -> None:
    """Count new rows of `model` when their transaction commits, by the attributes `labels`
    as committed (a row whose savepoint or transaction rolled back is not counted)."""
    if model not in _COMMITTED:
        counter = Counter(f"{PREFIX}{name}", documentation, labels, registry=_RECORDED)
        _COMMITTED[model] = (counter, labels)


_NEW_ROWS = "metrics_new_rows"


@event.listens_for(db.session, "after_flush")
def _note_new_rows(session, _flush_context) -> None:
    if _COMMITTED:
        new = [row for row in session.new if type(row) in _COMMITTED]
        session.info.setdefault(_NEW_ROWS, []).extend(new)


@event.listens_for(db.session, "after_commit")
def _count_new_rows(session) -> None:
    for row in session.info.pop(_NEW_ROWS, ()):
        if inspect(row).persistent:  # rows of a rolled-back savepoint are transient again
            counter, labels = _COMMITTED[type(row)]
            counter.labels(*(str(getattr(row, label)) for label in labels)).inc()


@event.listens_for(db.session, "after_transaction_end")
def _forget_new_rows(session, transaction) -> None:
    if transaction.parent is None:  # after "after_commit": committed or not, it is over
        session.info.pop(_NEW_ROWS, None)


_LABELS = "zq.metrics_labels"  # the WSGI environ key of a request's labels


def _endpoint() -> str:
    return request.endpoint or "none"  # "none": no route matched (a 404 or 405)


def _after_request(response: Response) -> Response:
    """Label the request for `_Timed`, and count a 429 by its error code."""
    method = request.method if request.method in METHODS else "other"
    status = f"{response.status_code // 100}xx"
    request.environ[_LABELS] = (_endpoint(), method, status)
    if response.status_code == 429:
        body = response.get_json(silent=True)
        error = body.get("error") if isinstance(body, dict) else None
        code = error.get("code") if isinstance(error, dict) else None
        RATE_LIMITED.labels(_endpoint(), code if isinstance(code, str) else "unknown").inc()
    return response


class _Timed:
    """WSGI middleware: the whole request's time, hooks and commit included."""

    def __init__(self, wsgi_app) -> None:
        self.wsgi_app = wsgi_app

    def __call__(self, environ, start_response):
        started = time.perf_counter()
        try:
            return self.wsgi_app(environ, start_response)
        finally:
            labels = environ.get(_LABELS)  # None if Flask never finished a response
            if labels is not None:
                endpoint, method, status = labels
                REQUESTS.labels(endpoint, method, status).inc()
                LATENCY.labels(endpoint, method).observe(time.perf_counter() - started)


# --- what a scrape reads ----------------------------------------------------------------


Reading = float | int | Mapping[str, float | int]


def register_gauge(app: Flask, name: str, documentation: str, read: Callable[[], Reading]) -> None:
    """A gauge read at scrape time: `read()` gives a number (gauge `zq_<name>`) or a
    mapping of numbers (one gauge `zq_<name>_<key>` each). Registering a name again
    replaces the earlier reader."""
    app.extensions.setdefault("metrics_gauges", {})[name] = (documentation, read)


class _ReadNow:
    """The gauges of the current app, read when Prometheus scrapes."""

    def collect(self) -> Iterator:
        try:
            with db.read_only():
                families = list(self._backlogs()) + list(self._registered())
            up = 1
        except SQLAlchemyError:
            log.warning("metrics: the database did not answer; its gauges are left out")
            families, up = [], 0
        yield from families
        yield GaugeMetricFamily(
            f"{PREFIX}database_up", "Whether the scrape could read the database", value=up
        )

    def _backlogs(self) -> Iterator:
        rows = GaugeMetricFamily(
            f"{PREFIX}worker_backlog_rows", "Items waiting for the worker", labels=["queue"]
        )
        age = GaugeMetricFamily(
            f"{PREFIX}worker_backlog_oldest_age_seconds",
            "Seconds the oldest item waiting for the worker has waited",
            labels=["queue"],
        )
        for queue, backlog in backlogs().items():
            rows.add_metric([queue], backlog.rows)
            age.add_metric([queue], backlog.oldest_age_s)
        yield from (rows, age)

    def _registered(self) -> Iterator:
        for name, (documentation, read) in current_app.extensions["metrics_gauges"].items():
            value = read()
            if isinstance(value, Mapping):
                for key, number in value.items():
                    yield GaugeMetricFamily(
                        f"{PREFIX}{name}_{key}", f"{documentation} ({key})", value=number
                    )
            else:
                yield GaugeMetricFamily(f"{PREFIX}{name}", documentation, value=value)


class _Recorded:
    """This process's counters and histograms (without PROMETHEUS_MULTIPROC_DIR)."""

    def collect(self) -> Iterator:
        yield from _RECORDED.collect()


def _registry() -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    folder = current_app.config["PROMETHEUS_MULTIPROC_DIR"]
    if folder:
        MultiProcessCollector(registry, path=folder)  # every worker's files, summed
    else:
        registry.register(_Recorded())
    registry.register(_ReadNow())
    return registry


# --- the endpoint -----------------------------------------------------------------------


def _expected_token() -> str:
    token = current_app.config["METRICS_TOKEN"]
    if token or current_app.config["APP_ENV"] != "development":
        return token
    # `make demo` however started: the token the demo seed generated and wrote down.
    path = Path(current_app.instance_path) / DEMO_CREDENTIALS
    try:
        token = json.loads(path.read_text()).get("metrics_token")
    except (OSError, ValueError, AttributeError):
        return ""
    return token if isinstance(token, str) else ""


def metrics() -> Response:
    expected = _expected_token()
    if not expected:
        raise NotFound()  # no METRICS_TOKEN: there are no metrics to give anyone
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(
        given.strip().encode(), expected.encode()
    ):
        raise Unauthorized(_l("A valid metrics token is required."), code="metrics_token_invalid")
    encode, content_type = choose_encoder(request.headers.get("Accept", ""))
    return Response(encode(_registry()), headers={"Content-Type": content_type})


def init_app(app: Flask) -> None:
    """Route /metrics (outside the OpenAPI document: it is for operators), record every
    request, and read the SMS budget at each scrape."""
    app.add_url_rule("/metrics", "metrics", metrics, methods=["GET"])
    app.after_request(_after_request)
    app.wsgi_app = _Timed(app.wsgi_app)
    register_gauge(
        app,
        "sms",
        "SMS one-time codes today (Asia/Shanghai) and the city's budget",
        sms_budget_status,
    )
