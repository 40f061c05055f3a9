"""The methodology: versioned emission factors, caps, plausibility bounds and review rules.

Loaded from the packaged factors.json; a published version is never edited, only
superseded, and every action keeps the factor it was computed with.
"""
