"""Synthetic GPS traces of trips in Zhaoqing, as a phone's location updates would send them:
the demo's traced trips, the benchmark's bodies and the false-refusal measurement
(`python -m loadtests.trace_checks`) use the same generator.

A route leaves a district centre on a slowly turning heading at a speed that varies about
the mode's cruise by up to a fifth (buses and cars stop now and then); each fix has a few
metres of GPS jitter and now and then a 50-100 m jump; fixes come every 1-10 s with
occasional dropouts shorter than the methodology's gap limit. Pure Python: no app, no database.
"""

from __future__ import annotations

import itertools
import math
import random
from datetime import datetime

from backend.geo import EARTH_RADIUS_M

# Where trips start: the centres of the central-city districts and two county towns.
ORIGINS = (
    (112.4650, 23.0470),  # 端州区
    (112.5660, 23.1580),  # 鼎湖区
    (112.4570, 23.0250),  # 高要区
    (112.7340, 23.3270),  # 四会市
    (112.1840, 23.9120),  # 怀集县
)
# Cruise speeds in km/h (low, high) per mode: well inside the methodology's max_kmh.
CRUISE_KMH = {
    "walk": (3.5, 5.5),
    "bike": (10.0, 18.0),
    "bus": (18.0, 30.0),
    "rail": (80.0, 160.0),
    "car": (25.0, 50.0),
    "taxi": (20.0, 40.0),
    "motorbike": (20.0, 40.0),
}
STOPPING_MODES = ("bus", "car", "taxi", "motorbike")  # stops and lights


def _moved(lon: float, lat: float, metres: float, bearing: float) -> tuple[float, float]:
    """The point `metres` away on `bearing` (radians from north), flat-earth: fine for a
    step of some metres."""
    north = metres * math.cos(bearing)
    east = metres * math.sin(bearing)
    lat2 = lat + math.degrees(north / EARTH_RADIUS_M)
    lon2 = lon + math.degrees(east / (EARTH_RADIUS_M * math.cos(math.radians(lat))))
    return lon2, lat2


def _fix_times(rng: random.Random, seconds: int, longest_dropout_s: int, dropout: float):
    """Seconds after the start at which the phone has a fix: every 1-10 s, now and then
    none for a while; the first and last within 20 s of the trip's ends."""
    fixes = []
    second = rng.randint(0, min(20, seconds // 10))
    last = seconds - rng.randint(0, min(20, seconds // 10))
    while second < last:
        fixes.append(second)
        step = rng.randint(1, 10)
        if rng.random() < dropout:
            step = rng.randint(30, longest_dropout_s)
        second += step
    fixes.append(last)
    return fixes


def _speeds(rng: random.Random, mode: str, fixes: list[int]) -> list[float]:
    """Relative speed over each interval between fixes: drifting about 1 (0.8-1.2), with
    a stop of 15-45 s about every four minutes of moving for modes that stop."""
    speeds = []
    level = rng.uniform(0.9, 1.1)
    stopped_until = -1
    for begin, end in itertools.pairwise(fixes):
        length = end - begin
        level = min(1.2, max(0.8, level + rng.gauss(0, 0.02 * math.sqrt(length))))
        if begin < stopped_until:
            speeds.append(0.0)
            continue
        if mode in STOPPING_MODES and rng.random() < length / 240:
            stopped_until = end + rng.randint(15, 45)  # from the next fix on
        speeds.append(level)
    return speeds


def synthetic_trace(
    rng: random.Random,
    mode: str,
    started_at: datetime,
    ended_at: datetime,
    km: float,
    *,
    origin: tuple[float, float] | None = None,
    jitter_m: float = 4.0,
    jump_chance: float = 0.01,
    dropout_chance: float = 0.01,
    longest_dropout_s: int = 150,
) -> list[list[float]]:
    """A realistic trace of `km` from `started_at` to `ended_at`: [[lon, lat, unix s], ...]."""
    start = started_at.timestamp()
    seconds = max(2, int(ended_at.timestamp() - start))
    fixes = _fix_times(rng, seconds, longest_dropout_s, dropout_chance)
    speeds = _speeds(rng, mode, fixes)
    moved = [
        speed * (end - begin) for speed, begin, end in zip(speeds, fixes, fixes[1:], strict=False)
    ]
    scale = km * 1000 / (sum(moved) or 1)
    lon, lat = origin or rng.choice(ORIGINS)
    lon, lat = _moved(lon, lat, rng.uniform(0, 3000), rng.uniform(0, 2 * math.pi))
    bearing = rng.uniform(0, 2 * math.pi)
    path = [(lon, lat)]  # the true position at each fix
    for metres, begin, end in zip(moved, fixes, fixes[1:], strict=False):
        bearing += rng.gauss(0, 0.03 * math.sqrt(end - begin))
        lon, lat = _moved(lon, lat, metres * scale, bearing)
        path.append((lon, lat))
    trace = []
    for second, (lon, lat) in zip(fixes, path, strict=True):
        noise = abs(rng.gauss(0, jitter_m))
        if rng.random() < jump_chance:
            noise = rng.uniform(50, 100)
        lon, lat = _moved(lon, lat, noise, rng.uniform(0, 2 * math.pi))
        trace.append([round(lon, 6), round(lat, 6), round(start + second, 1)])
    return trace


def straight_trace(
    started_at: datetime,
    ended_at: datetime,
    km: float,
    *,
    origin: tuple[float, float] = ORIGINS[0],
    every_s: int = 10,
) -> list[list[float]]:
    """A noiseless trace due north at an even speed whose measured length is `km` to the
    metre: tests that compare points with a distance."""
    lon, lat = origin
    start, end = started_at.timestamp(), ended_at.timestamp()
    span = end - start
    degrees = math.degrees((km * 1000 + 0.5) / EARTH_RADIUS_M)  # +0.5 m: floats round down
    moments = [start + offset for offset in range(0, int(span), every_s)] + [end]
    return [[lon, lat + degrees * (t - start) / span, t] for t in moments]
