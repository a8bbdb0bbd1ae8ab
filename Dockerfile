# syntax=docker/dockerfile:1
#
# The sso-operator image: one static (musl) binary on distroless/static, running as 65532.
#
#   docker build -t sso-operator:0.1.0 .
#   docker buildx build --platform linux/amd64,linux/arm64 -t <registry>/sso-operator:0.1.0 --push .
#
# Multi-arch: each platform builds natively (buildx runs the build stage under that platform), so
# the Rust target follows TARGETARCH (amd64 -> x86_64, arm64 -> aarch64 musl).
#
# Base images are pinned by digest (multi-arch index digests as published on 2026-08-26). To move
# to newer ones: `crane digest docker.io/library/rust:1.95-bookworm` and
# `crane digest gcr.io/distroless/static-debian12:nonroot`, then update the two ARGs below.
#
# No shell, no package manager, no libc in the final image. hack/check-static-binary.sh builds the
# same target outside Docker and proves the binary needs nothing from the base image.

ARG RUST_IMAGE=docker.io/library/rust:1.95-bookworm@sha256:6258907abe69656e41cd992e0b705cdcfabcbbe3db374f92ed2d47121282d4a1
ARG RUNTIME_IMAGE=gcr.io/distroless/static-debian12:nonroot@sha256:afa5c872c891853ca7fcf1f12c3edb23f7eeef36189728842dd51042ff57f7ab

FROM ${RUST_IMAGE} AS build
ARG TARGETARCH
# aws-lc-rs (the rustls crypto provider) compiles C: cmake and a C compiler (in the rust image);
# musl-tools provides musl-gcc for the static target.
RUN apt-get update \
 && apt-get install -y --no-install-recommends cmake musl-tools \
 && rm -rf /var/lib/apt/lists/*
RUN case "${TARGETARCH:-$(dpkg --print-architecture)}" in \
      amd64) arch=x86_64 ;; \
      arm64) arch=aarch64 ;; \
      *) echo "unsupported TARGETARCH ${TARGETARCH}" >&2; exit 1 ;; \
    esac \
 && echo "${arch}-unknown-linux-musl" > /rust-target \
 && rustup target add "$(cat /rust-target)"
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY src ./src
# The workspace's other member (the Salesforce simulator, a dev-dependency of the operator's
# tests): cargo needs its manifest to load the workspace; only the operator is built.
COPY salesforce-sim/Cargo.toml ./salesforce-sim/Cargo.toml
COPY salesforce-sim/src ./salesforce-sim/src
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target,id=sso-operator-target-${TARGETARCH} \
    cargo build --release --locked -p sso-operator --target "$(cat /rust-target)" --bin sso-operator \
 && install -D -m 0755 "target/$(cat /rust-target)/release/sso-operator" /out/sso-operator

# distroless/static: CA certificates, /etc/passwd with the nonroot user, tzdata; nothing else.
FROM ${RUNTIME_IMAGE}
COPY --from=build /out/sso-operator /sso-operator
USER 65532:65532
# /livez, /readyz, /metrics
EXPOSE 8080
ENTRYPOINT ["/sso-operator", "run"]
