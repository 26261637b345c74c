"""Benchmarks run side by side with their peers; `python -m bench` (see bench/README.md)."""
