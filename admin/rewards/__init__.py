"""The staff JSON API for the reward catalogue, stock and redemption codes."""
