"""The audit log: every change a staff user makes, who, what, when, before/after, from where."""
