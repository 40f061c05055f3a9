"""Organisations residents belong to: households, schools, communities, employers, agencies."""
