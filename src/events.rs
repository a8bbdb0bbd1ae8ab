//! Kubernetes Events (`events.k8s.io/v1`) for the objects the operator reconciles.
//!
//! Same wire behaviour as kube's `Recorder` (and client-go's): an event repeated within six minutes
//! (same type, action, reason and regarding object) becomes a `series` patch of the first Event
//! instead of a new Event. kube's `Recorder` keeps a copy of every Event it sent for that purpose, in
//! a map that never shrinks; after a burst of 1,000 apps that was the largest thing on the heap. This
//! one keeps a hash of the key and the Event's name, and gives the memory back once the burst ages out.

use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::time::{Duration, Instant};

use jiff::Timestamp;
use k8s_openapi::api::core::v1::ObjectReference;
use k8s_openapi::api::events::v1::{Event, EventSeries};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use kube::api::{Patch, PatchParams, PostParams};
use kube::{Api, Client};
use tokio::sync::Mutex;

/// An Event a reconcile wants published (after its status was written).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EventSpec {
    pub warning: bool,
    /// CamelCase, from a bounded set (a condition reason or an action's result).
    pub reason: String,
    pub action: &'static str,
    pub note: String,
}

impl EventSpec {
    pub fn normal(reason: &str, action: &'static str, note: impl Into<String>) -> Self {
        EventSpec {
            warning: false,
            reason: reason.to_string(),
            action,
            note: note.into(),
        }
    }

    pub fn warning(reason: &str, action: &'static str, note: impl Into<String>) -> Self {
        EventSpec {
            warning: true,
            ..EventSpec::normal(reason, action, note)
        }
    }
}

/// The API server refuses an Event whose note is over 1 KiB (events.k8s.io/v1 validation).
const MAX_NOTE_BYTES: usize = 1024;

/// `note` cut to [`MAX_NOTE_BYTES`] at a character boundary, marked with an ellipsis when cut.
fn capped(mut note: String) -> String {
    if note.len() <= MAX_NOTE_BYTES {
        return note;
    }
    let mut end = MAX_NOTE_BYTES - '…'.len_utf8();
    while !note.is_char_boundary(end) {
        end -= 1;
    }
    note.truncate(end);
    note.push('…');
    note
}

/// How long a sent Event can still grow a series (client-go and kube use the same).
const SERIES_TTL: Duration = Duration::from_secs(6 * 60);
/// Expired entries are dropped at most this often (a sweep walks the whole map).
const SWEEP_EVERY: Duration = Duration::from_secs(30);

/// What is kept of an Event sent: enough to patch its series.
struct Sent {
    name: String,
    count: i32,
    last: Instant,
}

struct Cache {
    /// Keyed by a 64-bit hash of (type, action, reason, regarding): at most a few thousand live
    /// keys, so a collision (one Event's series counting another's repeat) is practically nil.
    sent: HashMap<u64, Sent>,
    swept: Instant,
}

pub struct Recorder {
    client: Client,
    controller: String,
    instance: String,
    cache: Mutex<Cache>,
}

impl Recorder {
    /// `instance` defaults to the controller name, as in kube.
    pub fn new(client: Client, controller: &str, instance: Option<String>) -> Self {
        Recorder {
            client,
            controller: controller.to_string(),
            instance: instance.unwrap_or_else(|| controller.to_string()),
            cache: Mutex::new(Cache {
                sent: HashMap::new(),
                swept: Instant::now(),
            }),
        }
    }

