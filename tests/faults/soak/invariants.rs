//! The soak's invariants: checked every few steps, and at the end once everything settled.

use super::*;

impl Soak {
    /// The invariants that hold at every moment. Skipped while the API server is away.
    pub(super) async fn check(&mut self) {
        self.check_markers().await;
        let Some(apps) = self.apps().await else {
            return;
        };
        let mut owners: HashMap<String, String> = HashMap::new();
        for a in apps
            .iter()
            .filter(|a| a.metadata.deletion_timestamp.is_none())
        {
            let ready = a.status.as_ref().is_some_and(|s| {
                s.conditions
                    .iter()
                    .any(|c| c.type_ == "AppReady" && c.status == "True")
            });
            if !ready {
                continue;
            }
            let who = format!(
                "{}/{}",
                a.metadata.namespace.as_deref().unwrap_or(""),
                a.metadata.name.as_deref().unwrap_or("")
            );
            if let Some(other) =
                owners.insert(a.spec.app.api_name.to_ascii_lowercase(), who.clone())
            {
                self.fail(format!(
                    "app {} owned by two resources: {other} and {who}",
                    a.spec.app.api_name
                ));
            }
        }
        for ns in self.namespaces.clone() {
            let cms: Api<ConfigMap> = Api::namespaced(self.client.clone(), &ns);
            let Ok(cm) = cms.get(FOREIGN_CM).await else {
                continue;
            };
            let rv = cm.metadata.resource_version.unwrap_or_default();
            if self.foreign_versions[&ns] != rv {
                self.fail(format!(
                    "the foreign ConfigMap {ns}/{FOREIGN_CM} was written: {:?}",
                    cm.data
                ));
            }
        }
        self.collect_garbage(&apps).await;
    }

    /// An app's marker never changes while it exists (a delete in the org's call log ends it).
    async fn check_markers(&mut self) {
        let calls = self.sim.calls().await;
        for e in calls["log"].as_array().into_iter().flatten() {
            let seq = e["seq"].as_u64().unwrap_or(0);
            if seq <= self.seen_seq {
                continue;
            }
            self.seen_seq = seq;
            if e["operation"] == "deleteMetadata" {
                for n in e["fullNames"].as_array().into_iter().flatten() {
                    self.markers
                        .remove(&n.as_str().unwrap_or("").to_ascii_lowercase());
                }
            }
        }
        let state = self.sim.state().await;
        let apps = state["connectedApps"]
            .as_object()
            .cloned()
            .unwrap_or_default();
        let present: HashSet<String> = apps.keys().map(|k| k.to_ascii_lowercase()).collect();
        self.markers.retain(|k, _| present.contains(k));
        for (name, app) in apps {
            let Some(uid) = marker_uid(&app) else {
                continue;
            };
            match self.markers.get(&name.to_ascii_lowercase()) {
                Some(before) if *before != uid => self.fail(format!(
                    "app {name} was marked for uid {before}, then written with uid {uid} without being deleted; the org's apps: {:?}",
                    state["connectedApps"].as_object().map(|a| a.iter().map(|(n, v)| (n.clone(), marker_uid(v))).collect::<Vec<_>>())
                )),
                _ => {
                    self.markers.insert(name.to_ascii_lowercase(), uid);
                }
            }
        }
    }

    /// What the garbage collector would do: ConfigMaps whose controller is gone go too.
    async fn collect_garbage(&self, apps: &[SsoConnectedApp]) {
        let uids: HashSet<&str> = apps
            .iter()
            .filter_map(|a| a.metadata.uid.as_deref())
            .collect();
        for ns in &self.namespaces {
            let cms: Api<ConfigMap> = Api::namespaced(self.client.clone(), ns);
            let Ok(list) = cms.list(&ListParams::default()).await else {
                return;
            };
            for cm in list.items {
                let orphan = cm.metadata.owner_references.iter().flatten().any(|o| {
                    o.controller == Some(true)
                        && o.kind == "SsoConnectedApp"
                        && !uids.contains(o.uid.as_str())
                });
                if orphan {
                    let name = cm.metadata.name.unwrap_or_default();
                    let _ = cms.delete(&name, &DeleteParams::default()).await;
                }
            }
        }
    }

