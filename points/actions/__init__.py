"""Residents' low-carbon actions: validation, plausibility, trust, daily caps, review."""