    /// Creates the Event, or bumps the series of the same Event sent less than six minutes ago.
    pub async fn publish(
        &self,
        regarding: &ObjectReference,
        warning: bool,
        reason: &str,
        action: &str,
        note: String,
    ) -> Result<(), kube::Error> {
        let note = capped(note);
        let key = event_key(regarding, warning, reason, action);
        let now = Instant::now();
        let ns = regarding.namespace.as_deref().unwrap_or("default");
        let events: Api<Event> = Api::namespaced(self.client.clone(), ns);
        let repeat = {
            let mut cache = self.cache.lock().await;
            cache.sweep(now);
            cache
                .sent
                .get(&key)
                .filter(|s| now.duration_since(s.last) < SERIES_TTL)
                .map(|s| (s.name.clone(), s.count + 1))
        };
        let (name, count) = match repeat {
            Some((name, count)) => {
                let patch = serde_json::json!({
                    "series": EventSeries {
                        count,
                        last_observed_time: MicroTime(Timestamp::now()),
                    }
                });
                if let Err(e) = events
                    .patch(&name, &PatchParams::default(), &Patch::Merge(&patch))
                    .await
                {
                    // The Event may be gone (deleted, or expired by the API server): the next
                    // repeat starts a new one instead of failing the same way for six minutes.
                    self.cache.lock().await.sent.remove(&key);
                    return Err(e);
                }
                (name, count)
            }
            None => {
                let at = Timestamp::now();
                let event = Event {
                    action: Some(action.to_string()),
                    reason: Some(reason.to_string()),
                    event_time: Some(MicroTime(at)),
                    regarding: Some(regarding.clone()),
                    note: Some(note),
                    metadata: ObjectMeta {
                        namespace: regarding.namespace.clone(),
                        name: Some(format!(
                            "{}.{:x}",
                            regarding.name.as_deref().unwrap_or(&self.controller),
                            at.as_nanosecond()
                        )),
                        ..Default::default()
                    },
                    reporting_controller: Some(self.controller.clone()),
                    reporting_instance: Some(self.instance.clone()),
                    type_: Some(if warning { "Warning" } else { "Normal" }.to_string()),
                    ..Default::default()
                };
                let created = events.create(&PostParams::default(), &event).await?;
                (created.metadata.name.unwrap_or_default(), 1)
            }
        };
        self.cache.lock().await.sent.insert(
            key,
            Sent {
                name,
                count,
                last: now,
            },
        );
        Ok(())
    }
}

impl Cache {
    fn sweep(&mut self, now: Instant) {
        if now.duration_since(self.swept) < SWEEP_EVERY {
            return;
        }
        self.swept = now;
        self.sent
            .retain(|_, s| now.duration_since(s.last) < SERIES_TTL);
        // A map keeps its largest capacity; give back what a past burst needed.
        if self.sent.capacity() > 64 && self.sent.len() < self.sent.capacity() / 4 {
            self.sent.shrink_to(self.sent.len() * 2);
        }
    }
}

fn event_key(regarding: &ObjectReference, warning: bool, reason: &str, action: &str) -> u64 {
    let mut h = DefaultHasher::new();
    (warning, action, reason).hash(&mut h);
    (
        &regarding.api_version,
        &regarding.kind,
        &regarding.namespace,
        &regarding.name,
        &regarding.uid,
    )
        .hash(&mut h);
    h.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notes_are_capped_at_one_kib_on_a_character_boundary() {
        assert_eq!(capped("short".into()), "short");
        let long = "é".repeat(700); // 1,400 bytes
        let c = capped(long);
        assert!(c.len() <= MAX_NOTE_BYTES, "{}", c.len());
        assert!(c.ends_with('…'));
        assert!(c.len() > MAX_NOTE_BYTES - 8);
    }

    fn reference(name: &str, uid: &str) -> ObjectReference {
        ObjectReference {
            api_version: Some("sso-operator.dev/v1alpha1".into()),
            kind: Some("SsoConnectedApp".into()),
            namespace: Some("ns".into()),
            name: Some(name.into()),
            uid: Some(uid.into()),
            ..Default::default()
        }
    }

    #[test]
    fn the_key_is_type_action_reason_and_object_not_the_note() {
        let a = reference("a", "1");
        let k = event_key(&a, false, "Ready", "Reconcile");
        assert_eq!(k, event_key(&a, false, "Ready", "Reconcile"));
        assert_ne!(k, event_key(&a, true, "Ready", "Reconcile"));
        assert_ne!(k, event_key(&a, false, "Created", "Reconcile"));
        assert_ne!(k, event_key(&a, false, "Ready", "Delete"));
        assert_ne!(
            k,
            event_key(&reference("b", "1"), false, "Ready", "Reconcile")
        );
        // A deleted and recreated object with the same name is another object.
        assert_ne!(
            k,
            event_key(&reference("a", "2"), false, "Ready", "Reconcile")
        );
    }

    #[test]
    fn a_sweep_drops_expired_entries_and_gives_the_memory_back() {
        let start = Instant::now();
        let mut cache = Cache {
            sent: HashMap::new(),
            swept: start,
        };
        for k in 0..4000u64 {
            let last = if k < 10 { start + SERIES_TTL } else { start };
            cache.sent.insert(
                k,
                Sent {
                    name: format!("e{k}"),
                    count: 1,
                    last,
                },
            );
        }
        let grown = cache.sent.capacity();
        // Too soon after the last sweep: nothing happens.
        cache.sweep(start + SWEEP_EVERY / 2);
        assert_eq!(cache.sent.len(), 4000);
        cache.sweep(start + SERIES_TTL + SWEEP_EVERY);
        assert_eq!(cache.sent.len(), 10, "only the ten recent entries stay");
        assert!(
            cache.sent.capacity() < grown / 10,
            "{} of {grown}",
            cache.sent.capacity()
        );
    }
}
