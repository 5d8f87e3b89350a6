# ConvScope demo image: `docker build -t convscope . && docker run -p 8000:8000 convscope`
# Stage 1 builds wheels for the pinned runtime dependencies; stage 2 installs them without
# compilers, caches or pip's download step, and runs as a non-root user.
# PYTHON_IMAGE is the base of both stages: the official image by default; `make docker-test`
# passes a local stand-in (Debian bookworm's python3.11, see scripts/docker_test.sh).
ARG PYTHON_IMAGE=python:3.11.14-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /build
COPY requirements.lock .
RUN pip wheel --wheel-dir /wheels --requirement requirements.lock

FROM ${PYTHON_IMAGE} AS runtime
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    OPENBLAS_NUM_THREADS=1 \
    OMP_NUM_THREADS=1 \
    CONVSCOPE_MAX_BODY_BYTES=10485760 \
    CONVSCOPE_MAX_IMAGE_PIXELS=16777216 \
    CONVSCOPE_MODEL_DIR=/data/models
# The wheels are bind-mounted from the build stage, so they never become a layer of this image.
RUN --mount=type=bind,from=build,source=/wheels,target=/wheels \
    --mount=type=bind,source=requirements.lock,target=/tmp/requirements.lock \
    pip install --no-index --find-links /wheels --requirement /tmp/requirements.lock \
    && groupadd --system --gid 10001 convscope \
    && useradd --system --uid 10001 --gid 10001 --no-create-home --shell /usr/sbin/nologin convscope \
    && mkdir -p /data/models && chown 10001:10001 /data/models
WORKDIR /srv/convscope
COPY app ./app
COPY static ./static
COPY templates ./templates
USER 10001:10001
# The model store (uploaded ONNX files): mount a volume here so that replicas share it.
VOLUME /data/models
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=3s --start-period=10s --retries=3 \
    CMD ["python", "-c", "import urllib.request, sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2).status != 200)"]
CMD ["python", "-m", "app.cli", "serve", "--host", "0.0.0.0", "--port", "8000"]
