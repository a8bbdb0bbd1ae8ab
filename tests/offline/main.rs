//! What needs no cluster and no simulator: the packaging. One binary, a module per subject.
//!
//! - `crds`: `crds/` and the chart's CRDs equal `sso-operator crd`;
//! - `chart`: the Helm chart (lint, values schema, RBAC, Deployment) and `deploy/manifests/`.

// The shared harness, `tests/common/`.
#[path = "../common/mod.rs"]
mod common;

mod chart;
mod crds;
