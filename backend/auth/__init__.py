"""Residents' sign-in: SMS one-time codes, WeChat mini-program login, access/refresh tokens."""
