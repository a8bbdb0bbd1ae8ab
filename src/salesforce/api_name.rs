//! The Metadata API name rule: letters, digits and underscores, starting with a letter, at most 80
//! characters. Names are checked before they go into a request or a URL path, which also guards
//! the IdP metadata URL against path tricks.

use super::error::SalesforceError;

/// Whether `s` is a valid Metadata API name.
pub fn is_api_name(s: &str) -> bool {
    s.len() <= 80
        && s.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
        && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Refuses (kind `Invalid`) the first name that is not a valid Metadata API name.
pub fn check_api_names(names: &[&str]) -> Result<(), SalesforceError> {
    match names.iter().find(|n| !is_api_name(n)) {
        Some(bad) => Err(SalesforceError::Config {
            reason: format!("'{bad}' is not a valid Metadata API name"),
        }),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_names() {
        assert!(is_api_name("Voice_SSO"));
        assert!(!is_api_name("../x"));
        assert!(!is_api_name("1abc"));
        assert!(!is_api_name("a.b"));
    }
}
