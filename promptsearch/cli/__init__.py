"""The `promptsearch` command: a thin shell over the library (main builds the parser; search,
results and app each add their group of commands)."""
