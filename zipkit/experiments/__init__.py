"""Experiments as one command each (``zipkit experiment NAME --config FILE``): a TOML config
names the pool, the methods or compressors, budgets and seeds; the runner caches every
selection in the output folder by its parameters and writes results.json / .md / .csv and
PNG plots there."""
