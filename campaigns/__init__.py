"""Campaigns and engagement: campaigns and their rules, enrolment, QR check-in, badges,
leaderboards and share cards. Listens to points' signals; writes its own ledger entries.
"""
