# ml-intern's web app as a Hugging Face Space (sdk: docker, app_port: 7860; the Space card is space/README.md).
# The project is installed from uv.lock exactly (--frozen), without the dev tools, and runs as a non-root user.
FROM python:3.11-slim

# bubblewrap confines the agent's commands where the host allows user namespaces; git for the Hub tools
RUN apt-get update \
    && apt-get install -y --no-install-recommends bubblewrap git ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && pip install --no-cache-dir uv==0.13.9

# Spaces run the container as uid 1000
RUN useradd --create-home --uid 1000 user
USER user
ENV HOME=/home/user \
    PATH=/home/user/app/.venv/bin:$PATH \
    UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    HF_HUB_DISABLE_EXPERIMENTAL_WARNING=1 \
    PYTHONUNBUFFERED=1
WORKDIR /home/user/app

# dependencies first (a layer that survives code changes), then the project itself
COPY --chown=user pyproject.toml uv.lock README.md ./
RUN uv sync --frozen --no-dev --no-install-project
COPY --chown=user . .
RUN uv sync --frozen --no-dev

EXPOSE 7860
# With the Space's OAuth variables (hf_oauth: true) every visitor signs in with Hugging Face; without them
# `serve` refuses 0.0.0.0 (see README: Web app).
CMD ["ml-intern", "serve", "--host", "0.0.0.0", "--port", "7860"]
