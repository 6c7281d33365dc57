# syntax=docker/dockerfile:1
# Production image: one image for the web server (uvicorn, ASGI), the Celery worker and Celery beat.

# --- front-end libraries from npm (package-lock.json), copied into static/vendor/ -----------------
FROM node:20-bookworm-slim AS static
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --loglevel=error
COPY scripts/ scripts/
RUN npm run build

# --- the application ---------------------------------------------------------------------------
FROM python:3.11-slim AS app

ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    UV_PROJECT_ENVIRONMENT=/opt/venv \
    UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    PATH=/opt/venv/bin:$PATH \
    DJANGO_SETTINGS_MODULE=groupbuy.settings.production \
    GROUPBUY_DATA_DIR=/data

# PostgreSQL's major version in docker-compose.yml: manage.py backup/restore need its pg_dump/pg_restore.
ARG PG_MAJOR=16

# A CJK font for share posters (POSTER_FONT_PATH's default lives in this package); nginx with the RTMP module
# and ffmpeg for the live media (the media-server service runs nginx; the worker remuxes recordings); the
# PostgreSQL client of the server's major version from apt.postgresql.org (postgresql-common's script, with the
# repository key it ships) for backups.
RUN apt-get update \
    && apt-get install -y --no-install-recommends fonts-noto-cjk nginx libnginx-mod-rtmp ffmpeg \
        ca-certificates postgresql-common \
    && /usr/share/postgresql-common/pgdg/apt.postgresql.org.sh -y \
    && apt-get install -y --no-install-recommends postgresql-client-${PG_MAJOR} \
    && rm -rf /var/lib/apt/lists/* \
    && pip install --no-cache-dir uv \
    && useradd --system --create-home --home-dir /home/groupbuy groupbuy \
    && mkdir -p /data && chown groupbuy:groupbuy /data

WORKDIR /app
# Dependencies first, so a code change does not reinstall them.
COPY pyproject.toml uv.lock ./
RUN uv sync --frozen --no-dev --no-install-project

COPY . .
COPY --from=static /src/static/vendor/ static/vendor/
# Build-time only: production settings refuse to load without a key, and these steps need no secret.
RUN SECRET_KEY=build-only-not-secret SMS_CONSOLE_ALLOWED=true GROUPBUY_DATA_DIR=/tmp/build python manage.py compiletranslations \
    && SECRET_KEY=build-only-not-secret SMS_CONSOLE_ALLOWED=true GROUPBUY_DATA_DIR=/tmp/build python manage.py collectstatic --noinput \
    && rm -rf /tmp/build

USER groupbuy
VOLUME ["/data"]
EXPOSE 8000 1935 8088
# WEB_CONCURRENCY sets uvicorn's worker count. X-Forwarded-For is judged by Django (TRUSTED_PROXIES), not
# trusted from anyone who sends it. --lifespan on: a stop (SIGTERM) finishes the joins' queued after-join work.
# --ws-per-message-deflate false: real-time messages are small; deflating each once per socket cost the
# fan-out to 1,000 watchers more CPU than it saved (README, Benchmarks).
CMD ["uvicorn", "groupbuy.asgi:application", "--host", "0.0.0.0", "--port", "8000", "--no-proxy-headers", "--lifespan", "on", "--ws-per-message-deflate", "false"]
