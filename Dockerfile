# syntax=docker/dockerfile:1
# Gatehouse as a container image: built on Rust's Debian image, run on distroless (glibc and
# nothing else: no shell, no package manager) as an unprivileged user. docs/OPERATIONS.md,
# "Containers", says how to run it; scripts/check-packaging checks this file.

ARG RUST_VERSION=1.95

FROM rust:${RUST_VERSION}-slim-bookworm AS build
WORKDIR /src
# The workspace's manifests and what the binary is built from; tests, docs and scripts stay out.
# The bench is declared in Cargo.toml, so its sources must be present for the manifest to load.
COPY Cargo.toml Cargo.lock ./
COPY crates crates
COPY src src
COPY migrations migrations
COPY benches benches
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked --bin gatehouse \
    && install -D --mode=0755 target/release/gatehouse /out/gatehouse \
    && install -d /out/data

# The runtime: glibc, CA roots and tzdata from Debian, user `nonroot` (65532).
FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /out/gatehouse /usr/local/bin/gatehouse
COPY --from=build --chown=65532:65532 /out/data /var/lib/gatehouse
ENV GATEHOUSE_BIND=0.0.0.0:8080 \
    GATEHOUSE_DATA_DIR=/var/lib/gatehouse \
    GATEHOUSE_LOG_FORMAT=json
USER 65532:65532
WORKDIR /var/lib/gatehouse
VOLUME ["/var/lib/gatehouse"]
EXPOSE 8080
# Liveness only: an orchestrator that restarts on this must not restart every node while the
# database is away. Balancers and readiness probes ask /ready themselves.
HEALTHCHECK --interval=10s --timeout=6s --start-period=10s --retries=3 \
    CMD ["gatehouse", "probe", "health"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["gatehouse"]
CMD ["serve"]
