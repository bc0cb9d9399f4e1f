//! Evaluating prepared conditions.
//!
//! Two mutually recursive walkers: [`Prepared::doc`] evaluates document nodes against a set of
//! attributes, [`Prepared::value`] evaluates value nodes against one attribute value. Recursion
//! depth is bounded by [`MAX_IR_DEPTH`](super::MAX_IR_DEPTH), checked at load. Every table
//! access is checked (`get`), so even a pool that somehow escaped validation cannot panic: a
//! missing entry makes the node false.
//!
//! The usual paths do not allocate: strings, numbers, sets, literal patterns and versions are
//! compared in place. JavaScript coercions of unusual values (a number matched by a regex, an
//! array compared with a string) build the string they need.

use std::cell::Cell;
use std::cmp::Ordering;

use serde_json::Value;

use super::ir::{span_range, CmpRhs, JsType, JsonNode, Node, RelOp, Scalar, Span, ValueSet};
use super::coerce::{self, Primitive};
use super::prepare::Prepared;
use super::version::{compare_padded, version_input};
use super::{Attributes, CondId};

/// What a missing attribute reads as.
static NULL: Value = Value::Null;

/// Path segments passed to [`Attributes::lookup`] from the stack; longer paths allocate.
const INLINE_SEGMENTS: usize = 8;

/// Where document nodes read their fields from.
trait Document {
    /// The value at interned path `path`.
    fn field(&self, prepared: &Prepared, path: u32) -> Option<&Value>;

    /// Where the result of field node `node` is remembered, if this document remembers.
    fn memo(&self, _prepared: &Prepared, _node: u32) -> Option<&Cell<u8>> {
        None
    }
}

/// A clause's memo: not evaluated yet, true, false.
const UNKNOWN: u8 = 0;
const TRUE: u8 = 1;
const FALSE: u8 = 2;

/// Straight from [`Attributes`] (and from array elements inside `$elemMatch`).
struct Direct<'a, A: ?Sized>(&'a A);

impl<A: Attributes + ?Sized> Document for Direct<'_, A> {
    fn field(&self, prepared: &Prepared, path: u32) -> Option<&Value> {
        prepared.lookup(self.0, path)
    }
}

/// Evaluates many conditions against the same attributes, looking each attribute path up only
/// once and evaluating each distinct clause (see [`super::clauses`]) only once. Made by
/// [`Prepared::session`]; one per decision.
pub struct Session<'a, A: ?Sized> {
    prepared: &'a Prepared,
    attrs: &'a A,
    /// Per interned path: `None` until looked up, then what the lookup gave.
    fields: Vec<Cell<Option<Option<&'a Value>>>>,
    /// Per clause slot: [`UNKNOWN`], [`TRUE`] or [`FALSE`].
    clauses: Vec<Cell<u8>>,
}

impl<'a, A: Attributes + ?Sized> Session<'a, A> {
    /// Evaluates condition `id`, as [`Prepared::eval`] does. An unknown id is false.
    pub fn eval(&self, id: CondId) -> bool {
        match self.prepared.pool.roots.get(id.0 as usize) {
            Some(&root) => self.prepared.doc(root, self),
            None => false,
        }
    }
}

impl<A: Attributes + ?Sized> Document for Session<'_, A> {
    fn field(&self, prepared: &Prepared, path: u32) -> Option<&Value> {
        let Some(slot) = self.fields.get(path as usize) else {
            return prepared.lookup(self.attrs, path);
        };
        if let Some(known) = slot.get() {
            return known;
        }
        let found = prepared.lookup(self.attrs, path);
        slot.set(Some(found));
        found
    }

    fn memo(&self, prepared: &Prepared, node: u32) -> Option<&Cell<u8>> {
        let slot = prepared.clause_slots.get(node as usize)?;
        self.clauses.get(*slot as usize)
    }
}

impl Prepared {
    /// Evaluates condition `id` against the attributes. An unknown id is false.
    pub fn eval<A: Attributes + ?Sized>(&self, id: CondId, attrs: &A) -> bool {
        match self.pool.roots.get(id.0 as usize) {
            Some(&root) => self.doc(root, &Direct(attrs)),
            None => false,
        }
    }

    /// A session for evaluating many conditions against the same attributes (one decision):
    /// each attribute path is looked up once, on first use, and each distinct clause evaluated
    /// once. Allocates one slot per interned path and one byte per distinct clause of the pool.
    pub fn session<'a, A: Attributes + ?Sized>(&'a self, attrs: &'a A) -> Session<'a, A> {
        Session {
            prepared: self,
            attrs,
            fields: vec![Cell::new(None); self.pool.paths.len()],
            clauses: vec![Cell::new(UNKNOWN); self.clause_count],
        }
    }

    /// The number of conditions.
    pub fn len(&self) -> usize {
        self.pool.roots.len()
    }

    /// Whether there is no condition.
    pub fn is_empty(&self) -> bool {
        self.pool.roots.is_empty()
    }

    fn list(&self, span: Span) -> &[u32] {
        span_range(span).and_then(|r| self.pool.lists.get(r)).unwrap_or(&[])
    }

