"""The points ledger: append-only entries, each naming its cause, and account balances.

A balance always equals the sum of its entries and never goes negative; a cause is paid
at most once because (kind, ref) is a unique key, not because code checked first.
"""
