"""Carbon accounting: methodology, actions, evidence photos, partner feeds, the ledger.

Emits `action_approved` (points.signals) and knows nothing of campaigns.
"""