    fn string(&self, id: u32) -> &str {
        self.pool.strings.get(id as usize).map_or("", String::as_str)
    }

    /// Evaluates a document node.
    fn doc<D: Document + ?Sized>(&self, node: u32, attrs: &D) -> bool {
        let Some(n) = self.pool.nodes.get(node as usize) else {
            return false;
        };
        match *n {
            Node::Const(b) => b,
            Node::And(span) => self.list(span).iter().all(|&c| self.doc(c, attrs)),
            Node::Or(span) => {
                let children = self.list(span);
                children.is_empty() || children.iter().any(|&c| self.doc(c, attrs))
            }
            Node::Not(c) => !self.doc(c, attrs),
            Node::Field { path, test } => {
                let memo = attrs.memo(self, node);
                match memo.map(Cell::get) {
                    Some(TRUE) => return true,
                    Some(FALSE) => return false,
                    _ => {}
                }
                let value = attrs.field(self, path).unwrap_or(&NULL);
                let result = self.value(test, value);
                if let Some(cell) = memo {
                    cell.set(if result { TRUE } else { FALSE });
                }
                result
            }
            _ => false,
        }
    }

    fn lookup<'a, A: Attributes + ?Sized>(&self, attrs: &'a A, path: u32) -> Option<&'a Value> {
        let segments = self.pool.paths.get(path as usize)?;
        if segments.len() <= INLINE_SEGMENTS {
            let mut buf: [&str; INLINE_SEGMENTS] = [""; INLINE_SEGMENTS];
            for (slot, s) in buf.iter_mut().zip(segments) {
                *slot = s;
            }
            attrs.lookup(buf.get(..segments.len())?)
        } else {
            let owned: Vec<&str> = segments.iter().map(String::as_str).collect();
            attrs.lookup(&owned)
        }
    }

    /// Evaluates a value node against `v` (`null` for a missing attribute).
    fn value(&self, node: u32, v: &Value) -> bool {
        let Some(n) = self.pool.nodes.get(node as usize) else {
            return false;
        };
        match *n {
            Node::Const(b) => b,
            Node::AllOps(span) => self.list(span).iter().all(|&c| self.value(c, v)),
            Node::NotValue(c) => !self.value(c, v),
            Node::LooseStr { text, number } => loose_str_eq(v, self.string(text), number),
            Node::LooseStrFolded(text) => folded_str_eq(v, self.string(text)),
            Node::LooseNum(x) => coerce::to_number(v) == x,
            Node::Truthy(b) => !v.is_null() && coerce::truthy(v) == b,
            Node::IsNull => v.is_null(),
            Node::DeepEq(literal) => self.deep_eq(literal, v),
            Node::StrictEq(scalar) => self.strict_eq(scalar, v),
            Node::Compare { op, rhs } => self.compare(op, rhs, v),
            Node::In(set) => self.pool.sets.get(set as usize).is_some_and(|s| set_contains(s, v)),
            Node::AllMatch(span) => match v {
                Value::Array(items) => {
                    self.list(span).iter().all(|&c| items.iter().any(|item| self.value(c, item)))
                }
                _ => false,
            },
            Node::ElemMatchValue(c) => match v {
                Value::Array(items) => {
                    items.iter().any(|item| !item.is_null() && self.value(c, item))
                }
                _ => false,
            },
            Node::ElemMatchDoc(c) => match v {
                Value::Array(items) => {
                    items.iter().any(|item| !item.is_null() && self.doc(c, &Direct(item)))
                }
                _ => false,
            },
            Node::Size(c) => match v {
                Value::Array(items) => self.value(c, &Value::from(items.len())),
                _ => false,
            },
            Node::Type(t) => js_type(v) == t,
            Node::Regex(pattern) => match self.matchers.get(pattern as usize) {
                Some(m) => m.is_match(&coerce::to_js_string(v)),
                None => false,
            },
            Node::Version { op, rhs } => {
                op.holds(compare_padded(&version_input(v), self.string(rhs)))
            }
            Node::VersionEq(rhs) => {
                compare_padded(&version_input(v), self.string(rhs)) == Ordering::Equal
            }
            Node::And(_) | Node::Or(_) | Node::Not(_) | Node::Field { .. } => false,
        }
    }

    /// `value === scalar`.
    fn strict_eq(&self, scalar: Scalar, v: &Value) -> bool {
        match (scalar, v) {
            (Scalar::Str(text), Value::String(s)) => s == self.string(text),
            (Scalar::Num(x), Value::Number(n)) => coerce::number_of(n) == x,
            (Scalar::Bool(b), Value::Bool(actual)) => b == *actual,
            _ => false,
        }
    }

    /// `value < rhs` and friends, JavaScript style: two strings compare as strings, anything
    /// else as numbers (NaN compares false).
    fn compare(&self, op: RelOp, rhs: CmpRhs, v: &Value) -> bool {
        match rhs {
            CmpRhs::Num(b) => op.holds_f64(coerce::to_number(v), b),
            CmpRhs::Str { text, number } => match coerce::to_primitive(v) {
                Primitive::Str(a) => op.holds(coerce::cmp_js_strings(&a, self.string(text))),
                Primitive::Num(a) => op.holds_f64(a, number),
            },
        }
    }

    /// `JSON.stringify(value) === JSON.stringify(literal)` (object key order aside).
    fn deep_eq(&self, literal: u32, v: &Value) -> bool {
        let Some(node) = self.pool.json.get(literal as usize) else {
            return false;
        };
        match (node, v) {
            (JsonNode::Null, Value::Null) => true,
            (JsonNode::Bool(b), Value::Bool(actual)) => b == actual,
            (JsonNode::Num(x), Value::Number(n)) => coerce::number_of(n) == *x,
            (JsonNode::Str(text), Value::String(s)) => s == self.string(*text),
            (JsonNode::Array(span), Value::Array(items)) => {
                let expected = self.json_items(*span, 1);
                expected.len() == items.len()
                    && expected.iter().zip(items).all(|(&e, item)| self.deep_eq(e, item))
            }
            (JsonNode::Object(span), Value::Object(map)) => {
                let expected = self.json_items(*span, 2);
                expected.len() == map.len() * 2
                    && expected.chunks(2).all(|pair| match *pair {
                        [key, value] => map
                            .get(self.string(key))
                            .is_some_and(|actual| self.deep_eq(value, actual)),
                        _ => false,
                    })
            }
            _ => false,
        }
    }

    fn json_items(&self, span: Span, width: u32) -> &[u32] {
        span.len
            .checked_mul(width)
            .and_then(|len| span_range(Span { start: span.start, len }))
            .and_then(|r| self.pool.json_items.get(r))
            .unwrap_or(&[])
    }
}