    /// Faults off, every replica up, every live resource asked for a full check; waits until
    /// deletions are done and every live resource observed its generation and is Ready or in
    /// Conflict. Then the end invariants.
    pub(super) async fn settle_and_check(&mut self) {
        self.sim.clear_faults().await;
        self.supervise();
        let deadline = Instant::now() + SETTLE;
        for (i, key) in self.live.keys().enumerate() {
            let (ns, name) = key.split_once('/').expect("ns/name");
            let _ = cluster::kubectl(&[
                "-n",
                ns,
                "annotate",
                "--overwrite",
                "sca",
                name,
                &format!("sso-operator.dev/sync-requested=soak-end-{i}"),
            ]);
        }
        let mut pending = Vec::new();
        while Instant::now() < deadline {
            self.supervise();
            if let Some(apps) = self.apps().await {
                self.collect_garbage(&apps).await;
                pending = apps
                    .iter()
                    .filter(|a| !settled(a))
                    .map(|a| {
                        format!(
                            "{}/{}: {:?}",
                            a.metadata.namespace.as_deref().unwrap_or(""),
                            a.metadata.name.as_deref().unwrap_or(""),
                            a.status.as_ref().map(|s| s
                                .conditions
                                .iter()
                                .map(|c| format!("{} {} {}", c.type_, c.status, c.reason))
                                .collect::<Vec<_>>())
                        )
                    })
                    .collect();
                if pending.is_empty() {
                    break;
                }
            }
            // Poll interval of this wait (bounded by SETTLE above).
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        if !pending.is_empty() {
            self.fail(format!("not settled within {SETTLE:?}: {pending:#?}"));
        }
        self.check().await;
        self.check_end_state().await;
        self.check_leadership();
    }

    /// At the end: every Ready resource's app is marked for it and its ConfigMap equals what the
    /// org serves; every app left in the org belongs to a live resource or one deleted with Orphan.
    async fn check_end_state(&mut self) {
        let apps = self
            .apps()
            .await
            .unwrap_or_else(|| self.fail("cannot list apps at the end"));
        let state = self.sim.state().await;
        let org_apps = state["connectedApps"]
            .as_object()
            .cloned()
            .unwrap_or_default();
        let mut live_uids = HashSet::new();
        for a in &apps {
            let uid = a.metadata.uid.clone().unwrap_or_default();
            live_uids.insert(uid.clone());
            let ready = a.status.as_ref().is_some_and(|s| {
                s.conditions
                    .iter()
                    .any(|c| c.type_ == "Ready" && c.status == "True")
            });
            if !ready {
                continue;
            }
            self.count("end: Ready resources checked");
            let api_name = &a.spec.app.api_name;
            let ns = a.metadata.namespace.clone().unwrap_or_default();
            let name = a.metadata.name.clone().unwrap_or_default();
            match org_apps.get(api_name).and_then(marker_uid) {
                Some(m) if m == uid => {}
                other => self.fail(format!(
                    "{ns}/{name} is Ready but app {api_name} is marked {other:?}, not {uid}"
                )),
            }
            let cm_name = a
                .spec
                .publish
                .config_map_name
                .clone()
                .unwrap_or_else(|| format!("{name}-idp-metadata"));
            let cms: Api<ConfigMap> = Api::namespaced(self.client.clone(), &ns);
            let data = cms
                .get(&cm_name)
                .await
                .ok()
                .and_then(|c| c.data)
                .unwrap_or_default();
            let (code, served) = self
                .sim
                .get(&format!("/.well-known/samlidp/{api_name}.xml"))
                .await;
            let published = data
                .get("metadata.xml")
                .map(|x| sim::without_valid_until(x));
            if code != 200 || published != Some(sim::without_valid_until(&served)) {
                self.fail(format!("ConfigMap {ns}/{cm_name} is not what the org serves for {api_name} (HTTP {code})"));
            }
        }
        for (name, app) in &org_apps {
            let Some(uid) = marker_uid(app) else { continue };
            if !live_uids.contains(&uid) && !self.orphaned.contains(&uid) {
                self.fail(format!("app {name} is left in the org, marked for {uid}: neither live nor deleted with Orphan"));
            }
            if self.orphaned.contains(&uid) {
                self.count("end: orphaned apps kept");
            }
        }
    }

    /// Every Salesforce write a replica logged lies inside its own leadership term and outside
    /// every other replica's.
    fn check_leadership(&mut self) {
        let now = jiff::Timestamp::now();
        let mut terms = Vec::new();
        let mut writes = Vec::new();
        let all: Vec<&Incarnation> = self
            .replicas
            .iter()
            .flat_map(|r| r.past.iter().chain([&r.now]))
            .collect();
        for (i, inc) in all.iter().enumerate() {
            let text = strip_ansi(&std::fs::read_to_string(&inc.log).unwrap_or_default());
            let (term, w) = leadership(&text, inc.ended.unwrap_or(now));
            if let Some(t) = term {
                terms.push((i, t));
            }
            writes.extend(w.into_iter().map(|w| (i, w)));
        }
        for &(i, (start, end, ref op)) in &writes {
            let own = terms.iter().find(|(j, _)| *j == i).map(|(_, t)| *t);
            let inside = own.is_some_and(|(s, e)| s <= start && start <= e);
            if !inside {
                self.fail(format!(
                    "process {i} wrote ({op} at {start}) outside its leadership term {own:?}"
                ));
            }
            for &(j, (s, e)) in &terms {
                if j != i && start <= e && s <= end {
                    self.fail(format!("process {i} wrote ({op}, {start}..{end}) during process {j}'s term {s}..{e}"));
                }
            }
        }
        self.counts.insert(
            "end: writes checked against leadership terms",
            writes.len() as u64,
        );
        self.counts
            .insert("end: leadership terms", terms.len() as u64);
    }
}

/// Done: observed its generation and Ready, or waiting for a person (Conflict).
fn settled(a: &SsoConnectedApp) -> bool {
    if a.metadata.deletion_timestamp.is_some() {
        return false;
    }
    a.status.as_ref().is_some_and(|s| {
        s.observed_generation == a.metadata.generation
            && s.conditions
                .iter()
                .any(|c| c.type_ == "Ready" && (c.status == "True" || c.reason == "Conflict"))
    })
}

/// The uid in an app's ownership marker.
fn marker_uid(app: &Value) -> Option<String> {
    let d = app["description"].as_str()?;
    let line = d
        .lines()
        .rfind(|l| l.starts_with("Managed by sso-operator: "))?;
    let rest = &line[line.find("(uid ")? + 5..];
    Some(rest[..rest.find([',', ')'])?].to_string())
}

fn strip_ansi(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

type Term = (jiff::Timestamp, jiff::Timestamp);

/// One process's leadership term (acquired .. the first sign of its end, or `ended`) and its
/// Salesforce writes (sent .. answered, with the operation).
fn leadership(
    log: &str,
    ended: jiff::Timestamp,
) -> (
    Option<Term>,
    Vec<(jiff::Timestamp, jiff::Timestamp, String)>,
) {
    let ts = |l: &str| {
        l.split_whitespace()
            .next()
            .and_then(|t| t.parse::<jiff::Timestamp>().ok())
    };
    let mut start = None;
    let mut end = ended;
    let mut writes = Vec::new();
    for line in log.lines() {
        let Some(t) = ts(line) else { continue };
        if line.contains("acquired the leader Lease") {
            start = Some(t);
        } else if [
            "could not renew the leader Lease",
            "the leader Lease was taken over",
            "lost the leader Lease",
            "released the leader Lease",
        ]
        .iter()
        .any(|m| line.contains(m))
        {
            end = end.min(t);
        } else if line.contains("salesforce call") {
            let op = line
                .split("operation=\"")
                .nth(1)
                .and_then(|r| r.split('"').next())
                .unwrap_or("");
            if WRITE_OPERATIONS.contains(&op) {
                let ms: i64 = line
                    .split("elapsed_ms=")
                    .nth(1)
                    .and_then(|r| r.split_whitespace().next())
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(0);
                let sent = t
                    .checked_sub(jiff::SignedDuration::from_millis(ms))
                    .unwrap_or(t);
                writes.push((sent, t, op.to_string()));
            }
        }
    }
    (start.map(|s| (s, end)), writes)
}

#[test]
fn the_leadership_check_reads_terms_and_writes_from_a_log() {
    let log = "\
2026-01-01T00:00:01Z  INFO standing by: another replica holds the leader Lease
2026-01-01T00:00:05.5Z  INFO acquired the leader Lease
2026-01-01T00:00:06Z DEBUG salesforce call org=a/acme operation=\"readMetadata\" count=1 outcome=\"ok\" elapsed_ms=3
2026-01-01T00:00:07Z DEBUG salesforce call org=a/acme operation=\"upsertMetadata\" count=1 outcome=\"ok\" elapsed_ms=250
2026-01-01T00:00:09Z ERROR could not renew the leader Lease within the renew deadline
2026-01-01T00:00:09.1Z ERROR lost the leader Lease: controllers stopped
";
    let ended: jiff::Timestamp = "2026-01-01T00:00:30Z".parse().unwrap();
    let (term, writes) = leadership(&strip_ansi(log), ended);
    let t = |s: &str| s.parse::<jiff::Timestamp>().unwrap();
    assert_eq!(
        term,
        Some((t("2026-01-01T00:00:05.5Z"), t("2026-01-01T00:00:09Z")))
    );
    assert_eq!(
        writes,
        vec![(
            t("2026-01-01T00:00:06.75Z"),
            t("2026-01-01T00:00:07Z"),
            "upsertMetadata".to_string()
        )]
    );
    assert_eq!(strip_ansi("\u{1b}[2mx\u{1b}[0m y"), "x y");
}

#[test]
fn the_marker_uid_is_read_from_the_last_marker_line() {
    let app = json!({"description": "SSO\nManaged by sso-operator: ns/voice (uid 1234-ab, cluster prod)"});
    assert_eq!(marker_uid(&app).as_deref(), Some("1234-ab"));
    let old = json!({"description": "Managed by sso-operator: ns/voice (uid 99)"});
    assert_eq!(marker_uid(&old).as_deref(), Some("99"));
    assert_eq!(marker_uid(&json!({"description": "by hand"})), None);
}
