"""ml-intern's benchmark suite: `uv run python -m bench` (full, writes README) or `--quick` (CI gates)."""
