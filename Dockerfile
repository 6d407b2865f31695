# Tapestry bot image: locked dependencies, compiled translations, the crisis model trained
# once at build time (data/cache/), `bot run` on start.
FROM python:3.11-slim

ENV UV_PYTHON_DOWNLOADS=never \
    UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    PYTHONUNBUFFERED=1 \
    DATABASE_URL=sqlite+aiosqlite:////data/tapestry.sqlite3

RUN pip install --no-cache-dir uv==0.13.8 \
    && apt-get update && apt-get install -y --no-install-recommends gettext \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /app
# Dependencies first, so code changes do not reinstall them.
COPY pyproject.toml uv.lock README.md ./
RUN uv sync --frozen --no-dev --no-install-project
COPY . .
RUN uv sync --frozen --no-dev \
    && for po in locales/*/LC_MESSAGES/messages.po; do \
         msgfmt --check -o "${po%.po}.mo" "$po"; \
       done \
    && .venv/bin/python -c "from bot.config import Settings; from bot.core import \
build_crisis_detector; build_crisis_detector(Settings())" \
    && useradd --system --home /app tapestry && mkdir -p /data && chown tapestry /data

USER tapestry
VOLUME /data
ENV PATH=/app/.venv/bin:$PATH
CMD ["bot", "run"]
