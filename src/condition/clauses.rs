//! Shared clauses: which field tests of a pool are the same test, so that a decision evaluates
//! each distinct clause at most once.
//!
//! A catalogue repeats itself: `{"in_arrears": {"$ne": true}}` or `{"age": {"$gte": 18}}` stand
//! in the conditions of hundreds of propositions. When a pool is loaded every field node
//! (`Node::Field`, one attribute path and its value test) gets a clause slot; field nodes that
//! read the same path with a structurally equal test share one. A [`Session`](super::Session)
//! remembers each slot's result for the rest of the decision.
//!
//! Equal means equal after interning: paths, strings and patterns are interned by the compiler,
//! value sets are compared by content, numbers by their bits. A test this module cannot compare
//! (a literal compared deeply, a `$elemMatch` over documents) gets a slot of its own: it is still
//! evaluated once per decision, just not shared.

use std::collections::BTreeMap;

use super::ir::{span_range, CmpRhs, Node, Pool, Scalar, Span};
use super::MAX_IR_DEPTH;

/// A field node's clause slot, or [`NO_CLAUSE`] for every other node.
pub(crate) const NO_CLAUSE: u32 = u32::MAX;

/// The clause slot of every node (parallel to `pool.nodes`) and the number of slots.
pub(crate) fn clause_slots(pool: &Pool) -> (Vec<u32>, usize) {
    let sets = set_classes(pool);
    let mut keys: BTreeMap<Vec<u64>, u32> = BTreeMap::new();
    let mut slots = Vec::with_capacity(pool.nodes.len());
    for (i, node) in pool.nodes.iter().enumerate() {
        let Node::Field { path, test } = *node else {
            slots.push(NO_CLAUSE);
            continue;
        };
        let mut key = vec![u64::from(path)];
        if !value_key(pool, &sets, test, &mut key, 0) {
            // Tag 0 cannot start a value key: this node's own slot.
            key = vec![u64::from(path), 0, i as u64];
        }
        let next = u32::try_from(keys.len()).unwrap_or(NO_CLAUSE);
        slots.push(*keys.entry(key).or_insert(next));
    }
    (slots, keys.len())
}

/// Each value set's class: the index of the first set with the same content.
fn set_classes(pool: &Pool) -> Vec<u64> {
    let mut first: BTreeMap<String, u64> = BTreeMap::new();
    pool.sets
        .iter()
        .enumerate()
        .map(|(i, set)| {
            // A set that cannot be written out is its own class.
            let content = serde_json::to_string(set).unwrap_or_else(|_| format!("#{i}"));
            *first.entry(content).or_insert(i as u64)
        })
        .collect()
}

/// Appends a prefix-free encoding of value node `node` to `key`; false when the node is one this
/// module does not compare.
fn value_key(pool: &Pool, sets: &[u64], node: u32, key: &mut Vec<u64>, depth: u32) -> bool {
    let Some(n) = pool.nodes.get(node as usize).filter(|_| depth <= MAX_IR_DEPTH) else {
        return false;
    };
    let list = |span: Span| span_range(span).and_then(|r| pool.lists.get(r)).unwrap_or(&[]);
    let all = |tag: u64, span: Span, key: &mut Vec<u64>| {
        key.extend([tag, u64::from(span.len)]);
        list(span).iter().all(|&c| value_key(pool, sets, c, key, depth + 1))
    };
    match *n {
        Node::Const(b) => key.extend([1, u64::from(b)]),
        Node::AllOps(span) => return all(2, span, key),
        Node::NotValue(c) => {
            key.push(3);
            return value_key(pool, sets, c, key, depth + 1);
        }
        Node::LooseStr { text, number } => key.extend([4, u64::from(text), u64::from(number.is_some()), number.map_or(0, f64::to_bits)]),
        Node::LooseStrFolded(text) => key.extend([5, u64::from(text)]),
        Node::LooseNum(x) => key.extend([6, x.to_bits()]),
        Node::Truthy(b) => key.extend([7, u64::from(b)]),
        Node::IsNull => key.push(8),
        Node::StrictEq(scalar) => {
            let (tag, payload) = match scalar {
                Scalar::Str(s) => (0, u64::from(s)),
                Scalar::Num(x) => (1, x.to_bits()),
                Scalar::Bool(b) => (2, u64::from(b)),
            };
            key.extend([9, tag, payload]);
        }
        Node::Compare { op, rhs } => {
            let (tag, a, b) = match rhs {
                CmpRhs::Num(x) => (0, x.to_bits(), 0),
                CmpRhs::Str { text, number } => (1, u64::from(text), number.to_bits()),
            };
            key.extend([10, op as u64, tag, a, b]);
        }
        Node::In(set) => match sets.get(set as usize) {
            Some(&class) => key.extend([11, class]),
            None => return false,
        },
        Node::Regex(pattern) => key.extend([12, u64::from(pattern)]),
        Node::Version { op, rhs } => key.extend([13, op as u64, u64::from(rhs)]),
        Node::VersionEq(rhs) => key.extend([14, u64::from(rhs)]),
        Node::Type(t) => key.extend([15, t as u64]),
        Node::Size(c) => {
            key.push(16);
            return value_key(pool, sets, c, key, depth + 1);
        }
        Node::AllMatch(span) => return all(17, span, key),
        Node::ElemMatchValue(c) => {
            key.push(18);
            return value_key(pool, sets, c, key, depth + 1);
        }
        Node::DeepEq(_) | Node::ElemMatchDoc(_) | Node::And(_) | Node::Or(_) | Node::Not(_) | Node::Field { .. } => return false,
    }
    true
}

#[cfg(all(test, feature = "compiler"))]
mod tests {
    use serde_json::{json, Map};

    use super::*;
    use crate::condition::{Compiler, Mode};

    #[test]
    fn equal_clauses_share_a_slot_and_others_do_not() {
        let mut c = Compiler::new(Mode::Strict, &Map::new());
        for condition in [
            json!({"age": {"$gte": 18}, "holdings": {"$in": ["savings", "mortgage"]}}),
            json!({"holdings": {"$in": ["mortgage", "savings"]}, "age": {"$gte": 18}}),
            json!({"age": {"$gte": 19}, "holdings": {"$in": ["savings"]}, "tags": {"$elemMatch": {"a": 1}}}),
            json!({"tags": {"$elemMatch": {"a": 1}}}),
        ] {
            c.compile(&condition, "test").unwrap();
        }
        let pool = c.finish();
        let (slots, count) = clause_slots(&pool);
        let fields: Vec<(u32, u32)> = pool
            .nodes
            .iter()
            .zip(&slots)
            .filter_map(|(n, &s)| match n {
                Node::Field { path, .. } => Some((*path, s)),
                _ => None,
            })
            .collect();
        // Shared: age ≥ 18 and holdings in {mortgage, savings} (each twice), and `a` = 1 inside
        // both $elemMatch documents (field nodes there have slots too; sessions never read
        // them). Each $elemMatch over documents has a slot of its own.
        let distinct: std::collections::BTreeSet<u32> = fields.iter().map(|&(_, s)| s).collect();
        assert_eq!(distinct.len(), count);
        assert_eq!(fields.len() - count, 3, "{fields:?} {:?}", pool.nodes);
        let tags: Vec<u32> = fields.iter().filter(|&&(p, _)| p == 3).map(|&(_, s)| s).collect();
        assert_ne!(tags.first(), tags.get(1));
        assert!(slots.iter().zip(&pool.nodes).all(|(&s, n)| (s == NO_CLAUSE) != matches!(n, Node::Field { .. })));
    }
}
