"""Campaigns and engagement: campaigns and their rules, enrolment, QR check-in, badges,
leaderboards and share cards. Applies approved actions through points' applier registry;
its bonuses and badges are their own ledger entries.
"""
