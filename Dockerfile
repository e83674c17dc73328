FROM python:3.12-slim

WORKDIR /app
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY subscriptions ./subscriptions
RUN pip install --no-cache-dir . && useradd --create-home --uid 10001 jobbot

ENV JOBBOT_DATA_DIR=/data
RUN mkdir -p /data && chown jobbot /data
VOLUME /data
USER jobbot

CMD ["jobbot", "run"]
