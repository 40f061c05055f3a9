"""Residents' consents: to the privacy notice in force, and separately to location."""
