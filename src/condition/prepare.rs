//! Loading a [`Pool`]: validation and regex compilation, once per bundle.
//!
//! A pool comes out of a signed bundle, but it is still checked as if it were hostile, so that
//! evaluation can never index out of range, recurse without bound or run for exponential time:
//!
//! * every index (node, list span, path, string, set, pattern, literal) is in range;
//! * every child has a smaller index than its parent and has at most one parent, so the nodes
//!   form a forest (a node shared by two parents could double the work at every level);
//! * each child is of the kind its parent evaluates (document or value node), roots are
//!   document nodes;
//! * no node is nested deeper than [`MAX_IR_DEPTH`] and the pool holds at most
//!   [`MAX_POOL_NODES`] nodes;
//! * value sets are sorted and free of NaN (they are binary-searched);
//! * every pattern compiles (within regex-lite's size limit), every automaton is consistent.
//!
//! Anything else is [`Error::MalformedPayload`](crate::Error::MalformedPayload) (or
//! [`Error::TooLarge`](crate::Error::TooLarge) for the node limit).

use super::ir::{
    span_range, Children, CmpRhs, JsonNode, Node, Pattern, Pool, Scalar, Span, ValueSet,
};
use super::regex::Matcher;
use super::{MAX_IR_DEPTH, MAX_POOL_NODES};
use crate::{Error, Result};

/// A validated pool with its patterns compiled, ready to evaluate conditions
/// ([`Prepared::eval`]).
#[derive(Debug, Clone)]
pub struct Prepared {
    pub(crate) pool: Pool,
    pub(crate) matchers: Vec<Matcher>,
    /// Each node's clause slot (see [`super::clauses`]), parallel to `pool.nodes`.
    pub(crate) clause_slots: Vec<u32>,
    /// How many distinct clauses the pool holds.
    pub(crate) clause_count: usize,
}

impl Pool {
    /// Validates the IR (see the module documentation) and compiles every regular expression
    /// once. Called once per bundle load.
    pub fn prepare(&self) -> Result<Prepared> {
        self.clone().into_prepared()
    }

    /// As [`Pool::prepare`], without copying the pool.
    pub fn into_prepared(self) -> Result<Prepared> {
        let total_nodes = self.nodes.len().saturating_add(self.json.len());
        if total_nodes > MAX_POOL_NODES as usize {
            return Err(Error::too_large(
                "condition pool",
                MAX_POOL_NODES.into(),
                total_nodes as u64,
            ));
        }
        // What the validator and the matchers take, charged to the bundle's memory budget.
        // Per node: the validator's depth and parent mark, and its clause slot.
        let per_node = 2 * std::mem::size_of::<u32>() + std::mem::size_of::<bool>();
        crate::limits::charge_memory(
            total_nodes
                .saturating_mul(per_node)
                .saturating_add(self.patterns.len().saturating_mul(std::mem::size_of::<Matcher>())),
        )?;
        Validator::new(&self).run()?;
        let matchers = self
            .patterns
            .iter()
            .enumerate()
            .map(|(i, p)| prepare_pattern(i, p))
            .collect::<Result<Vec<_>>>()?;
        let (clause_slots, clause_count) = super::clauses::clause_slots(&self);
        Ok(Prepared { pool: self, matchers, clause_slots, clause_count })
    }
}

/// Compiles one pattern; regex-lite's size limit bounds its memory, which is charged to the
/// bundle's memory budget first.
fn prepare_pattern(index: usize, pattern: &Pattern) -> Result<Matcher> {
    if let Pattern::Regex { source, .. } = pattern {
        crate::limits::charge_memory(super::regex::regex_size_limit(source))?;
    }
    Matcher::new(pattern)
        .map_err(|e| Error::malformed(format!("condition pattern {index} does not compile: {e}")))
}

fn malformed(what: impl std::fmt::Display) -> Error {
    Error::malformed(format!("condition pool: {what}"))
}

