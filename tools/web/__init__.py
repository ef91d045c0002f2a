"""Tools that read the open web: search, fetch, GitHub."""
