# Picasso in a container: Python 3.11 slim, installed with PostgreSQL support, run by a user
# without privileges, with /healthz as its health check.
#
#   docker build -t picasso .
#   docker run -d --name picasso --env-file .env -v picasso-data:/data --stop-timeout 100 picasso
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore

# The package and its metadata only (.dockerignore keeps out .env, tests, benches, venvs).
WORKDIR /app
COPY pyproject.toml README.md LICENSE ./
COPY bot ./bot
COPY cogs ./cogs
RUN pip install ".[postgres]"
# What a user's install needs is in the package (migrations, catalogs, the charts' font):
# the build fails here, not in production, if any is missing.
RUN cd /tmp && picasso --version \
    && DATABASE_URL=sqlite:////tmp/smoke.db python -m bot migrate \
    && DISCORD_TOKEN=smoke OPENAI_API_KEY=smoke DATABASE_URL=sqlite:////tmp/smoke.db \
       python -m bot check --offline \
    && rm /tmp/smoke.db

# SQLite lives in /data unless DATABASE_URL points at PostgreSQL: mount a volume there for
# SQLite (docker run -v picasso-data:/data). No VOLUME is declared, so the scaled-out
# processes of compose.yaml, which keep nothing on disk, get no anonymous volume each.
RUN useradd --system --uid 10001 --user-group --no-create-home --home-dir /data picasso \
    && mkdir /data && chown picasso:picasso /data
WORKDIR /data
USER picasso

ENV DATABASE_URL=sqlite:////data/picasso.db \
    HEALTH_HOST=0.0.0.0 \
    HEALTH_PORT=8080
EXPOSE 8080

# 200 once the gateway is connected and the database answers; 503 (or no answer) fails.
# The start period covers the first start's migration and the gateway's connection.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD python -c "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ['HEALTH_PORT'], timeout=4)" || exit 1

# SIGTERM (docker stop) lets pictures being painted finish for SHUTDOWN_GRACE (90 s) seconds:
# give the container longer than that to stop (--stop-timeout 100).
CMD ["python", "-m", "bot"]
