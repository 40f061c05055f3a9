"""Benchmark tooling: bulk data generation, raw-query timings, and the calibration write."""
