//! Prometheus metrics. Operational series have labels from small fixed sets (controller name,
//! error category, Salesforce operation and outcome). The series users alert on are per resource,
//! labelled by namespace and name as cert-manager and External Secrets do: one series per
//! `SsoConnectedApp` or `SalesforceOrg` per metric (a few thousand at most), removed when the
//! resource goes. docs/monitoring.md lists them with their cardinality and the chart's alerts.

use std::sync::Arc;

use prometheus_client::encoding::{EncodeLabelSet, EncodeLabelValue, LabelValueEncoder};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::{Registry, Unit};

use crate::api::shared_str::SharedStr;
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

/// One resource (`kind` is `ssoconnectedapp` or `salesforceorg`).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ResourceLabels {
    pub kind: &'static str,
    /// Shared text: each resource has a series in three families, and every series its labels.
    pub namespace: SharedStr,
    pub name: SharedStr,
}

impl EncodeLabelValue for SharedStr {
    fn encode(&self, encoder: &mut LabelValueEncoder<'_>) -> Result<(), std::fmt::Error> {
        self.as_str().encode(encoder)
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct BuildLabels {
    version: &'static str,
}

/// What a resource's latest status says, for the per-resource series.
pub struct ResourceState {
    pub ready: bool,
    /// `SsoConnectedApp`: `spec.suspend` (not ready on purpose; the not-Ready alert skips it).
    pub suspended: bool,
    /// `SsoConnectedApp`: the IdP signing certificate's end of validity.
    pub certificate_not_after: Option<jiff::Timestamp>,
    /// `SalesforceOrg`: the daily API allocation, (used, limit).
    pub api_usage: Option<(u64, u64)>,
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
    pub ready: Family<ResourceLabels, Gauge>,
    pub suspended: Family<ResourceLabels, Gauge>,
    pub certificate_expiration: Family<ResourceLabels, Gauge>,
    pub api_requests_used: Family<ResourceLabels, Gauge>,
    pub api_requests_limit: Family<ResourceLabels, Gauge>,
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
        let per_resource = ResourceSeries::register(&mut registry);
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
            ready: per_resource.ready,
            suspended: per_resource.suspended,
            certificate_expiration: per_resource.certificate_expiration,
            api_requests_used: per_resource.api_requests_used,
            api_requests_limit: per_resource.api_requests_limit,
        }
    }
}

/// The per-resource families and `build_info`, registered.
struct ResourceSeries {
    ready: Family<ResourceLabels, Gauge>,
    suspended: Family<ResourceLabels, Gauge>,
    certificate_expiration: Family<ResourceLabels, Gauge>,
    api_requests_used: Family<ResourceLabels, Gauge>,
    api_requests_limit: Family<ResourceLabels, Gauge>,
}

