# Boka application image: the GraphQL API (default CMD), the RQ worker
# (`python worker.py`) and migrations (`python -m boka.migrations`) all run from it.

# ---- builder: resolve the locked dependencies into /app/.venv -------------
FROM python:3.11-slim AS builder

ENV UV_PROJECT_ENVIRONMENT=/app/.venv \
    UV_PYTHON_DOWNLOADS=never \
    UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

RUN pip install uv==0.13.8

WORKDIR /app

# Dependencies first, so this layer is reused until the lock file changes.
# `[tool.uv] package = false`: there is no project wheel to build or install.
COPY pyproject.toml uv.lock ./
RUN uv sync --frozen --no-dev --no-install-project

COPY . .

# ---- runtime: slim image, no build tools, non-root ------------------------
FROM python:3.11-slim AS runtime

ENV PATH="/app/.venv/bin:$PATH" \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1

RUN groupadd --system --gid 10001 boka \
    && useradd --system --uid 10001 --gid boka --home-dir /app --no-create-home \
       --shell /usr/sbin/nologin boka

WORKDIR /app
# Owned by root and only readable by boka: the app cannot rewrite its own code.
COPY --from=builder /app /app

USER boka

EXPOSE 8000

# slim has no curl; urlopen raises (non-zero exit) on connection errors and non-2xx.
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4)"]

# Forwarded headers are read by the app from BOKA_TRUSTED_PROXIES only (boka/web/app.py).
CMD ["uvicorn", "app:app", "--host", "0.0.0.0", "--port", "8000", "--no-proxy-headers", "--no-access-log"]
