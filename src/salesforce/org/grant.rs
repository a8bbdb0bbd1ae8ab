//! One access grant as a `SetupEntityAccess` query row gives it (see `setup_entity_access`).

/// One grant of access to an app.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessGrant {
    /// The `SetupEntityAccess` record id (`0J0...`).
    pub id: String,
    /// The profile's name (a profile grant) or the permission set's API name.
    pub name: String,
    pub by_profile: bool,
}

/// A Salesforce record id: 15 or 18 alphanumerics (never quoted into SOQL otherwise).
pub fn is_record_id(id: &str) -> bool {
    matches!(id.len(), 15 | 18) && id.chars().all(|c| c.is_ascii_alphanumeric())
}

/// The grant a query row describes (`None`: a row without `Id` or `Parent`).
pub fn grant_of(r: &serde_json::Value) -> Option<AccessGrant> {
    let parent = &r["Parent"];
    let by_profile = parent["IsOwnedByProfile"].as_bool().unwrap_or(false);
    let name = if by_profile {
        parent["Profile"]["Name"].as_str()
    } else {
        parent["Name"].as_str()
    }?;
    Some(AccessGrant {
        id: r["Id"].as_str()?.to_string(),
        name: name.to_string(),
        by_profile,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grants_read_profile_and_permission_set_rows() {
        let v: serde_json::Value = serde_json::json!({"records": [
            {"Id": "0J05g000000AAAAAAA", "Parent": {"Name": "X00e", "IsOwnedByProfile": true, "Profile": {"Name": "Agent"}}},
            {"Id": "0J05g000000AAAABBB", "Parent": {"Name": "Voice_Agent", "IsOwnedByProfile": false, "Profile": null}}
        ]});
        let g: Vec<AccessGrant> = v["records"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(grant_of)
            .collect();
        assert_eq!(g[0].name, "Agent");
        assert!(g[0].by_profile);
        assert_eq!(g[1].name, "Voice_Agent");
        assert!(is_record_id(&g[1].id));
        assert!(!is_record_id("0J0' OR Id != '"));
    }
}
