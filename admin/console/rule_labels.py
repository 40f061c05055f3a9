"""Names of the methodology's variants, as the rules editor and the review page show them.

Kept apart from the console-wide labels (admin/console/labels.py) while both are written;
the two are to become one. A variant a newer methodology adds and nobody has named yet is
shown by its code, so a rule for it can still be set.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

# (action type, variant) -> its name; the action type's own name is the console's TYPE_NAMES.
VARIANT_NAMES = {
    ("trip", "walk"): _l("Walking"),
    ("trip", "bike"): _l("Cycling"),
    ("trip", "bus"): _l("Bus"),
    ("trip", "rail"): _l("Rail or metro"),
    ("trip", "car"): _l("Car"),
    ("trip", "taxi"): _l("Taxi"),
    ("trip", "motorbike"): _l("Motorbike"),
    ("garbage_sorting", "recyclable"): _l("Recyclable waste"),
    ("garbage_sorting", "kitchen"): _l("Kitchen waste"),
    ("garbage_sorting", "hazardous"): _l("Hazardous waste"),
    ("garbage_sorting", "other"): _l("Other waste"),
    ("clean_plate", "meal"): _l("Meal"),
    ("ev_charging", "kwh"): _l("Charging (per kWh)"),
}


def variant_name(action_type: str, variant: str):
    return VARIANT_NAMES.get((action_type, variant), variant)
