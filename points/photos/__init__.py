"""Evidence photos: checked by content, stripped of metadata, re-encoded, fingerprinted."""
