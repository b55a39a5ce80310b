"""Benchmarks of crisis-cell: `make bench` runs them all and writes `bench/results.md`."""
