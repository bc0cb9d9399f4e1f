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

/// A field node's clause slot, or [`NO_CLAUSE`] for every other node.
pub(crate) const NO_CLAUSE: u32 = u32::MAX;

/// A node's structure with its children replaced by their classes: tag and up to five words.
type Key = [u64; 6];

/// Tags of [`Key`]s; 0 is a node compared with nothing else.
const OWN: u64 = 0;
const FIELD: u64 = 100;

/// The clause slot of every node (parallel to `pool.nodes`) and the number of slots.
///
/// One pass in index order: a validated pool's children come before their parents, so every
/// child's class is known when its parent is keyed. Nothing is allocated per node but the map's
/// own entries.
pub(crate) fn clause_slots(pool: &Pool) -> (Vec<u32>, usize) {
    let sets = set_classes(pool);
    let mut classes: BTreeMap<Key, u64> = BTreeMap::new();
    let mut class: Vec<u64> = Vec::with_capacity(pool.nodes.len());
    let mut clauses: BTreeMap<u64, u32> = BTreeMap::new();
    let mut slots = Vec::with_capacity(pool.nodes.len());
    for (i, node) in pool.nodes.iter().enumerate() {
        let key = key_of(pool, &sets, &class, i, node);
        let next = classes.len() as u64;
        let c = *classes.entry(key).or_insert(next);
        class.push(c);
        slots.push(match node {
            Node::Field { .. } => {
                let next = u32::try_from(clauses.len()).unwrap_or(NO_CLAUSE);
                *clauses.entry(c).or_insert(next)
            }
            _ => NO_CLAUSE,
        });
    }
    (slots, clauses.len())
}

/// Each value set's class: the index of the first set with the same content.
fn set_classes(pool: &Pool) -> Vec<u64> {
    type Content<'p> = (Vec<&'p str>, Vec<u64>, [bool; 4]);
    let mut first: BTreeMap<Content<'_>, u64> = BTreeMap::new();
    pool.sets
        .iter()
        .enumerate()
        .map(|(i, set)| {
            let content = (
                set.strings.iter().map(String::as_str).collect(),
                set.numbers.iter().map(|x| x.to_bits()).collect(),
                [set.has_true, set.has_false, set.has_null, set.folded],
            );
            *first.entry(content).or_insert(i as u64)
        })
        .collect()
}

/// Node `i`'s key. A node this module does not compare, one with more than four children, or one
/// whose child comes later (whose class is not known yet: never in a validated pool) gets a key
/// of its own.
fn key_of(pool: &Pool, sets: &[u64], class: &[u64], i: usize, node: &Node) -> Key {
    let own = [OWN, i as u64, 0, 0, 0, 0];
    let of = |child: u32| class.get(child as usize).copied();
    let list = |span: Span| span_range(span).and_then(|r| pool.lists.get(r));
    let spanned = |tag: u64, span: Span| -> Option<Key> {
        match list(span)? {
            [] => Some([tag, 0, 0, 0, 0, 0]),
            [a] => Some([tag, 1, of(*a)?, 0, 0, 0]),
            [a, b] => Some([tag, 2, of(*a)?, of(*b)?, 0, 0]),
            [a, b, c] => Some([tag, 3, of(*a)?, of(*b)?, of(*c)?, 0]),
            [a, b, c, d] => Some([tag, 4, of(*a)?, of(*b)?, of(*c)?, of(*d)?]),
            _ => None,
        }
    };
    let key = match *node {
        Node::Const(b) => Some([1, u64::from(b), 0, 0, 0, 0]),
        Node::AllOps(span) => spanned(2, span),
        Node::NotValue(c) => of(c).map(|c| [3, c, 0, 0, 0, 0]),
        Node::LooseStr { text, number } => {
            Some([4, u64::from(text), u64::from(number.is_some()), number.map_or(0, f64::to_bits), 0, 0])
        }
        Node::LooseStrFolded(text) => Some([5, u64::from(text), 0, 0, 0, 0]),
        Node::LooseNum(x) => Some([6, x.to_bits(), 0, 0, 0, 0]),
        Node::Truthy(b) => Some([7, u64::from(b), 0, 0, 0, 0]),
        Node::IsNull => Some([8, 0, 0, 0, 0, 0]),
        Node::StrictEq(scalar) => Some(match scalar {
            Scalar::Str(s) => [9, 0, u64::from(s), 0, 0, 0],
            Scalar::Num(x) => [9, 1, x.to_bits(), 0, 0, 0],
            Scalar::Bool(b) => [9, 2, u64::from(b), 0, 0, 0],
        }),
        Node::Compare { op, rhs } => Some(match rhs {
            CmpRhs::Num(x) => [10, op as u64, 0, x.to_bits(), 0, 0],
            CmpRhs::Str { text, number } => [10, op as u64, 1, u64::from(text), number.to_bits(), 0],
        }),
        Node::In(set) => sets.get(set as usize).map(|&class| [11, class, 0, 0, 0, 0]),
        Node::Regex(pattern) => Some([12, u64::from(pattern), 0, 0, 0, 0]),
        Node::Version { op, rhs } => Some([13, op as u64, u64::from(rhs), 0, 0, 0]),
        Node::VersionEq(rhs) => Some([14, u64::from(rhs), 0, 0, 0, 0]),
        Node::Type(t) => Some([15, t as u64, 0, 0, 0, 0]),
        Node::Size(c) => of(c).map(|c| [16, c, 0, 0, 0, 0]),
        Node::AllMatch(span) => spanned(17, span),
        Node::ElemMatchValue(c) => of(c).map(|c| [18, c, 0, 0, 0, 0]),
        Node::Field { path, test } => of(test).map(|t| [FIELD, u64::from(path), t, 0, 0, 0]),
        // Documents are not shared (their fields are); literals are compared deeply.
        Node::And(_) | Node::Or(_) | Node::Not(_) | Node::DeepEq(_) | Node::ElemMatchDoc(_) => None,
    };
    key.unwrap_or(own)
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
