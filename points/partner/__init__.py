"""Partner feeds: operators push verified events in signed batches, each counted once."""
