"""The web app served by `ml-intern serve`: a chat page and a small JSON + SSE API over the session runtime."""
