# syntax=docker/dockerfile:1
# Multi-stage: cargo build → slim runtime image with provider, bff, latchkey-demo and the SPA.
FROM rust:1.94-slim-bookworm AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends build-essential cmake pkg-config \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# The whole workspace (every member crate, present and future; .dockerignore keeps out
# target/, .git and what no crate reads): a listed subset broke the build once.
COPY . .
RUN cargo build --release --locked --bin provider --bin bff --bin latchkey-demo

FROM debian:bookworm-slim AS runtime
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates curl \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /app --shell /usr/sbin/nologin latchkey \
 && mkdir -p /app/data /secrets \
 && chown latchkey:latchkey /app/data /secrets
COPY --from=build /src/target/release/provider /src/target/release/bff /src/target/release/latchkey-demo /usr/local/bin/
COPY frontend-demo /app/frontend-demo
WORKDIR /app
USER latchkey
EXPOSE 8000 3000
# Default: the one-process demo (SQLite under /app/data). Compose runs the parts separately.
CMD ["latchkey-demo", "--provider-listen", "0.0.0.0:8000", "--bff-listen", "0.0.0.0:3000"]
