"""Carbon accounting: methodology, actions, evidence photos, partner feeds, the ledger.

Hands approved actions to the appliers packages above it register (points.signals) and
knows nothing of campaigns.
"""
