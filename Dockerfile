# jobbot: a small image that runs as a non-root user, keeps its database in /data
# and reports its health at /healthz. Secrets come from `docker run -e`, never from here.

FROM python:3.12-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY subscriptions ./subscriptions
RUN python -m venv /venv && /venv/bin/pip install --no-cache-dir .

FROM python:3.12-slim
RUN useradd --create-home --uid 10001 jobbot && mkdir -p /data && chown jobbot /data
COPY --from=build /venv /venv
ENV PATH="/venv/bin:$PATH" \
    PYTHONUNBUFFERED=1 \
    JOBBOT_DATA_DIR=/data \
    JOBBOT_METRICS_HOST=0.0.0.0 \
    JOBBOT_METRICS_PORT=9464
VOLUME /data
EXPOSE 9464
USER jobbot
WORKDIR /home/jobbot
HEALTHCHECK --interval=60s --timeout=10s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:' + os.environ.get('JOBBOT_METRICS_PORT', '9464') + '/healthz', timeout=5)"]
CMD ["jobbot", "run"]
