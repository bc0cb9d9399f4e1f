//! The intermediate representation of compiled conditions: the [`Pool`].
//!
//! A pool holds every condition of one bundle as a flat arena of [`Node`]s plus the tables the
//! nodes point into (interned attribute paths, strings, value sets, patterns, literal JSON).
//! Indices are `u32`. The compiler only ever refers from a node to nodes with a *smaller* index
//! and never shares a node between two parents, so a pool is a forest whose depth and size
//! [`Pool::prepare`](crate::condition::Pool::prepare) can check in one forward pass.
//!
//! The pool is serialised with postcard inside the signed bundle: no `usize`, no
//! `serde_json::Value`, no self-describing serde attributes. Changing the order of enum variants
//! or fields changes the bundle format.
//!
//! Nodes come in two kinds. *Document* nodes ([`Node::And`], [`Node::Or`], [`Node::Not`],
//! [`Node::Field`]) are evaluated against a set of attributes (or, inside `$elemMatch`, against
//! one array element). *Value* nodes are evaluated against one attribute value. [`Node::Const`]
//! is both.

use serde::{Deserialize, Serialize};

use super::nfa::Nfa;
use crate::limits::{self, MAX_BUNDLE_BYTES};

/// Most entries of any one table of a pool, and of one value set or path. What bounds a pool's
/// memory is the decode budget of [`limits`]; this only refuses absurd counts early.
pub(crate) const MAX_POOL_ITEMS: usize = super::MAX_POOL_NODES as usize;
/// Longest string of a pool. Strings are bounded by the bundle's size and the decode budget.
const MAX_POOL_STRING: usize = MAX_BUNDLE_BYTES;

/// All compiled conditions of one bundle. Build one with
/// [`Compiler`](crate::condition::Compiler), load one with
/// [`Pool::prepare`](crate::condition::Pool::prepare).
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Default)]
pub struct Pool {
    /// Root node of each condition, indexed by [`CondId`](crate::condition::CondId).
    #[serde(deserialize_with = "limits::seq::<MAX_POOL_ITEMS, _, _>")]
    pub(crate) roots: Vec<u32>,
    /// The condition nodes; children always have a smaller index than their parent.
    #[serde(deserialize_with = "limits::seq::<MAX_POOL_ITEMS, _, _>")]
    pub(crate) nodes: Vec<Node>,
    /// Child lists of `And`, `Or`, `AllOps` and `AllMatch` nodes, addressed by [`Span`].
    #[serde(deserialize_with = "limits::seq::<MAX_POOL_ITEMS, _, _>")]
    pub(crate) lists: Vec<u32>,
    /// Interned attribute paths, already split on dots.
    #[serde(deserialize_with = "limits::nested_strings::<MAX_POOL_ITEMS, MAX_POOL_ITEMS, MAX_POOL_STRING, _>")]
    pub(crate) paths: Vec<Vec<String>>,
    /// Interned string constants.
    #[serde(deserialize_with = "limits::strings::<MAX_POOL_ITEMS, MAX_POOL_STRING, _>")]
    pub(crate) strings: Vec<String>,
    /// Value sets of `$in`, `$nin`, `$ini`, `$nini`, `$inGroup`, `$notInGroup`.
    #[serde(deserialize_with = "limits::seq::<MAX_POOL_ITEMS, _, _>")]
    pub(crate) sets: Vec<ValueSet>,
    /// Pattern of `$regex` and friends: a plain literal or a regex-lite expression.
    #[serde(deserialize_with = "limits::seq::<MAX_POOL_ITEMS, _, _>")]
    pub(crate) patterns: Vec<Pattern>,
    /// Literal JSON values compared by plain equality (`{"tags": ["a", "b"]}`).
    #[serde(deserialize_with = "limits::seq::<MAX_POOL_ITEMS, _, _>")]
    pub(crate) json: Vec<JsonNode>,
    /// Children of literal arrays (node ids) and objects (key string id, node id pairs).
    #[serde(deserialize_with = "limits::seq::<MAX_POOL_ITEMS, _, _>")]
    pub(crate) json_items: Vec<u32>,
}

