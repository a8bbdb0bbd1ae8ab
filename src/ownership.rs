//! The ownership marker the operator writes into an app's description, so ownership survives the
//! loss of the resource's status (or of the whole cluster): a last line
//! `Managed by sso-operator: <namespace>/<name> (uid <uid>, cluster <cluster>)`.
//!
//! The resource's uid and the cluster's identity are part of it: a staging or disaster-recovery
//! cluster with the same `namespace/name`, or a resource deleted and created again, is another
//! owner until someone re-claims the app explicitly (the `sso-operator.dev/reclaim` annotation).
//! Markers written before the cluster was recorded (`(uid <uid>)`) still name their resource by uid.

const PREFIX: &str = "Managed by sso-operator: ";

/// Who an app in Salesforce belongs to, read from its description.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Owner {
    /// No marker: created by hand or by another tool.
    Unowned,
    /// Marked for a resource; `uid` may be absent in hand-edited markers, `cluster` in markers
    /// written before it was recorded.
    Resource {
        namespace: String,
        name: String,
        uid: Option<String>,
        cluster: Option<String>,
    },
}

/// The resource asking, as a marker would name it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claimant<'a> {
    pub namespace: &'a str,
    pub name: &'a str,
    pub uid: &'a str,
    pub cluster: &'a str,
}

/// What a marker means to one resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// This very resource (same uid; same cluster, or a marker without one).
    Mine,
    /// An earlier resource of the same `namespace/name` (deleted and created again), or the same
    /// name in another cluster: taken over only when the resource asks for it explicitly.
    Predecessor {
        uid: Option<String>,
        cluster: Option<String>,
    },
    /// Another resource (`namespace/name`).
    Other(String),
    Unowned,
}

impl Owner {
    /// What this marker means to `me`.
    pub fn claim(&self, me: &Claimant<'_>) -> Claim {
        let Owner::Resource {
            namespace,
            name,
            uid,
            cluster,
        } = self
        else {
            return Claim::Unowned;
        };
        let same_cluster = cluster.as_deref().is_none_or(|c| c == me.cluster);
        if uid.as_deref() == Some(me.uid) && same_cluster {
            return Claim::Mine;
        }
        if namespace == me.namespace && name == me.name {
            return Claim::Predecessor {
                uid: uid.clone(),
                cluster: cluster.clone(),
            };
        }
        Claim::Other(format!("{namespace}/{name}"))
    }
}

/// The marker line for a resource.
pub fn marker(me: &Claimant<'_>) -> String {
    format!(
        "{PREFIX}{}/{} (uid {}, cluster {})",
        me.namespace, me.name, me.uid, me.cluster
    )
}

/// The description to write: the user's description (if any) and the marker as its last line.
pub fn description_with_marker(user: Option<&str>, marker: &str) -> String {
    match user.map(str::trim).filter(|d| !d.is_empty()) {
        Some(d) => format!("{d}\n{marker}"),
        None => marker.to_string(),
    }
}

/// Reads the marker from a description (its last marker line wins).
pub fn owner_of(description: Option<&str>) -> Owner {
    let Some(line) = description
        .unwrap_or_default()
        .lines()
        .rev()
        .map(str::trim)
        .find(|l| l.starts_with(PREFIX))
    else {
        return Owner::Unowned;
    };
    let rest = &line[PREFIX.len()..];
    let (who, details) = match rest.split_once(" (") {
        Some((who, d)) => (who, d.trim_end_matches(')')),
        None => (rest, ""),
    };
    let field = |key: &str| {
        details
            .split(", ")
            .find_map(|part| part.strip_prefix(key))
            .map(str::to_string)
    };
    match who.trim().split_once('/') {
        Some((ns, name)) if !ns.is_empty() && !name.is_empty() => Owner::Resource {
            namespace: ns.to_string(),
            name: name.to_string(),
            uid: field("uid "),
            cluster: field("cluster "),
        },
        _ => Owner::Unowned,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ME: Claimant<'static> = Claimant {
        namespace: "telephony",
        name: "vendor",
        uid: "1234-abcd",
        cluster: "prod-eu",
    };

    #[test]
    fn marker_round_trips_through_a_description() {
        let d = description_with_marker(Some("SSO for the vendor"), &marker(&ME));
        assert_eq!(
            d,
            "SSO for the vendor\nManaged by sso-operator: telephony/vendor (uid 1234-abcd, cluster prod-eu)"
        );
        assert_eq!(
            owner_of(Some(&d)),
            Owner::Resource {
                namespace: "telephony".into(),
                name: "vendor".into(),
                uid: Some("1234-abcd".into()),
                cluster: Some("prod-eu".into()),
            }
        );
        assert_eq!(owner_of(Some(&d)).claim(&ME), Claim::Mine);
    }

    #[test]
    fn another_uid_or_cluster_with_the_same_name_is_a_predecessor_not_me() {
        let recreated = Claimant {
            uid: "9999",
            ..ME.clone()
        };
        let staging = Claimant {
            cluster: "staging",
            ..ME.clone()
        };
        let prod = owner_of(Some(&marker(&ME)));
        for other in [recreated, staging] {
            assert!(
                matches!(prod.claim(&other), Claim::Predecessor { .. }),
                "{other:?}"
            );
        }
        let elsewhere = Claimant {
            namespace: "team-b",
            uid: "5678",
            ..ME.clone()
        };
        assert_eq!(
            prod.claim(&elsewhere),
            Claim::Other("telephony/vendor".into())
        );
    }

    #[test]
    fn markers_from_before_the_cluster_was_recorded_still_name_their_resource_by_uid() {
        let old = owner_of(Some(
            "Managed by sso-operator: telephony/vendor (uid 1234-abcd)",
        ));
        assert_eq!(old.claim(&ME), Claim::Mine);
        let hand_edited = owner_of(Some("Managed by sso-operator: telephony/vendor"));
        assert!(matches!(
            hand_edited.claim(&ME),
            Claim::Predecessor { uid: None, .. }
        ));
    }

    #[test]
    fn descriptions_without_marker_are_unowned() {
        assert_eq!(owner_of(None), Owner::Unowned);
        assert_eq!(owner_of(Some("made by hand")).claim(&ME), Claim::Unowned);
        assert_eq!(
            owner_of(Some("Managed by sso-operator: garbage")),
            Owner::Unowned
        );
    }

    #[test]
    fn empty_user_description_is_just_the_marker() {
        assert_eq!(description_with_marker(Some("  "), "M"), "M");
        assert_eq!(description_with_marker(None, "M"), "M");
    }
}
