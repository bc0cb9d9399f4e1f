//! GrowthBook-compatible targeting conditions.
//!
//! A targeting condition is a MongoDB-style JSON object, exactly as GrowthBook writes them:
//! `{"age": {"$gte": 18}, "segments": {"$in": ["young", "student"]}}`. This module
//!
//! * compiles conditions (feature `compiler`) into a compact, serialisable intermediate
//!   representation, the [`Pool`]: one pool per bundle, with attribute paths, strings, regular
//!   expressions, value sets and condition nodes each stored once;
//! * validates a pool once when a bundle is loaded ([`Pool::prepare`]) and compiles its regular
//!   expressions, giving a [`Prepared`] pool;
//! * evaluates a condition against a customer's [`Attributes`] without allocating on the usual
//!   paths ([`Prepared::eval`]), or many conditions against the same attributes with each
//!   attribute looked up once ([`Prepared::session`]);
//! * provides GrowthBook's hashing and bucketing functions ([`hash`](mod@hash)).
//!
//! Evaluation follows GrowthBook's JavaScript SDK, JavaScript quirks included (type coercions in
//! comparisons, `null` and missing attributes being the same, version strings compared after
//! padding). The conformance suite in `tests/conformance` pins the behaviour down.
//!
//! Two compile modes exist. [`Mode::Lenient`] accepts anything GrowthBook accepts: an unknown
//! operator, an invalid regular expression or an operand of the wrong type makes that clause
//! false, as in GrowthBook. [`Mode::Strict`], used for catalogues, rejects those with
//! [`Error::InvalidCondition`](crate::Error::InvalidCondition) naming the JSON path.

#[cfg(feature = "compiler")]
mod compile;
mod clauses;
mod eval;
pub mod hash;
mod ir;
mod coerce;
mod nfa;
mod prepare;
mod regex;
mod version;

#[cfg(all(test, feature = "compiler"))]
mod end_to_end;

#[cfg(feature = "compiler")]
pub use compile::Compiler;
pub use eval::Session;
pub use hash::{choose_variation, get_bucket_range, get_equal_weights, hash, in_namespace};
pub use ir::Pool;
pub use prepare::Prepared;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// How the compiler treats conditions that GrowthBook would silently evaluate to false.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Unknown operators, invalid regular expressions, wrong operand types and too deep nesting
    /// are errors naming the JSON path. For catalogues.
    Strict,
    /// Behaves as GrowthBook: such a clause evaluates to false (a condition nested too deeply
    /// evaluates to false as a whole). For GrowthBook payloads and the conformance suite.
    Lenient,
}

/// The id of one compiled condition within its [`Pool`].
#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
pub struct CondId(pub u32);

/// Deepest nesting of JSON objects and arrays in one condition (`{"a": 1}` is 1 deep,
/// `{"a": {"$in": [1]}}` is 3 deep). Deeper conditions are an error in strict mode and evaluate
/// to false in lenient mode.
pub const MAX_CONDITION_DEPTH: u32 = 32;

/// Deepest nesting of IR nodes that [`Pool::prepare`] accepts. A condition within
/// [`MAX_CONDITION_DEPTH`] needs at most two IR levels per JSON level plus a few at the leaves,
/// so the compiler never produces deeper IR.
pub const MAX_IR_DEPTH: u32 = 2 * MAX_CONDITION_DEPTH + 8;

/// Most nodes (condition nodes plus literal JSON nodes) one pool may hold.
pub const MAX_POOL_NODES: u32 = 1 << 20;

/// Longest regular expression (JavaScript source), in bytes; longer is an invalid pattern.
pub const MAX_REGEX_LEN: u32 = 4096;

/// What conditions read: the attributes of one customer and contact.
///
/// The decision engine implements this for a view that combines the customer's profile with the
/// contact's context (`context.page` and so on); the conformance tests use the implementation
/// for [`serde_json::Value`].
pub trait Attributes {
    /// The value at an attribute path, already split on dots (`"context.page"` arrives as
    /// `["context", "page"]`). `None` and `Some(&Value::Null)` mean the same: GrowthBook treats
    /// a missing attribute as `null`.
    ///
    /// Implementations follow GrowthBook's dotted-path semantics: walk objects by key and arrays
    /// by index (`"0"`, `"1"`, ...); any other step (into a string, a number, `null`, a missing
    /// key) ends in `None`. [`lookup_path`] does exactly that for one JSON value.
    fn lookup(&self, path: &[&str]) -> Option<&Value>;
}

impl Attributes for Value {
    fn lookup(&self, path: &[&str]) -> Option<&Value> {
        lookup_path(self, path)
    }
}

impl Attributes for Map<String, Value> {
    fn lookup(&self, path: &[&str]) -> Option<&Value> {
        let (first, rest) = path.split_first()?;
        lookup_path(self.get(*first)?, rest)
    }
}

impl<T: Attributes + ?Sized> Attributes for &T {
    fn lookup(&self, path: &[&str]) -> Option<&Value> {
        (**self).lookup(path)
    }
}

/// GrowthBook's dotted-path lookup within one JSON value: objects by key, arrays by canonical
/// index (`"0"`, `"12"`, not `"01"`), nothing else.
pub fn lookup_path<'v>(root: &'v Value, path: &[&str]) -> Option<&'v Value> {
    let mut current = root;
    for segment in path {
        current = match current {
            Value::Object(map) => map.get(*segment)?,
            Value::Array(items) => items.get(array_index(segment)?)?,
            _ => return None,
        };
    }
    Some(current)
}

/// A path segment as a JavaScript array index: digits without a leading zero (except `"0"`).
fn array_index(segment: &str) -> Option<usize> {
    let canonical = !segment.is_empty()
        && segment.bytes().all(|b| b.is_ascii_digit())
        && (segment == "0" || !segment.starts_with('0'));
    if canonical {
        segment.parse().ok()
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn lookup_walks_objects_and_arrays() {
        let v = json!({"a": {"b": [10, {"c": "x"}]}, "s": "str"});
        assert_eq!(v.lookup(&["a", "b", "0"]), Some(&json!(10)));
        assert_eq!(v.lookup(&["a", "b", "1", "c"]), Some(&json!("x")));
        assert_eq!(v.lookup(&["a", "b", "01"]), None);
        assert_eq!(v.lookup(&["a", "b", "2"]), None);
        assert_eq!(v.lookup(&["s", "0"]), None);
        assert_eq!(v.lookup(&["missing"]), None);
        let map = v.as_object().unwrap();
        assert_eq!(map.lookup(&["a", "b", "1", "c"]), Some(&json!("x")));
        assert_eq!(map.lookup(&[]), None);
    }
}
