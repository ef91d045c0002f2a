"""Hugging Face Hub, Jobs, papers, docs, datasets viewer, GitHub and web search tools.

Each tool module exposes `tools(settings)`; shared pieces: `auth` (endpoint, token, which hosts may
see it), `errors` (HTTP failures as one clear line), `output` (caps), `web_fetch` (httpx GETs that
check every redirect hop).
"""
