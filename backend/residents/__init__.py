"""Residents: their profile and their phone number, kept only as an HMAC and ciphertext."""
