# floorwatch gateway image (compose.yaml service "floorwatch", and the demo simulator).
# docker build -t floorwatch:0.1.0 .
# Two stages: the first installs requirements/runtime.lock (every package pinned
# with its sha256: the same versions on every build) and then floorwatch itself
# into a virtualenv, the second copies that virtualenv and the source; no pip
# cache ends up in the image. Runs as an unprivileged user.

FROM python:3.11.11-slim-bookworm@sha256:081075da77b2b55c23c088251026fb69a7b2bf92471e491ff5fd75c192fd38e5 AS build
# URLLIB3_NO_OVERRIDE with urllib3-future built from source: it installs beside the
# real urllib3 instead of replacing it under influxdb-client (script/bootstrap).
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 URLLIB3_NO_OVERRIDE=1
RUN python -m venv /opt/floorwatch
WORKDIR /src
COPY requirements/runtime.lock requirements/runtime.lock
RUN /opt/floorwatch/bin/pip install --require-hashes --no-binary urllib3-future \
    -r requirements/runtime.lock
COPY pyproject.toml README.md floorwatch_main.py ./
COPY api api
COPY cameras cameras
COPY dashboards dashboards
COPY gateway gateway
COPY sensors sensors
RUN /opt/floorwatch/bin/pip install --no-deps .

FROM python:3.11.11-slim-bookworm@sha256:081075da77b2b55c23c088251026fb69a7b2bf92471e491ff5fd75c192fd38e5
LABEL org.opencontainers.image.title="floorwatch" \
      org.opencontainers.image.description="Edge gateway for public-administration service centers" \
      org.opencontainers.image.licenses="Apache-2.0"
RUN useradd --system --uid 10001 --home-dir /var/lib/floorwatch --shell /usr/sbin/nologin floorwatch \
    && mkdir -p /var/lib/floorwatch /etc/floorwatch \
    && chown floorwatch:floorwatch /var/lib/floorwatch
COPY --from=build /opt/floorwatch /opt/floorwatch
WORKDIR /app
# The source tree itself comes first on the path: it carries the package data
# (the control-room page's static files, the example site files).
COPY floorwatch_main.py floorwatch_main.py
COPY api api
COPY cameras cameras
COPY dashboards dashboards
COPY gateway gateway
COPY sensors sensors
COPY config config
ENV PATH=/opt/floorwatch/bin:$PATH \
    PYTHONPATH=/app \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    FLOORWATCH_GATEWAY__STATE_DIR=/var/lib/floorwatch
USER floorwatch
VOLUME ["/var/lib/floorwatch"]
EXPOSE 8080
ENTRYPOINT ["floorwatch"]
CMD ["run", "-c", "/etc/floorwatch/site.yaml", "--log-json"]
