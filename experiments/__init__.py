"""Command-line experiments, presets, results I/O and figures for the collapse toolkit."""
