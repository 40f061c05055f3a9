"""Leaderboards: residents and districts by CO2e avoided, kept up to date as awards happen."""
