"""SVG geometry for the console's two charts, drawn on the server: no chart library, no
JavaScript. Suppressed cells (None) leave gaps rather than pretend to be zero."""

from __future__ import annotations

import math
from dataclasses import dataclass

TYPE_COLOURS = {
    "trip": "#1e7a46",
    "garbage_sorting": "#2f6fb3",
    "clean_plate": "#d98324",
    "ev_charging": "#7b4fa8",
}


@dataclass(frozen=True)
class Series:
    key: str
    colour: str
    points: str  # an SVG polyline "x,y x,y ..." (segments split at gaps)
    segments: list[str]


def trend_lines(timeseries: dict, width: int = 640, height: int = 200, pad: int = 24):
    """One line per action type of a daily time series of CO2e; returns (series, max_value)."""
    items = timeseries["items"]
    values = {
        group["key"]: [
            next((g["co2e_g"] for g in item["groups"] if g["key"] == group["key"]), None)
            for item in items
        ]
        for group in (items[0]["groups"] if items else [])
    }
    peak = max([v for vs in values.values() for v in vs if v is not None] or [1]) or 1
    step = (width - 2 * pad) / max(len(items) - 1, 1)
    series = []
    for key, column in values.items():
        segments, current = [], []
        for index, value in enumerate(column):
            if value is None:
                if current:
                    segments.append(" ".join(current))
                current = []
                continue
            x = pad + index * step
            y = height - pad - (value / peak) * (height - 2 * pad)
            current.append(f"{x:.1f},{y:.1f}")
        if current:
            segments.append(" ".join(current))
        series.append(Series(key, TYPE_COLOURS.get(key, "#555"), " ".join(segments), segments))
    return series, peak


def gauge(share: float | None, target: float, radius: int = 90) -> dict:
    """A half-circle gauge: the arc end for `share` and the tick for `target` (0..1)."""

    def point(fraction: float) -> tuple[float, float]:
        angle = math.pi * (1 - max(0.0, min(1.0, fraction)))
        return 110 + radius * math.cos(angle), 110 - radius * math.sin(angle)

    end = point(share if share is not None else 0)
    tick = point(target)
    return {
        "share": share,
        "target": target,
        "arc_end": f"{end[0]:.1f},{end[1]:.1f}",
        "tick": f"{tick[0]:.1f},{tick[1]:.1f}",
        "radius": radius,
        "met": share is not None and share >= target,
    }
