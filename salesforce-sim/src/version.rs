//! The API versions the simulated org answers: 31.0 to 66.0, the current GA release
//! (Spring '26, salesforce-api.md §0).

/// Lowest and highest API versions (major) the org answers.
pub const MIN_VERSION: u32 = 31;
pub const MAX_VERSION: u32 = 66;

/// The major of an `NN.0` version string.
pub fn major(version: &str) -> Option<u32> {
    version.strip_suffix(".0")?.parse::<u32>().ok()
}

/// Whether the org answers API version `major`.
pub fn answered(major: u32) -> bool {
    (MIN_VERSION..=MAX_VERSION).contains(&major)
}
