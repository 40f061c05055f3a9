"""DRB statistics: rollups kept as actions are approved, suppression, API keys, exports."""
