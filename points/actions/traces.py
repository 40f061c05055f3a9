"""A trip's GPS trace checked: time order, inside the trip's times, sampling gaps, sustained
speed per mode, an end inside the city's area; its length is the trip's distance.

Pure functions of the points and the methodology's thresholds (`trace`, `city_area`): no
database, no clock. GPS jitter is allowed for: the trace is median-smoothed before speeds
and length are taken, speed is judged over windows of some tens of seconds with the
jitter's metres given away, and the length counts only steps longer than that jitter.

A refusal names its reason in its error code:
`trace_too_short` (too few points, or it hardly moves), `trace_too_long` (too many
points), `trace_out_of_order` (timestamps not strictly increasing), `trace_outside_trip`
(it starts or ends outside the trip's times, or does not cover them), `trace_gap` (a gap
between points longer than allowed), `out_of_area` (neither end inside the city's area),
`too_fast` (a sustained speed above the mode's bound).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from statistics import median

from flask_babel import lazy_gettext as _l

from backend import geo
from backend.errors import ValidationFailed

SMOOTHING_POINTS = 5  # a median of 5 removes one or two lone jumps in a row

Point = Sequence[float]  # (lon, lat, unix seconds)


class TraceRefused(ValidationFailed):
    """A trace that fails a check; `code` names which."""

    def __init__(self, code: str, message) -> None:
        super().__init__(message, code=code, fields={"trace": [message]})


@dataclass(frozen=True)
class TraceFigures:
    """What is kept of a checked trace once its points are erased."""

    points: int
    duration_s: int
    distance_m: int
    max_sustained_kmh: float
    start_in_area: bool
    end_in_area: bool

    def as_details(self) -> dict:
        return {
            "points": self.points,
            "duration_s": self.duration_s,
            "distance_m": self.distance_m,
            "max_sustained_kmh": self.max_sustained_kmh,
            "start_in_area": self.start_in_area,
            "end_in_area": self.end_in_area,
        }


def haversine_m(a: Point, b: Point) -> float:
    """Great-circle distance in metres between two (lon, lat, ...) points."""
    return geo.distance_m(a[1], a[0], b[1], b[0])


def inside(polygon: Sequence[Sequence[float]], lon: float, lat: float) -> bool:
    """Whether (lon, lat) lies inside the polygon of (lon, lat) vertices (ray casting)."""
    found = False
    count = len(polygon)
    for index in range(count):
        x1, y1 = polygon[index][0], polygon[index][1]
        x2, y2 = polygon[(index + 1) % count][0], polygon[(index + 1) % count][1]
        if (y1 > lat) != (y2 > lat):
            crossing = x1 + (lat - y1) * (x2 - x1) / (y2 - y1)
            if lon < crossing:
                found = not found
    return found


def smoothed(points: Sequence[Point]) -> list[tuple[float, float, float]]:
    """Each point's position replaced by the median of its neighbours' (times unchanged)."""
    half = SMOOTHING_POINTS // 2
    out = []
    for index, point in enumerate(points):
        # Symmetric, narrower at the ends: a straight even path is left where it is.
        reach = min(half, index, len(points) - 1 - index)
        around = points[index - reach : index + reach + 1]
        out.append((median(p[0] for p in around), median(p[1] for p in around), point[2]))
    return out


def length_m(points: Sequence[Point], min_step_m: float) -> float:
    """The path's length, counting only steps of at least `min_step_m` from the last
    counted point (then the last stretch to the end): standing still with a jittery fix
    adds nothing."""
    if not points:
        return 0.0
    total = 0.0
    anchor = points[0]
    for point in points[1:]:
        step = haversine_m(anchor, point)
        if step >= min_step_m:
            total += step
            anchor = point
    return total + haversine_m(anchor, points[-1])


def max_sustained_kmh(points: Sequence[Point], window_s: float, jitter_m: float) -> float:
    """The highest speed held over any window of at least `window_s` seconds: the
    straight distance across the window, less `jitter_m`, over its duration."""
    fastest = 0.0
    end = 0
    for start, first in enumerate(points):
        end = max(end, start + 1)
        while end < len(points) and points[end][2] - first[2] < window_s:
            end += 1
        if end == len(points):
            break
        seconds = points[end][2] - first[2]
        metres = max(0.0, haversine_m(first, points[end]) - jitter_m)
        fastest = max(fastest, metres / seconds * 3.6)
    if fastest == 0.0 and len(points) > 1 and points[-1][2] > points[0][2]:
        # Shorter than one window: the whole trace is the window.
        seconds = points[-1][2] - points[0][2]
        metres = max(0.0, haversine_m(points[0], points[-1]) - jitter_m)
        fastest = metres / seconds * 3.6
    return fastest


def check_trace(
    points: Sequence[Point],
    *,
    started_at: float,
    ended_at: float,
    max_kmh: float,
    rules: dict,
    area: Sequence[Sequence[float]],
) -> TraceFigures:
    """The trace's figures if it passes every check, else `TraceRefused` naming why.

    `started_at` and `ended_at` are the trip's claimed times in unix seconds, `max_kmh`
    the mode's bound, `rules` the methodology's `trace`, `area` its city polygon.
    """
    if len(points) < rules["min_points"]:
        raise TraceRefused(
            "trace_too_short",
            _l("A trace needs at least %(count)s points.", count=rules["min_points"]),
        )
    if len(points) > rules["max_points"]:
        raise TraceRefused(
            "trace_too_long",
            _l("A trace has at most %(count)s points.", count=rules["max_points"]),
        )
    times = [point[2] for point in points]
    if any(later <= earlier for earlier, later in itertools.pairwise(times)):
        raise TraceRefused(
            "trace_out_of_order", _l("The trace's timestamps must increase point by point.")
        )
    tolerance = rules["trip_time_tolerance_seconds"]
    if times[0] < started_at - tolerance or times[-1] > ended_at + tolerance:
        raise TraceRefused(
            "trace_outside_trip", _l("The trace must lie between the trip's start and end.")
        )
    if times[0] > started_at + tolerance or times[-1] < ended_at - tolerance:
        raise TraceRefused(
            "trace_outside_trip", _l("The trace must cover the trip from its start to its end.")
        )
    longest = max(later - earlier for earlier, later in itertools.pairwise(times))
    if longest > rules["max_gap_seconds"]:
        raise TraceRefused(
            "trace_gap",
            _l(
                "The trace has a gap of %(seconds)s s; at most %(max)s s between points.",
                seconds=int(longest),
                max=rules["max_gap_seconds"],
            ),
        )
    path = smoothed(points)
    start_in = inside(area, path[0][0], path[0][1])
    end_in = inside(area, path[-1][0], path[-1][1])
    if not (start_in or end_in):
        raise TraceRefused("out_of_area", _l("The trip must start or end inside the city's area."))
    speed = max_sustained_kmh(path, rules["speed_window_seconds"], rules["jitter_m"])
    if speed > max_kmh:
        raise TraceRefused(
            "too_fast",
            _l(
                "The trace moves at %(speed)s km/h, faster than the %(max)s km/h plausible "
                "for this mode.",
                speed=round(speed),
                max=max_kmh,
            ),
        )
    distance = length_m(path, rules["jitter_m"])
    if distance < rules["min_distance_m"]:
        raise TraceRefused(
            "trace_too_short",
            _l("The trace moves less than %(metres)s m.", metres=rules["min_distance_m"]),
        )
    return TraceFigures(
        points=len(points),
        duration_s=int(times[-1] - times[0]),
        distance_m=int(distance),
        max_sustained_kmh=round(speed, 1),
        start_in_area=start_in,
        end_in_area=end_in,
    )
