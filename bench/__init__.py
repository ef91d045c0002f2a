"""ml-intern's benchmark suite: `uv run python -m bench` (full, writes bench/README.md) or `--quick` (CI gates)."""
