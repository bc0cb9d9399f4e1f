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
//! value sets are compared by content, numbers by their bits. One operator on a field, or its
//! negation (`$ne`, `$nin`), is shared; a test with more children (several operators on one
//! field, `$elemMatch`, `$all`) or a literal compared deeply gets a slot of its own: it is still
//! evaluated once per decision, just not shared.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hash, Hasher};

use super::ir::{CmpRhs, Node, Pool, Scalar, ValueSet};

/// A field node's clause slot, or [`NO_CLAUSE`] for every other node.
pub(crate) const NO_CLAUSE: u32 = u32::MAX;

/// A field test: its tag, the path and up to four operands.
type Key = [u64; 6];

/// Keys are the engine's own numbers, not an attacker's choice of strings (a bundle is signed):
/// a plain multiplicative hash is enough and keeps a load of 10,000 propositions fast.
#[derive(Default)]
struct WordHasher(u64);

impl Hasher for WordHasher {
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            for (w, b) in word.iter_mut().zip(chunk) {
                *w = *b;
            }
            self.write_u64(u64::from_le_bytes(word));
        }
    }

    fn write_u64(&mut self, n: u64) {
        const K: u64 = 0x517c_c1b7_2722_0a95;
        self.0 = (self.0.rotate_left(5) ^ n).wrapping_mul(K);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

type KeyMap<V> = HashMap<Words, V, BuildHasherDefault<WordHasher>>;

/// A [`Key`] hashed word by word.
#[derive(PartialEq, Eq)]
struct Words(Key);

impl Hash for Words {
    fn hash<H: Hasher>(&self, state: &mut H) {
        for w in self.0 {
            state.write_u64(w);
        }
    }
}


/// The clause slot of every node (parallel to `pool.nodes`) and the number of slots.
///
/// Only field nodes are keyed, by their path and their test: one map entry per field node and
/// nothing else allocated per node, so that loading 10,000 propositions stays fast.
pub(crate) fn clause_slots(pool: &Pool) -> (Vec<u32>, usize) {
    let sets = set_classes(pool);
    let mut clauses: KeyMap<u32> = KeyMap::default();
    let mut own = 0usize;
    let slots = pool
        .nodes
        .iter()
        .map(|node| {
            let Node::Field { path, test } = *node else {
                return NO_CLAUSE;
            };
            let next = clauses.len() + own;
            let slot = match pool.nodes.get(test as usize).and_then(|t| test_key(pool, &sets, path, t)) {
                Some(key) => *clauses.entry(Words(key)).or_insert_with(|| u32::try_from(next).unwrap_or(NO_CLAUSE)),
                None => {
                    own += 1;
                    u32::try_from(next).unwrap_or(NO_CLAUSE)
                }
            };
            slot
        })
        .collect();
    (slots, clauses.len() + own)
}

/// Each value set's class: the index of the first set with the same content.
fn set_classes(pool: &Pool) -> Vec<u64> {
    let mut first: HashMap<SetContent<'_>, u64, BuildHasherDefault<WordHasher>> = HashMap::default();
    pool.sets.iter().enumerate().map(|(i, set)| *first.entry(SetContent(set)).or_insert(i as u64)).collect()
}

/// A value set compared by content (numbers by their bits), without copying it.
struct SetContent<'p>(&'p ValueSet);

impl SetContent<'_> {
    fn flags(&self) -> [bool; 4] {
        [self.0.has_true, self.0.has_false, self.0.has_null, self.0.folded]
    }
}

impl PartialEq for SetContent<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.0.strings == other.0.strings
            && self.0.numbers.len() == other.0.numbers.len()
            && self.0.numbers.iter().zip(&other.0.numbers).all(|(a, b)| a.to_bits() == b.to_bits())
            && self.flags() == other.flags()
    }
}

impl Eq for SetContent<'_> {}

impl Hash for SetContent<'_> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.0.strings.hash(state);
        for x in &self.0.numbers {
            state.write_u64(x.to_bits());
        }
        self.flags().hash(state);
    }
}

/// The key of a field test at `path`: the test's tag and operands. `None` for a test this
/// module does not compare (one with children, a literal compared deeply, `$elemMatch`): that
/// field gets a slot of its own.
fn test_key(pool: &Pool, sets: &[u64], path: u32, test: &Node) -> Option<Key> {
    if let Node::NotValue(inner) = *test {
        // `$ne` and `$nin`: the negated leaf, under a tag of its own.
        let mut key = leaf_key(sets, path, pool.nodes.get(inner as usize)?)?;
        key[0] |= NEGATED;
        return Some(key);
    }
    leaf_key(sets, path, test)
}

/// Set in a key's tag for a negated test.
const NEGATED: u64 = 0x100;

/// The key of a test without children.
fn leaf_key(sets: &[u64], path: u32, test: &Node) -> Option<Key> {
    let path = u64::from(path);
    Some(match *test {
        Node::Const(b) => [1, path, u64::from(b), 0, 0, 0],
        Node::LooseStr { text, number } => [4, path, u64::from(text), u64::from(number.is_some()), number.map_or(0, f64::to_bits), 0],
        Node::LooseStrFolded(text) => [5, path, u64::from(text), 0, 0, 0],
        Node::LooseNum(x) => [6, path, x.to_bits(), 0, 0, 0],
        Node::Truthy(b) => [7, path, u64::from(b), 0, 0, 0],
        Node::IsNull => [8, path, 0, 0, 0, 0],
        Node::StrictEq(Scalar::Str(s)) => [9, path, 0, u64::from(s), 0, 0],
        Node::StrictEq(Scalar::Num(x)) => [9, path, 1, x.to_bits(), 0, 0],
        Node::StrictEq(Scalar::Bool(b)) => [9, path, 2, u64::from(b), 0, 0],
        Node::Compare { op, rhs: CmpRhs::Num(x) } => [10, path, op as u64, 0, x.to_bits(), 0],
        Node::Compare { op, rhs: CmpRhs::Str { text, number } } => [10, path, op as u64, 1, u64::from(text), number.to_bits()],
        Node::In(set) => [11, path, *sets.get(set as usize)?, 0, 0, 0],
        Node::Regex(pattern) => [12, path, u64::from(pattern), 0, 0, 0],
        Node::Version { op, rhs } => [13, path, op as u64, u64::from(rhs), 0, 0],
        Node::VersionEq(rhs) => [14, path, u64::from(rhs), 0, 0, 0],
        Node::Type(t) => [15, path, t as u64, 0, 0, 0],
        _ => return None,
    })
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
            json!({"in_arrears": {"$ne": true}, "region": {"$nin": ["north"]}}),
            json!({"in_arrears": {"$ne": true}, "region": {"$nin": ["north"]}}),
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
        // Shared: age ≥ 18 and holdings in {mortgage, savings} (each twice), the $ne and $nin
        // clauses (each twice), and `a` = 1 inside
        // both $elemMatch documents (field nodes there have slots too; sessions never read
        // them). Each $elemMatch over documents has a slot of its own.
        let distinct: std::collections::BTreeSet<u32> = fields.iter().map(|&(_, s)| s).collect();
        assert_eq!(distinct.len(), count);
        assert_eq!(fields.len() - count, 5, "{fields:?} {:?}", pool.nodes);
        let tags: Vec<u32> = fields.iter().filter(|&&(p, _)| p == 3).map(|&(_, s)| s).collect();
        assert_ne!(tags.first(), tags.get(1));
        assert!(slots.iter().zip(&pool.nodes).all(|(&s, n)| (s == NO_CLAUSE) != matches!(n, Node::Field { .. })));
    }
}
