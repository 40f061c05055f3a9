"""The big database: generated residents and actions, their access tokens, and the raw
GROUP BY timings the statistics and leaderboard endpoints are compared with."""