/// One pass over a pool, checking everything the evaluator relies on.
struct Validator<'p> {
    pool: &'p Pool,
    /// Depth of each node (1 for leaves).
    depth: Vec<u32>,
    /// Whether each node already has a parent.
    has_parent: Vec<bool>,
    /// Total length of all spans into `lists`; more than `lists.len()` means spans overlap.
    list_entries: usize,
    json_depth: Vec<u32>,
    json_has_parent: Vec<bool>,
    json_entries: usize,
}

impl<'p> Validator<'p> {
    fn new(pool: &'p Pool) -> Self {
        Validator {
            pool,
            depth: Vec::with_capacity(pool.nodes.len()),
            has_parent: vec![false; pool.nodes.len()],
            list_entries: 0,
            json_depth: Vec::with_capacity(pool.json.len()),
            json_has_parent: vec![false; pool.json.len()],
            json_entries: 0,
        }
    }

    fn run(mut self) -> Result<()> {
        for (i, node) in self.pool.json.iter().enumerate() {
            let depth = self.check_json(i, node)?;
            self.json_depth.push(depth);
        }
        for set in &self.pool.sets {
            check_set(set)?;
        }
        for (i, node) in self.pool.nodes.iter().enumerate() {
            let depth = self.check_node(i, node)?;
            self.depth.push(depth);
        }
        for (i, &root) in self.pool.roots.iter().enumerate() {
            match self.pool.nodes.get(root as usize) {
                Some(node) if node.is_doc() => {}
                Some(_) => {
                    return Err(malformed(format!(
                        "condition {i} does not start with a condition node"
                    )))
                }
                None => {
                    return Err(malformed(format!("condition {i} points to missing node {root}")))
                }
            }
        }
        Ok(())
    }

    /// Checks one node; returns its depth.
    fn check_node(&mut self, index: usize, node: &Node) -> Result<u32> {
        self.check_operands(index, node)?;
        let child_depth = match node.children() {
            Children::None => 0,
            Children::One(child, doc) => self.adopt(index, child, doc)?,
            Children::List(span, doc) => {
                let range = self.list_range(index, span)?;
                let mut deepest = 0;
                for &child in self.pool.lists.get(range).unwrap_or(&[]) {
                    deepest = deepest.max(self.adopt(index, child, doc)?);
                }
                deepest
            }
        };
        let depth = child_depth + 1;
        if depth > MAX_IR_DEPTH {
            return Err(malformed(format!(
                "node {index} is nested deeper than {MAX_IR_DEPTH} levels"
            )));
        }
        Ok(depth)
    }

    /// Registers `child` as a child of `parent`; returns the child's depth.
    fn adopt(&mut self, parent: usize, child: u32, must_be_doc: bool) -> Result<u32> {
        let c = child as usize;
        if c >= parent {
            return Err(malformed(format!(
                "node {parent} refers to node {child}, which does not precede it"
            )));
        }
        let node =
            self.pool.nodes.get(c).ok_or_else(|| malformed(format!("missing node {child}")))?;
        let kind_ok = if must_be_doc { node.is_doc() } else { node.is_value() };
        if !kind_ok {
            return Err(malformed(format!(
                "node {parent} has a child of the wrong kind ({child})"
            )));
        }
        match self.has_parent.get_mut(c) {
            Some(seen) if !*seen => *seen = true,
            _ => return Err(malformed(format!("node {child} has more than one parent"))),
        }
        Ok(self.depth.get(c).copied().unwrap_or(MAX_IR_DEPTH))
    }

    fn list_range(&mut self, index: usize, span: Span) -> Result<std::ops::Range<usize>> {
        let range = span_range(span)
            .filter(|r| r.end <= self.pool.lists.len())
            .ok_or_else(|| malformed(format!("node {index} has a child list out of range")))?;
        self.list_entries = self.list_entries.saturating_add(range.len());
        if self.list_entries > self.pool.lists.len() {
            return Err(malformed("child lists overlap"));
        }
        Ok(range)
    }

