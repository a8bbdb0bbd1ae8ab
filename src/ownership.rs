//! The ownership marker the operator writes into an app's description, so ownership survives the
//! loss of the resource's status (or of the whole cluster): a last line
//! `Managed by sso-operator: <namespace>/<name> (uid <uid>)`.

const PREFIX: &str = "Managed by sso-operator: ";

/// Who an app in Salesforce belongs to, read from its description.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Owner {
    /// No marker: created by hand or by another tool.
    Unowned,
    /// Marked for a resource; `uid` may be absent in hand-edited markers.
    Resource {
        namespace: String,
        name: String,
        uid: Option<String>,
    },
}

impl Owner {
    /// Whether the marker names the resource `namespace/name`. A different uid with the same name
    /// is still this resource: GitOps tools delete and recreate objects, and a recreated resource
    /// must find its app again instead of reporting a conflict with itself.
    pub fn is(&self, namespace: &str, name: &str) -> bool {
        matches!(self, Owner::Resource { namespace: n, name: m, .. } if n == namespace && m == name)
    }
}

/// The marker line for a resource.
pub fn marker(namespace: &str, name: &str, uid: &str) -> String {
    format!("{PREFIX}{namespace}/{name} (uid {uid})")
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
    let (who, uid) = match rest.split_once(" (uid ") {
        Some((who, uid)) => (who, Some(uid.trim_end_matches(')').to_string())),
        None => (rest, None),
    };
    match who.trim().split_once('/') {
        Some((ns, name)) if !ns.is_empty() && !name.is_empty() => Owner::Resource {
            namespace: ns.to_string(),
            name: name.to_string(),
            uid,
        },
        _ => Owner::Unowned,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marker_round_trips_through_a_description() {
        let m = marker("telephony", "vendor", "1234-abcd");
        let d = description_with_marker(Some("SSO for the vendor"), &m);
        assert_eq!(
            d,
            "SSO for the vendor\nManaged by sso-operator: telephony/vendor (uid 1234-abcd)"
        );
        assert_eq!(
            owner_of(Some(&d)),
            Owner::Resource {
                namespace: "telephony".into(),
                name: "vendor".into(),
                uid: Some("1234-abcd".into())
            }
        );
        assert!(owner_of(Some(&d)).is("telephony", "vendor"));
        assert!(!owner_of(Some(&d)).is("telephony", "other"));
    }

    #[test]
    fn descriptions_without_marker_are_unowned() {
        assert_eq!(owner_of(None), Owner::Unowned);
        assert_eq!(owner_of(Some("made by hand")), Owner::Unowned);
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