impl Pool {
    /// The number of conditions in the pool.
    pub fn len(&self) -> usize {
        self.roots.len()
    }

    /// Whether the pool holds no condition.
    pub fn is_empty(&self) -> bool {
        self.roots.is_empty()
    }
}

/// A run of entries in [`Pool::lists`] or [`Pool::json_items`].
#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Span {
    pub start: u32,
    pub len: u32,
}

/// One condition node. Field comments give the GrowthBook construct each variant implements.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub(crate) enum Node {
    /// Always true or always false (empty condition; invalid clause in lenient mode).
    Const(bool),

    // ---- document nodes
    /// All children hold (the keys of one condition object, `$and`).
    And(Span),
    /// Some child holds, or there are no children (`$or`; `$nor` is `Not(Or)`).
    Or(Span),
    /// The child does not hold (`$not` on a condition).
    Not(u32),
    /// The value at `path` passes the value node `test` (`{"path": test}`).
    Field { path: u32, test: u32 },

    // ---- value nodes
    /// Every child holds (an object of operators).
    AllOps(Span),
    /// The child does not hold (`$not` on a value, `$nin`, `$ne`, `$notRegex`, ...).
    NotValue(u32),
    /// `value + "" === text`; `number` is the number whose JavaScript string is `text`, if any.
    LooseStr { text: u32, number: Option<f64> },
    /// `String(value).toLowerCase() === text` (`$alli` items); `text` is already lower case.
    LooseStrFolded(u32),
    /// `value * 1 === number`.
    LooseNum(f64),
    /// `value !== null && !!value === expected`.
    Truthy(bool),
    /// `value === null`, where a missing attribute is `null` (`null`, `$exists: false`).
    IsNull,
    /// `JSON.stringify(value) === JSON.stringify(literal)`.
    DeepEq(u32),
    /// `value === scalar` (`$eq`).
    StrictEq(Scalar),
    /// `value < rhs` and friends, with JavaScript's coercions.
    Compare { op: RelOp, rhs: CmpRhs },
    /// The value, or some element of an array value, is in the set (`$in`, `$inGroup`, ...).
    In(u32),
    /// The value is an array and every child matches some element (`$all`, `$alli`).
    AllMatch(Span),
    /// The value is an array with a non-null element passing the value node (`$elemMatch`).
    ElemMatchValue(u32),
    /// The value is an array with a non-null element passing the document node.
    ElemMatchDoc(u32),
    /// The value is an array whose length passes the value node (`$size`).
    Size(u32),
    /// `$type`.
    Type(JsType),
    /// The value, as a JavaScript string, matches the pattern (`$regex`, `$regexi`).
    Regex(u32),
    /// Padded version comparison against the already padded string `rhs` (`$vgt`, ...).
    Version { op: RelOp, rhs: u32 },
    /// Padded version equality (`$veq`; `$vne` is its negation).
    VersionEq(u32),
}

/// A scalar operand of `$eq` / `$ne` (`null` compiles to [`Node::IsNull`]).
#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq)]
pub(crate) enum Scalar {
    Str(u32),
    Num(f64),
    Bool(bool),
}

/// A relational operator.
#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RelOp {
    Lt,
    Lte,
    Gt,
    Gte,
}

/// The right-hand side of `$lt` and friends after JavaScript's `ToPrimitive`.
#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq)]
pub(crate) enum CmpRhs {
    /// Compared as a number (numbers, booleans, `null`).
    Num(f64),
    /// A string: compared as a string with string values, else as `number` (its `ToNumber`).
    Str { text: u32, number: f64 },
}

/// A JavaScript type name as `$type` knows it.
#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum JsType {
    Null,
    Boolean,
    Number,
    String,
    Array,
    Object,
}

