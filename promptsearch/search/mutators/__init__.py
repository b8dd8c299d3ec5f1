"""Operators that make new keys or key components."""
