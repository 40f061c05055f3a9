"""The staff JSON API for reviewing self-reported evidence (Clean Plate photos, EV sessions)."""