impl ResourceSeries {
    fn register(registry: &mut Registry) -> Self {
        let series = ResourceSeries {
            ready: Family::default(),
            suspended: Family::default(),
            certificate_expiration: Family::default(),
            api_requests_used: Family::default(),
            api_requests_limit: Family::default(),
        };
        registry.register(
            "resource_ready",
            "1 while the resource's Ready condition is True, else 0",
            series.ready.clone(),
        );
        registry.register(
            "resource_suspended",
            "1 while an SsoConnectedApp has spec.suspend: true (no series otherwise)",
            series.suspended.clone(),
        );
        registry.register(
            "certificate_expiration_timestamp_seconds",
            "End of validity of the IdP signing certificate an SsoConnectedApp publishes (Unix seconds)",
            series.certificate_expiration.clone(),
        );
        registry.register(
            "org_api_requests_used",
            "Daily API requests a SalesforceOrg has used, as Salesforce last reported",
            series.api_requests_used.clone(),
        );
        registry.register(
            "org_api_requests_limit",
            "Daily API request allocation of a SalesforceOrg, as Salesforce last reported",
            series.api_requests_limit.clone(),
        );
        let build = Family::<BuildLabels, Gauge>::default();
        build
            .get_or_create(&BuildLabels {
                version: env!("CARGO_PKG_VERSION"),
            })
            .set(1);
        registry.register("build_info", "The running build (value 1)", build);
        series
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

    /// Sets the per-resource series from a resource's latest status.
    pub fn record_resource(&self, labels: &ResourceLabels, state: &ResourceState) {
        self.ready.get_or_create(labels).set(i64::from(state.ready));
        if state.suspended {
            self.suspended.get_or_create(labels).set(1);
        } else {
            self.suspended.remove(labels);
        }
        if let Some(t) = state.certificate_not_after {
            self.certificate_expiration
                .get_or_create(labels)
                .set(t.as_second());
        }
        if let Some((used, limit)) = state.api_usage {
            let clamp = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
            self.api_requests_used
                .get_or_create(labels)
                .set(clamp(used));
            self.api_requests_limit
                .get_or_create(labels)
                .set(clamp(limit));
        }
    }

    /// Drops a deleted resource's series.
    pub fn forget_resource(&self, labels: &ResourceLabels) {
        self.ready.remove(labels);
        self.suspended.remove(labels);
        self.certificate_expiration.remove(labels);
        self.api_requests_used.remove(labels);
        self.api_requests_limit.remove(labels);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn per_resource_series_follow_the_resource_and_go_with_it() {
        let m = Metrics::default();
        let app = ResourceLabels {
            kind: "ssoconnectedapp",
            namespace: "telephony".into(),
            name: "vendor".into(),
        };
        m.record_resource(
            &app,
            &ResourceState {
                ready: true,
                suspended: false,
                certificate_not_after: Some("2030-01-01T00:00:00Z".parse().unwrap()),
                api_usage: None,
            },
        );
        let text = m.encode();
        let labels = r#"kind="ssoconnectedapp",namespace="telephony",name="vendor""#;
        assert!(
            text.contains(&format!("sso_operator_resource_ready{{{labels}}} 1")),
            "{text}"
        );
        assert!(
            text.contains(&format!(
                "sso_operator_certificate_expiration_timestamp_seconds{{{labels}}} 1893456000"
            )),
            "{text}"
        );
        assert!(
            text.contains(r#"sso_operator_build_info{version=""#),
            "{text}"
        );
        m.forget_resource(&app);
        let text = m.encode();
        assert!(!text.contains(labels), "{text}");
    }

    #[test]
    fn a_suspended_app_has_a_suspended_series_only_while_suspended() {
        let m = Metrics::default();
        let app = ResourceLabels {
            kind: "ssoconnectedapp",
            namespace: "telephony".into(),
            name: "paused".into(),
        };
        let state = |suspended| ResourceState {
            ready: false,
            suspended,
            certificate_not_after: None,
            api_usage: None,
        };
        let series = r#"sso_operator_resource_suspended{kind="ssoconnectedapp",namespace="telephony",name="paused"} 1"#;
        m.record_resource(&app, &state(true));
        assert!(m.encode().contains(series), "{}", m.encode());
        m.record_resource(&app, &state(false));
        assert!(
            !m.encode().contains("resource_suspended{"),
            "{}",
            m.encode()
        );
    }

    #[test]
    fn org_usage_is_exported_as_used_and_limit() {
        let m = Metrics::default();
        let org = ResourceLabels {
            kind: "salesforceorg",
            namespace: "telephony".into(),
            name: "acme".into(),
        };
        m.record_resource(
            &org,
            &ResourceState {
                ready: false,
                suspended: false,
                certificate_not_after: None,
                api_usage: Some((8_100, 10_000)),
            },
        );
        let text = m.encode();
        assert!(text.contains(r#"sso_operator_org_api_requests_used{kind="salesforceorg",namespace="telephony",name="acme"} 8100"#), "{text}");
        assert!(text.contains(r#"sso_operator_org_api_requests_limit{kind="salesforceorg",namespace="telephony",name="acme"} 10000"#), "{text}");
        assert!(text.contains(r#"sso_operator_resource_ready{kind="salesforceorg",namespace="telephony",name="acme"} 0"#), "{text}");
    }
}
