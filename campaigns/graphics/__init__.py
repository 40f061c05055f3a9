"""The campaigns' images: the printable QR posters (a check-in point's, an organisation's)
and the residents' share card.

Pure functions from values to PNG bytes, drawn with the CJK font shipped in fonts/; nothing
is fetched at run time and the same input always gives the same bytes.
"""

from campaigns.graphics.poster import render_checkin_poster, render_organization_poster
from campaigns.graphics.share_card import render_share_card

__all__ = ["render_checkin_poster", "render_organization_poster", "render_share_card"]
