"""The strategies, one module per family; promptsearch.search.registry lists them by name."""
