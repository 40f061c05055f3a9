"""Badges and streaks: milestones awarded once per resident, optionally with points."""
