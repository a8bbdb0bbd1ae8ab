//! [`SharedStr`]: status text that every cached resource holding the same text shares.
//!
//! Ten thousand apps' statuses repeat the same few condition types, reasons and messages, and
//! their org's IdP endpoints and certificate; held as `String`s, every copy is an allocation of its
//! own, and the statuses were half of what a cached app costs (BENCHMARKS.md, issue 21). A
//! `SharedStr` made from text already in use is another handle on the same allocation. On the wire
//! and in the CRD schema it is a plain string.

use std::borrow::{Borrow, Cow};
use std::collections::HashSet;
use std::fmt;
use std::ops::Deref;
use std::sync::Mutex;

use arcstr::ArcStr;

use schemars::JsonSchema;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// An immutable string, shared with every other `SharedStr` of the same text; 8 bytes (a thin
/// pointer), so a condition's four texts take 32.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SharedStr(ArcStr);

/// The texts in use. Texts nobody holds any more are dropped when the pool has doubled since the
/// last sweep, so the sweeps cost O(1) per new text and the pool stays within twice what is held.
struct Pool {
    texts: HashSet<ArcStr>,
    sweep_at: usize,
}

static POOL: Mutex<Option<Pool>> = Mutex::new(None);

/// The pool is never smaller than this before a sweep: small pools are not worth sweeping.
const MIN_SWEEP: usize = 1024;

impl SharedStr {
    /// The shared handle on `text`.
    pub fn new(text: &str) -> SharedStr {
        let mut guard = POOL.lock().unwrap_or_else(|e| e.into_inner());
        let pool = guard.get_or_insert_with(|| Pool {
            texts: HashSet::new(),
            sweep_at: MIN_SWEEP,
        });
        if let Some(shared) = pool.texts.get(text) {
            return SharedStr(shared.clone());
        }
        let shared = ArcStr::from(text);
        pool.texts.insert(shared.clone());
        if pool.texts.len() >= pool.sweep_at {
            // Held only by the pool: no `SharedStr` refers to it.
            pool.texts
                .retain(|t| ArcStr::strong_count(t).is_none_or(|n| n > 1));
            pool.sweep_at = (pool.texts.len() * 2).max(MIN_SWEEP);
        }
        SharedStr(shared)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Default for SharedStr {
    fn default() -> Self {
        SharedStr::new("")
    }
}

impl Deref for SharedStr {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl AsRef<str> for SharedStr {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl Borrow<str> for SharedStr {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for SharedStr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&*self.0, f)
    }
}

impl fmt::Debug for SharedStr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.0, f)
    }
}

impl From<&str> for SharedStr {
    fn from(s: &str) -> Self {
        SharedStr::new(s)
    }
}

impl From<&String> for SharedStr {
    fn from(s: &String) -> Self {
        SharedStr::new(s)
    }
}

impl From<String> for SharedStr {
    fn from(s: String) -> Self {
        SharedStr::new(&s)
    }
}

impl From<SharedStr> for String {
    fn from(s: SharedStr) -> Self {
        s.0.to_string()
    }
}

impl PartialEq<str> for SharedStr {
    fn eq(&self, other: &str) -> bool {
        &*self.0 == other
    }
}

impl PartialEq<&str> for SharedStr {
    fn eq(&self, other: &&str) -> bool {
        &*self.0 == *other
    }
}

impl PartialEq<String> for SharedStr {
    fn eq(&self, other: &String) -> bool {
        *self.0 == **other
    }
}

impl PartialEq<SharedStr> for str {
    fn eq(&self, other: &SharedStr) -> bool {
        self == &*other.0
    }
}

impl PartialEq<SharedStr> for &str {
    fn eq(&self, other: &SharedStr) -> bool {
        *self == &*other.0
    }
}

impl PartialEq<SharedStr> for String {
    fn eq(&self, other: &SharedStr) -> bool {
        **self == *other.0
    }
}

impl Serialize for SharedStr {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for SharedStr {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = SharedStr;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            // Borrowed where the input allows: no `String` is made only to be thrown away.
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<SharedStr, E> {
                Ok(SharedStr::new(v))
            }
        }
        d.deserialize_str(Visitor)
    }
}

impl JsonSchema for SharedStr {
    fn inline_schema() -> bool {
        true
    }
    fn schema_name() -> Cow<'static, str> {
        String::schema_name()
    }
    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        String::json_schema(generator)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_text_is_one_allocation() {
        let a = SharedStr::new("in sync with Salesforce; IdP metadata published");
        let b: SharedStr =
            serde_json::from_str("\"in sync with Salesforce; IdP metadata published\"").unwrap();
        assert!(ArcStr::ptr_eq(&a.0, &b.0));
        assert_eq!(b, "in sync with Salesforce; IdP metadata published");
        assert_eq!(
            serde_json::to_string(&b).unwrap(),
            "\"in sync with Salesforce; IdP metadata published\""
        );
    }

    #[test]
    fn texts_nobody_holds_are_swept() {
        let kept = SharedStr::new("shared-str-test kept");
        for i in 0..4 * MIN_SWEEP {
            drop(SharedStr::new(&format!("shared-str-test dropped {i}")));
        }
        let pool = POOL.lock().unwrap();
        let texts = &pool.as_ref().unwrap().texts;
        // Other tests use the pool at the same time, so only this test's texts are counted.
        let dropped = texts
            .iter()
            .filter(|t| t.starts_with("shared-str-test dropped"))
            .count();
        assert!(dropped < 2 * MIN_SWEEP, "{dropped} unheld texts kept");
        assert!(texts.contains("shared-str-test kept"));
        drop(kept);
    }
}
