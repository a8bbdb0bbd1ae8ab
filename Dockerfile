# syntax=docker/dockerfile:1
#
# The sso-operator image: one static (musl) binary on distroless/static, running as 65532.
#
#   docker build -t sso-operator:0.1.0 .
#
# No shell, no package manager, no libc in the final image. hack/check-static-binary.sh builds the
# same target outside Docker and proves the binary needs nothing from the base image.

ARG RUST_VERSION=1.95

FROM docker.io/library/rust:${RUST_VERSION}-bookworm AS build
# aws-lc-rs (the rustls crypto provider) compiles C: cmake and a C compiler (in the rust image);
# musl-tools provides musl-gcc for the static target.
RUN apt-get update \
 && apt-get install -y --no-install-recommends cmake musl-tools \
 && rm -rf /var/lib/apt/lists/*
RUN rustup target add x86_64-unknown-linux-musl
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY src ./src
# The workspace's other member (the Salesforce simulator, a dev-dependency of the operator's
# tests): cargo needs its manifest to load the workspace; only the operator is built.
COPY salesforce-sim/Cargo.toml ./salesforce-sim/Cargo.toml
COPY salesforce-sim/src ./salesforce-sim/src
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked -p sso-operator --target x86_64-unknown-linux-musl --bin sso-operator \
 && install -D -m 0755 target/x86_64-unknown-linux-musl/release/sso-operator /out/sso-operator

# distroless/static: CA certificates, /etc/passwd with the nonroot user, tzdata; nothing else.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/sso-operator /sso-operator
USER 65532:65532
# /livez, /readyz, /metrics
EXPOSE 8080
ENTRYPOINT ["/sso-operator", "run"]