impl RelOp {
    fn holds(self, order: Ordering) -> bool {
        match self {
            RelOp::Lt => order == Ordering::Less,
            RelOp::Lte => order != Ordering::Greater,
            RelOp::Gt => order == Ordering::Greater,
            RelOp::Gte => order != Ordering::Less,
        }
    }

    fn holds_f64(self, a: f64, b: f64) -> bool {
        match self {
            RelOp::Lt => a < b,
            RelOp::Lte => a <= b,
            RelOp::Gt => a > b,
            RelOp::Gte => a >= b,
        }
    }
}

/// `value + "" === text`; `number` is the number whose string form is `text`, if any.
fn loose_str_eq(v: &Value, text: &str, number: Option<f64>) -> bool {
    match v {
        Value::String(s) => s == text,
        Value::Number(n) => number.is_some_and(|x| coerce::number_of(n) == x),
        Value::Null => text == "null",
        Value::Bool(b) => text == if *b { "true" } else { "false" },
        Value::Object(_) => text == "[object Object]",
        Value::Array(_) => coerce::to_js_string(v) == text,
    }
}

/// `String(value).toLowerCase() === text`, `text` already lower case.
fn folded_str_eq(v: &Value, text: &str) -> bool {
    let s = coerce::to_js_string(v);
    if s.is_ascii() {
        s.len() == text.len()
            && s.bytes().zip(text.bytes()).all(|(a, b)| a.to_ascii_lowercase() == b)
    } else {
        s.to_lowercase() == text
    }
}

/// GrowthBook's `isIn`: an array value intersects the set, any other value is a member.
fn set_contains(set: &ValueSet, v: &Value) -> bool {
    match v {
        Value::Array(items) => items.iter().any(|item| set_has(set, item)),
        _ => set_has(set, v),
    }
}

/// `set.includes(value)` (SameValueZero), after lower-casing strings in a folded set.
fn set_has(set: &ValueSet, v: &Value) -> bool {
    match v {
        Value::String(s) if set.folded => has_folded(&set.strings, s),
        Value::String(s) => set.strings.binary_search_by(|probe| probe.as_str().cmp(s)).is_ok(),
        Value::Number(n) => {
            let x = coerce::number_of(n) + 0.0; // -0 → 0
            set.numbers.binary_search_by(|probe| probe.total_cmp(&x)).is_ok()
        }
        Value::Bool(true) => set.has_true,
        Value::Bool(false) => set.has_false,
        Value::Null => set.has_null,
        Value::Array(_) | Value::Object(_) => false,
    }
}

/// Binary search for the lower case of `s` among lower case `strings`.
fn has_folded(strings: &[String], s: &str) -> bool {
    if s.is_ascii() {
        strings
            .binary_search_by(|probe| probe.bytes().cmp(s.bytes().map(|b| b.to_ascii_lowercase())))
            .is_ok()
    } else {
        let lower = s.to_lowercase();
        strings.binary_search(&lower).is_ok()
    }
}

/// GrowthBook's `getType`.
fn js_type(v: &Value) -> JsType {
    match v {
        Value::Null => JsType::Null,
        Value::Bool(_) => JsType::Boolean,
        Value::Number(_) => JsType::Number,
        Value::String(_) => JsType::String,
        Value::Array(_) => JsType::Array,
        Value::Object(_) => JsType::Object,
    }
}