    /// Checks the table indices a node holds (strings, paths, sets, patterns, literals).
    fn check_operands(&mut self, index: usize, node: &Node) -> Result<()> {
        let pool = self.pool;
        let ok = match *node {
            Node::Field { path, .. } => (path as usize) < pool.paths.len(),
            Node::LooseStr { text, .. } | Node::LooseStrFolded(text) => {
                (text as usize) < pool.strings.len()
            }
            Node::StrictEq(Scalar::Str(text)) => (text as usize) < pool.strings.len(),
            Node::Compare { rhs: CmpRhs::Str { text, .. }, .. } => {
                (text as usize) < pool.strings.len()
            }
            Node::Version { rhs, .. } | Node::VersionEq(rhs) => (rhs as usize) < pool.strings.len(),
            Node::In(set) => (set as usize) < pool.sets.len(),
            Node::Regex(pattern) => (pattern as usize) < pool.patterns.len(),
            Node::DeepEq(literal) => {
                let ok = (literal as usize) < pool.json.len();
                if ok {
                    self.adopt_json(literal as usize, usize::MAX)?;
                }
                ok
            }
            _ => true,
        };
        if ok {
            Ok(())
        } else {
            Err(malformed(format!("node {index} refers to a missing table entry")))
        }
    }

    /// Checks one literal JSON node; returns its depth.
    fn check_json(&mut self, index: usize, node: &JsonNode) -> Result<u32> {
        let pool = self.pool;
        let mut deepest = 0;
        match *node {
            JsonNode::Str(text) if (text as usize) >= pool.strings.len() => {
                return Err(malformed(format!("literal {index} refers to a missing string")));
            }
            JsonNode::Array(span) => {
                for &child in self.json_span(index, span, 1)? {
                    deepest = deepest.max(self.adopt_json(child as usize, index)?);
                }
            }
            JsonNode::Object(span) => {
                let entries = self.json_span(index, span, 2)?;
                for pair in entries.chunks(2) {
                    if let [key, value] = *pair {
                        if (key as usize) >= pool.strings.len() {
                            return Err(malformed(format!(
                                "literal {index} has a missing key string"
                            )));
                        }
                        deepest = deepest.max(self.adopt_json(value as usize, index)?);
                    }
                }
            }
            _ => {}
        }
        let depth = deepest + 1;
        if depth > MAX_IR_DEPTH {
            return Err(malformed(format!(
                "literal {index} is nested deeper than {MAX_IR_DEPTH} levels"
            )));
        }
        Ok(depth)
    }

    /// The entries of a literal's span (`width` entries per member).
    fn json_span(&mut self, index: usize, span: Span, width: u32) -> Result<&'p [u32]> {
        let items = &self.pool.json_items;
        let entries = span
            .len
            .checked_mul(width)
            .and_then(|len| span_range(Span { start: span.start, len }))
            .and_then(|range| items.get(range))
            .ok_or_else(|| malformed(format!("literal {index} has members out of range")))?;
        self.json_entries = self.json_entries.saturating_add(entries.len());
        if self.json_entries > items.len() {
            return Err(malformed("literal members overlap"));
        }
        Ok(entries)
    }

    /// Registers literal `child` under literal `parent` (`usize::MAX` for a condition node).
    fn adopt_json(&mut self, child: usize, parent: usize) -> Result<u32> {
        if child >= parent && parent != usize::MAX {
            return Err(malformed(format!(
                "literal {parent} refers to literal {child}, which does not precede it"
            )));
        }
        match self.json_has_parent.get_mut(child) {
            Some(seen) if !*seen => *seen = true,
            _ => {
                return Err(malformed(format!(
                    "literal {child} is missing or has more than one parent"
                )))
            }
        }
        Ok(self.json_depth.get(child).copied().unwrap_or(MAX_IR_DEPTH))
    }
}

/// Sets are binary-searched: they must be sorted, unique and NaN-free.
fn check_set(set: &ValueSet) -> Result<()> {
    let strings_sorted = set.strings.windows(2).all(|w| matches!(w, [a, b] if a < b));
    let numbers_sorted = set.numbers.windows(2).all(|w| matches!(w, [a, b] if a < b))
        && !set.numbers.iter().any(|n| n.is_nan());
    if strings_sorted && numbers_sorted {
        Ok(())
    } else {
        Err(malformed("a value set is not sorted"))
    }
}
