"""Small helpers shared by the whole package: atomic output, configuration files, the cache."""
