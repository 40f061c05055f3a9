"""Residents' rights under PIPL: a copy of everything held about them, deletion of their
account, and the retention job. It sits in admin/ because it reads every package."""
