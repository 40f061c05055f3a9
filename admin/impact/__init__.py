"""Campaign impact: what a campaign changed in its participants' green travel and CO2e,
against their own baseline and against comparable non-participants, with 95% intervals.

`panel` reads the residents and their verified daily activity, `estimate` works out the
figures (pure functions over arrays: the database, the benchmark generator and the tests
feed it alike), `service` decides when a campaign is due and keeps each computation with
the data it used, `api` and the console show the latest.
"""
