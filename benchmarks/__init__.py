"""Reproducible benchmarks; each writes its tables under results/."""
