"""The shape of generated activity: who lives where, what they do, when and how far.

These are assumptions about behaviour for load tests, not accounting: every factor,
bound and cap comes from the methodology in force, and quantities are drawn inside its
plausibility bounds.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

# Shares of an app user's actions (trips dominate; EV charging is a minority's habit).
TYPE_WEIGHTS = {"trip": 78, "garbage_sorting": 13, "clean_plate": 6, "ev_charging": 3}

# Trip modes of app users, central city and elsewhere (app users lean green).
MODE_WEIGHTS_CENTRAL = {
    "walk": 28,
    "bike": 20,
    "bus": 24,
    "rail": 4,
    "car": 15,
    "taxi": 4,
    "motorbike": 5,
}
MODE_WEIGHTS_OUTER = {
    "walk": 24,
    "bike": 14,
    "bus": 18,
    "rail": 2,
    "car": 22,
    "taxi": 4,
    "motorbike": 16,
}
# (median km, spread of the log-normal, typical km/h low and high)
MODE_DISTANCE = {
    "walk": (1.4, 0.6, 3.5, 5.5),
    "bike": (3.2, 0.6, 10.0, 18.0),
    "bus": (5.5, 0.6, 14.0, 26.0),
    "rail": (30.0, 0.8, 50.0, 160.0),
    "car": (9.0, 0.8, 25.0, 60.0),
    "taxi": (6.0, 0.6, 20.0, 45.0),
    "motorbike": (5.0, 0.6, 20.0, 40.0),
}
GARBAGE_WEIGHTS = {"kitchen": 45, "recyclable": 35, "other": 17, "hazardous": 3}
GARBAGE_KG = {
    "kitchen": (0.4, 3.0),
    "recyclable": (0.3, 5.0),
    "other": (0.3, 3.0),
    "hazardous": (0.1, 1.0),
}
EV_KWH = (8.0, 60.0)

# Asia/Shanghai hour-of-day weights: commuting peaks for trips, meals, evening charging.
HOURLY = {
    "trip": [1, 0, 0, 0, 0, 2, 8, 26, 30, 14, 8, 8, 10, 8, 7, 8, 12, 24, 28, 16, 10, 8, 5, 2],
    "garbage_sorting": [0, 0, 0, 0, 0, 1, 6, 14, 12, 6, 4, 3, 3, 2, 2, 2, 3, 5, 9, 14, 12, 6, 2, 1],
    "clean_plate": [0, 0, 0, 0, 0, 0, 2, 5, 4, 1, 1, 6, 20, 12, 2, 1, 1, 5, 18, 14, 4, 1, 0, 0],
    "ev_charging": [3, 2, 2, 1, 1, 1, 1, 2, 3, 3, 3, 4, 6, 5, 4, 3, 3, 4, 6, 9, 10, 9, 7, 5],
}
WEEKEND_FACTOR = 0.9  # a little less commuting on Saturdays and Sundays
ACTIONS_PER_ACTIVE_DAY = 6.7  # 2,000,000 actions by 300,000 active residents a day

NO_DISTRICT_SHARE = 0.03  # residents who never chose a district
CENTRAL_WEIGHT = 3.0  # a central-city district has three times an outer one's residents
NICKNAMES = (
    "绿行者",
    "低碳达人",
    "骑行爱好者",
    "环保小卫士",
    "星湖跑者",
    "鼎湖山人",
    "西江边",
    "七星岩下",
    "端砚乡",
    "公交常客",
    "早起一族",
    "光盘侠",
)
COMMUNITIES = (
    "城东社区",
    "城西社区",
    "星湖社区",
    "江滨社区",
    "黄岗社区",
    "睦岗社区",
    "新桥社区",
    "桂城社区",
    "永安社区",
    "河滨社区",
    "南岸社区",
    "北岭社区",
)


@dataclass(frozen=True)
class Hours:
    """Cumulative hour weights of one action type, for bisect-based sampling."""

    cumulative: list[float]

    @classmethod
    def of(cls, weights: list[int]) -> Hours:
        total, cumulative = 0.0, []
        for weight in weights:
            total += weight
            cumulative.append(total)
        return cls(cumulative)

    def share_before(self, seconds: int) -> float:
        """The share of this type's daily activity before `seconds` past local midnight."""
        hour, within = divmod(seconds, 3600)
        done = self.cumulative[hour - 1] if hour else 0.0
        part = (self.cumulative[hour] - done) * within / 3600
        return (done + part) / self.cumulative[-1]

    def second_of_day(self, rng: random.Random, before: int = 86_400) -> int:
        """A second past local midnight, weighted by hour, earlier than `before`."""
        for _ in range(50):
            hour = rng.choices(range(24), cum_weights=self.cumulative)[0]
            second = hour * 3600 + rng.randrange(3600)
            if second < before:
                return second
        return rng.randrange(max(before, 1))


def lognormal_km(rng: random.Random, median: float, sigma: float) -> float:
    return median * math.exp(rng.gauss(0.0, sigma))


def propensity(rng: random.Random) -> float:
    """How often a resident uses the app: a few do daily, most now and then (heavy tail)."""
    return min(rng.paretovariate(1.3), 50.0)
