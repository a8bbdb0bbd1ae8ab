//! Prometheus metrics. Every label comes from a small fixed set (controller name, error category,
//! Salesforce operation and outcome), never from resource names.

use std::sync::Arc;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::{Registry, Unit};

use crate::salesforce::CallObserver;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ControllerLabels {
    pub controller: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ErrorLabels {
    pub controller: &'static str,
    pub category: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct CallLabels {
    pub operation: &'static str,
    pub outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct WriteLabels {
    pub kind: &'static str,
}

pub struct Metrics {
    pub registry: Registry,
    pub reconciles: Family<ControllerLabels, Counter>,
    pub reconcile_errors: Family<ErrorLabels, Counter>,
    pub reconcile_duration: Family<ControllerLabels, Histogram>,
    pub salesforce_calls: Family<CallLabels, Counter>,
    pub salesforce_call_duration: Family<CallLabels, Histogram>,
    pub kubernetes_writes: Family<WriteLabels, Counter>,
    pub leader: Gauge,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("sso_operator");
        let reconciles = Family::<ControllerLabels, Counter>::default();
        let reconcile_errors = Family::<ErrorLabels, Counter>::default();
        let reconcile_duration =
            Family::<ControllerLabels, Histogram>::new_with_constructor(|| {
                Histogram::new(exponential_buckets(0.005, 2.0, 14))
            });
        let salesforce_calls = Family::<CallLabels, Counter>::default();
        let salesforce_call_duration =
            Family::<CallLabels, Histogram>::new_with_constructor(|| {
                Histogram::new(exponential_buckets(0.01, 2.0, 12))
            });
        let kubernetes_writes = Family::<WriteLabels, Counter>::default();
        let leader = Gauge::default();
        registry.register("reconciles", "Reconciles run", reconciles.clone());
        registry.register(
            "reconcile_errors",
            "Reconciles that failed, by error category",
            reconcile_errors.clone(),
        );
        registry.register_with_unit(
            "reconcile_duration",
            "Time spent in one reconcile",
            Unit::Seconds,
            reconcile_duration.clone(),
        );
        registry.register(
            "salesforce_requests",
            "Salesforce calls by operation and outcome",
            salesforce_calls.clone(),
        );
        registry.register_with_unit(
            "salesforce_request_duration",
            "Duration of Salesforce calls",
            Unit::Seconds,
            salesforce_call_duration.clone(),
        );
        registry.register(
            "kubernetes_writes",
            "Writes to the Kubernetes API by kind (salesforceorg_status, ssoconnectedapp_status, configmap)",
            kubernetes_writes.clone(),
        );
        registry.register(
            "leader",
            "1 while this process holds the leader Lease (or runs without leader election)",
            leader.clone(),
        );
        Self {
            registry,
            reconciles,
            reconcile_errors,
            reconcile_duration,
            salesforce_calls,
            salesforce_call_duration,
            kubernetes_writes,
            leader,
        }
    }
}

impl Metrics {
    pub fn encode(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }

    /// Counts a reconcile of `controller`; its duration is observed when the timer finishes.
    pub fn reconcile_started(&self, controller: &'static str) -> ReconcileTimer<'_> {
        let labels = ControllerLabels { controller };
        self.reconciles.get_or_create(&labels).inc();
        ReconcileTimer {
            metrics: self,
            labels,
            started: std::time::Instant::now(),
        }
    }

    /// Counts a failed reconcile by the error's bounded category.
    pub fn count_error(&self, controller: &'static str, category: &'static str) {
        self.reconcile_errors
            .get_or_create(&ErrorLabels {
                controller,
                category,
            })
            .inc();
    }

    pub fn count_write(&self, kind: &'static str) {
        self.kubernetes_writes
            .get_or_create(&WriteLabels { kind })
            .inc();
    }
}

/// Times one reconcile (see [`Metrics::reconcile_started`]).
pub struct ReconcileTimer<'a> {
    metrics: &'a Metrics,
    labels: ControllerLabels,
    started: std::time::Instant,
}

impl ReconcileTimer<'_> {
    pub fn finish(self) {
        self.metrics
            .reconcile_duration
            .get_or_create(&self.labels)
            .observe(self.started.elapsed().as_secs_f64());
    }
}

/// Feeds the Salesforce client's per-call events into the metrics.
pub struct SalesforceCallMetrics(pub Arc<Metrics>);

impl CallObserver for SalesforceCallMetrics {
    fn on_call(&self, operation: &'static str, outcome: &'static str, seconds: f64) {
        let labels = CallLabels { operation, outcome };
        self.0.salesforce_calls.get_or_create(&labels).inc();
        self.0
            .salesforce_call_duration
            .get_or_create(&labels)
            .observe(seconds);
    }
}
