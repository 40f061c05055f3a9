"""The staff JSON API for campaigns and their check-in points."""
