"""Tools for maintainers, run from the repository root as `python -m tools.<name>`."""
