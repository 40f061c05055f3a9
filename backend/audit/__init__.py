"""The audit log: every change a staff user makes, who, what, when, before/after, from where.

In the shell so that every package's services can record their own changes.
"""
