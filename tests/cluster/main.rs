//! Everything against a real kube-apiserver (`common::cluster`), most of it with the simulated
//! org in this process and the operator run as a process (`common::e2e`). One binary, a module
//! per subject; every test is named `k8s_*` (`make test-unit` skips them).
//!
//! - `admission`: what the API server refuses (the one table of admission cases), accepts, and
//!   keeps immutable;
//! - `crd`: the CRDs Established, the examples accepted, `kubectl explain`;
//! - `reconcile`: the Setup procedure end to end, conflicts, certificates, outages;
//! - `app_kinds`: the lifecycle tests run for a connected app and an External Client App;
//! - `matrix`: that lifecycle under every reality variant of the simulated org;
//! - `bad_input`: the bad-input catalogue, by subject;
//! - `rollout`: `publish.rollout` restarting a Deployment once per metadata change;
//! - `check_org`: `sso-operator check-org` with the org and Secret from the cluster;
//! - `controller`: what the operator reports before Salesforce can help, probes, Events;
//! - `deploy`: the chart's manifests, its RBAC alone, leader failover;
//! - `health`: Argo CD's health checks and Flux's kstatus on live objects;
//! - `metrics`: the series the chart's alerts use, on the operator's `/metrics`;
//! - `leader_election`: a leader partitioned from the API server never writes after the new one
//!   acquires;
//! - `security`: no secret material anywhere; the chart's pod under Pod Security `restricted`;
//! - `signin`: an SP library configured only from the published ConfigMap signs agents in (every
//!   app kind, subject type and NameID format; refusals; certificate rotation without outage);
//! - `tenancy`: many teams, one org: what one team's resources cannot do to another's.

// The shared harness, `tests/common/`.
#[path = "../common/mod.rs"]
mod common;

mod admission;
mod app_kinds;
mod bad_input;
mod check_org;
mod controller;
mod crd;
mod deploy;
mod health;
mod leader_election;
mod matrix;
mod metrics;
mod reconcile;
mod rollout;
mod security;
mod signin;
mod tenancy;
