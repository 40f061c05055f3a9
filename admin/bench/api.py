"""POST /api/v1/bench/calibrate: registered only when BENCHMARK_ENDPOINTS is on.

No authentication and no rule: the same request machinery (session, transaction,
BEGIN IMMEDIATE on SQLite) around a single INSERT, to compare real writes against.
"""

import marshmallow as ma
from flask.views import MethodView

from admin.bench.calibration import calibrate
from backend.api import Blueprint, Schema

blp = Blueprint(
    "bench",
    __name__,
    url_prefix="/api/v1/bench",
    description="Benchmark configuration only: never registered in production",
)


class CalibrationSchema(Schema):
    id = ma.fields.Integer(dump_only=True)


@blp.route("/calibrate")
class Calibrate(MethodView):
    @blp.response(201, CalibrationSchema)
    def post(self):
        """One INSERT and its commit: the ceiling for one durable write per request"""
        return calibrate()
