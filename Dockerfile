# One image for the CLI, the workers, the ingress servers, the archiver and the topic job.
# Triton runs NVIDIA's image with our model repository: deploy/triton/Dockerfile.
#   docker build -t microturn:0.1.0 .
#   docker run --rm microturn:0.1.0 microturn --help
FROM python:3.11-slim

ENV PYTHONUNBUFFERED=1 \
    UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PROJECT_ENVIRONMENT=/app/.venv

RUN pip install --no-cache-dir "uv>=0.4"
WORKDIR /app

# Dependencies first (a layer that changes only with uv.lock), then the code.
COPY pyproject.toml uv.lock README.md ./
RUN uv sync --frozen --no-dev --extra tracing --no-install-project
COPY schemas schemas
COPY streams streams
COPY processors processors
COPY inference inference
COPY replay replay
COPY infra infra
RUN uv sync --frozen --no-dev --extra tracing

RUN useradd --uid 10001 --create-home microturn && mkdir -p /var/lib/microturn && chown microturn /var/lib/microturn
USER 10001

# Containers log JSON lines to stdout/stderr and serve /metrics on every interface of their own
# network namespace (a pod or a compose service), on one fixed port.
ENV PATH=/app/.venv/bin:$PATH \
    MICROTURN_LOG_FORMAT=json \
    MICROTURN_STATE_DIR=/var/lib/microturn \
    MICROTURN_METRICS_ADDRESS=0.0.0.0 \
    MICROTURN_METRICS_PORT=9464

# 8080: `microturn serve twilio|ws --host 0.0.0.0 --port 8080`; 9464: /metrics.
EXPOSE 8080 9464
CMD ["microturn", "--help"]
