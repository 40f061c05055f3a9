"""Rewards and redemption: points buy something real, never oversold, never overdrawn."""