/// The members of an `$in`-style list, pre-typed. `strings` are sorted and unique (by byte
/// order), `numbers` sorted and unique, without NaN, and with `-0` stored as `0`.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Default)]
pub(crate) struct ValueSet {
    #[serde(deserialize_with = "limits::strings::<MAX_POOL_ITEMS, MAX_POOL_STRING, _>")]
    pub strings: Vec<String>,
    #[serde(deserialize_with = "limits::seq::<MAX_POOL_ITEMS, _, _>")]
    pub numbers: Vec<f64>,
    pub has_true: bool,
    pub has_false: bool,
    pub has_null: bool,
    /// Case-insensitive (`$ini`, `$nini`): `strings` are lower case and values are lowered.
    pub folded: bool,
}

/// How a pattern is matched.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub(crate) enum Pattern {
    /// A pattern that is only literal text and alternatives of literal text (`^/(a|b)/c`),
    /// matched without a regex engine: it matches when one of `texts` occurs where `anchor`
    /// says. With `fold`, ASCII letters match case-insensitively (as regex-lite's
    /// case-insensitive mode does).
    Literals {
        #[serde(deserialize_with = "limits::strings::<MAX_POOL_ITEMS, MAX_POOL_STRING, _>")]
        texts: Vec<String>,
        anchor: Anchor,
        fold: bool,
    },
    /// A regex-lite expression, already translated from JavaScript syntax. When `required` is
    /// not empty, every match contains one of its texts: they are checked before running the
    /// regex.
    Regex {
        #[serde(deserialize_with = "limits::string::<MAX_POOL_STRING, _>")]
        source: String,
        fold: bool,
        #[serde(deserialize_with = "limits::seq::<MAX_POOL_ITEMS, _, _>")]
        required: Vec<Required>,
    },
    /// A small pattern compiled to a position automaton (see `nfa.rs`), no regex engine.
    Automaton(Nfa),
}

/// Literal text a regex (or one of its alternatives) cannot match without.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub(crate) struct Required {
    #[serde(deserialize_with = "limits::string::<MAX_POOL_STRING, _>")]
    pub text: String,
    /// The text must start the haystack (the pattern starts with `^` and the text).
    pub at_start: bool,
}

/// Where a literal pattern must occur.
#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Anchor {
    /// Anywhere (`abc`).
    Anywhere,
    /// At the start (`^abc`).
    Start,
    /// At the end (`abc$`).
    End,
    /// The whole string (`^abc$`).
    Whole,
}

/// A node of a literal JSON value.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub(crate) enum JsonNode {
    Null,
    Bool(bool),
    Num(f64),
    Str(u32),
    /// Elements: `len` node ids in `json_items`.
    Array(Span),
    /// Members: `len` (key string id, node id) pairs, i.e. `2 * len` entries in `json_items`.
    Object(Span),
}

impl Node {
    /// Whether the node can be evaluated against a document (a set of attributes).
    pub(crate) fn is_doc(&self) -> bool {
        matches!(
            self,
            Node::Const(_) | Node::And(_) | Node::Or(_) | Node::Not(_) | Node::Field { .. }
        )
    }

    /// Whether the node can be evaluated against one value.
    pub(crate) fn is_value(&self) -> bool {
        matches!(self, Node::Const(_)) || !self.is_doc()
    }

    /// The child nodes and whether they must be document nodes (else value nodes).
    pub(crate) fn children(&self) -> Children {
        match *self {
            Node::And(span) | Node::Or(span) => Children::List(span, true),
            Node::AllOps(span) | Node::AllMatch(span) => Children::List(span, false),
            Node::Not(c) | Node::ElemMatchDoc(c) => Children::One(c, true),
            Node::Field { test, .. } => Children::One(test, false),
            Node::NotValue(c) | Node::ElemMatchValue(c) | Node::Size(c) => Children::One(c, false),
            _ => Children::None,
        }
    }
}

/// The children of a node, see [`Node::children`]. The `bool` is "must be a document node".
#[derive(Debug, Clone, Copy)]
pub(crate) enum Children {
    None,
    One(u32, bool),
    List(Span, bool),
}

/// `span` as a range of `usize` indices, if it does not overflow.
pub(crate) fn span_range(span: Span) -> Option<std::ops::Range<usize>> {
    let start = usize::try_from(span.start).ok()?;
    let end = start.checked_add(usize::try_from(span.len).ok()?)?;
    Some(start..end)
}
