//! Compiling GrowthBook conditions (JSON) into the pool's IR (feature `compiler`).
//!
//! The compiler walks a condition once, pre-typing every constant: numbers become `f64`,
//! strings are interned (with the number they spell, for `"10"` matching `10`), `$in` lists
//! become sorted sets, version strings are padded, regular expressions are translated and
//! checked, saved groups are resolved into sets (one per group, shared), and attribute paths are
//! interned and split on dots.
//!
//! Depth is checked before recursing, so a hostile condition nested ten thousand levels deep is
//! rejected without exhausting the stack. Children are always pushed before their parent and
//! never shared, which is the shape [`Pool::prepare`] insists on.

use std::collections::HashMap;

use serde_json::{Map, Value};

use super::ir::{CmpRhs, JsType, JsonNode, Node, Pool, RelOp, Scalar, Span, ValueSet};
use super::{
    coerce, regex, version, CondId, Mode, MAX_CONDITION_DEPTH, MAX_IR_DEPTH, MAX_POOL_NODES,
    MAX_REGEX_LEN,
};
use crate::{Error, Result};

/// Operators that apply to a value; at the top level of a condition they are a mistake.
const VALUE_OPERATORS: &[&str] = &[
    "$eq",
    "$ne",
    "$lt",
    "$lte",
    "$gt",
    "$gte",
    "$in",
    "$nin",
    "$ini",
    "$nini",
    "$all",
    "$alli",
    "$elemMatch",
    "$size",
    "$exists",
    "$type",
    "$regex",
    "$regexi",
    "$notRegex",
    "$notRegexi",
    "$vgt",
    "$vgte",
    "$vlt",
    "$vlte",
    "$veq",
    "$vne",
    "$inGroup",
    "$notInGroup",
];

const EXPECTED_SCALAR: &str = "expected a string, number, boolean or null";
const UNKNOWN_DOCUMENT_OPERATOR: &str =
    "unknown operator: a condition's keys are attribute names or $and, $or, $nor, $not";
const EXPECTED_TYPE_NAME: &str =
    "expected one of \"string\", \"number\", \"boolean\", \"object\", \"array\", \"null\"";

/// Compiles the conditions of one bundle into one [`Pool`].
pub struct Compiler {
    mode: Mode,
    saved_groups: Map<String, Value>,
    pool: Pool,
    /// Most nodes the pool may hold ([`MAX_POOL_NODES`]; lowered in tests).
    node_limit: usize,
    /// IR depth of each node, parallel to `pool.nodes`.
    depths: Vec<u32>,
    strings: HashMap<String, u32>,
    paths: HashMap<String, u32>,
    patterns: HashMap<(String, bool), u32>,
    group_sets: HashMap<String, u32>,
}

/// Why compiling a condition stopped.
enum Stop {
    Error(Error),
    /// Lenient mode: the condition is nested too deeply and evaluates to false as a whole.
    TooDeep,
}

impl Stop {
    fn into_error(self, path: &str) -> Error {
        match self {
            Stop::Error(e) => e,
            Stop::TooDeep => invalid_condition(path, "the condition is nested too deeply"),
        }
    }
}

impl From<Error> for Stop {
    fn from(e: Error) -> Self {
        Stop::Error(e)
    }
}

type Res<T> = std::result::Result<T, Stop>;

/// Table sizes before a condition, to undo a condition that failed.
struct Mark {
    nodes: usize,
    lists: usize,
    json: usize,
    json_items: usize,
    strings: usize,
    paths: usize,
    sets: usize,
    patterns: usize,
}

impl Compiler {
    /// A compiler for one bundle. `saved_groups` maps GrowthBook saved-group ids to arrays of
    /// values; `$inGroup` / `$notInGroup` are resolved against them at compile time.
    pub fn new(mode: Mode, saved_groups: &Map<String, Value>) -> Compiler {
        Compiler {
            mode,
            saved_groups: saved_groups.clone(),
            pool: Pool::default(),
            node_limit: MAX_POOL_NODES as usize,
            depths: Vec::new(),
            strings: HashMap::new(),
            paths: HashMap::new(),
            patterns: HashMap::new(),
            group_sets: HashMap::new(),
        }
    }

    /// Compiles one condition. `path` is its JSON path in the catalogue (for example
    /// `propositions[3].eligibility`); strict-mode errors extend it to the offending operand.
    pub fn compile(&mut self, condition: &Value, path: &str) -> Result<CondId> {
        let mark = self.mark();
        let root = match self.doc(condition, path, 1) {
            Ok(root) => root,
            Err(stop) => {
                self.rollback(&mark);
                if !(matches!(stop, Stop::TooDeep) && self.mode == Mode::Lenient) {
                    return Err(stop.into_error(path));
                }
                // Lenient: a condition nested too deeply is false as a whole.
                self.push(Node::Const(false)).map_err(|stop| stop.into_error(path))?
            }
        };
        let id = table_id(self.pool.roots.len(), "conditions")?;
        self.pool.roots.push(root);
        Ok(CondId(id))
    }

    /// The pool of every condition compiled so far.
    pub fn finish(self) -> Pool {
        self.pool
    }

    // ---- conditions (document level)

    /// A condition object: every key must hold.
    fn doc(&mut self, cond: &Value, path: &str, depth: u32) -> Res<u32> {
        let Value::Object(map) = cond else {
            return self.invalid(path, "expected an object (a condition)");
        };
        self.check_depth(depth, path)?;
        let mut clauses = Vec::with_capacity(map.len());
        for (key, arg) in map {
            let at = key_path(path, key);
            clauses.push(self.clause(key, arg, &at, depth)?);
        }
        self.all_of(clauses, Node::And)
    }

    /// One key of a condition object: a logical operator or an attribute path.
    fn clause(&mut self, key: &str, arg: &Value, at: &str, depth: u32) -> Res<u32> {
        match key {
            "$and" | "$or" | "$nor" => {
                let Value::Array(items) = arg else {
                    return self.invalid(at, "expected an array of conditions");
                };
                self.check_depth(depth + 1, at)?;
                let mut children = Vec::with_capacity(items.len());
                for (i, item) in items.iter().enumerate() {
                    children.push(self.doc(item, &index_path(at, i), depth + 2)?);
                }
                let span = self.list(children)?;
                match key {
                    "$and" => self.push(Node::And(span)),
                    "$or" => self.push(Node::Or(span)),
                    _ => {
                        let any = self.push(Node::Or(span))?;
                        self.push(Node::Not(any))
                    }
                }
            }
            "$not" => {
                if !arg.is_object() {
                    return self.invalid(at, "expected an object (a condition)");
                }
                let inner = self.doc(arg, at, depth + 1)?;
                self.push(Node::Not(inner))
            }
            op if self.mode == Mode::Strict && VALUE_OPERATORS.contains(&op) => Err(invalid_condition(
                at,
                format!("{op} applies to an attribute; write {{\"<attribute>\": {{\"{op}\": ...}}}}"),
            )
            .into()),
            // GrowthBook reads an unknown `$` key as an attribute's name, which hides a typo or
            // an operator it lacks (`$where`, `$expr`) as a test that is never true.
            op if self.mode == Mode::Strict && op.starts_with('$') => {
                Err(invalid_condition(at, UNKNOWN_DOCUMENT_OPERATOR).into())
            }
            _ => {
                let test = self.value(arg, at, depth + 1, false)?;
                let path = self.intern_path(key)?;
                self.push(Node::Field { path, test })
            }
        }
    }

    // ---- conditions on one value

    /// A condition value: a literal to compare with, or an object of operators. `fold` makes
    /// string literals case-insensitive (items of `$alli`).
    fn value(&mut self, cond: &Value, path: &str, depth: u32, fold: bool) -> Res<u32> {
        if cond.is_object() {
            self.check_depth(depth, path)?;
        }
        match cond {
            Value::String(s) if fold => {
                let text = self.intern(&s.to_lowercase())?;
                self.push(Node::LooseStrFolded(text))
            }
            Value::String(s) => {
                let text = self.intern(s)?;
                self.push(Node::LooseStr { text, number: canonical_number(s) })
            }
            Value::Number(n) => self.push(Node::LooseNum(coerce::number_of(n))),
            Value::Bool(b) => self.push(Node::Truthy(*b)),
            Value::Null => self.push(Node::IsNull),
            Value::Object(map) if is_operator_object(map) => {
                let mut tests = Vec::with_capacity(map.len());
                for (op, arg) in map {
                    tests.push(self.operator(op, arg, &key_path(path, op), depth)?);
                }
                self.all_of(tests, Node::AllOps)
            }
            Value::Object(map)
                if self.mode == Mode::Strict && map.keys().any(|k| k.starts_with('$')) =>
            {
                Err(invalid_condition(
                    path,
                    "an object cannot mix operators ($...) with plain keys",
                )
                .into())
            }
            Value::Array(_) | Value::Object(_) => {
                let literal = self.literal(cond, path, depth)?;
                self.push(Node::DeepEq(literal))
            }
        }
    }

    /// One operator of an operator object (at `depth`); a container operand sits at
    /// `depth + 1`.
    fn operator(&mut self, op: &str, arg: &Value, at: &str, depth: u32) -> Res<u32> {
        let inner = depth + 1;
        match op {
            "$eq" => self.strict_eq(arg, at),
            "$ne" => {
                let eq = self.strict_eq(arg, at)?;
                self.push(Node::NotValue(eq))
            }
            "$lt" => self.compare(RelOp::Lt, arg, at),
            "$lte" => self.compare(RelOp::Lte, arg, at),
            "$gt" => self.compare(RelOp::Gt, arg, at),
            "$gte" => self.compare(RelOp::Gte, arg, at),
            "$in" | "$nin" | "$ini" | "$nini" => {
                let Value::Array(items) = arg else {
                    return self.invalid(at, "expected an array");
                };
                self.check_depth(inner, at)?;
                let set = self.value_set(items, at, op.ends_with('i'))?;
                let member = self.push(Node::In(set))?;
                self.negate_if(op.starts_with("$nin"), member)
            }
            "$inGroup" | "$notInGroup" => self.saved_group(op == "$notInGroup", arg, at),
            "$not" => {
                let test = self.value(arg, at, inner, false)?;
                self.push(Node::NotValue(test))
            }
            "$size" => {
                let valid = match arg {
                    Value::Number(n) => n.as_u64().is_some(),
                    Value::Object(map) => is_operator_object(map),
                    _ => false,
                };
                if !valid && self.mode == Mode::Strict {
                    return self
                        .invalid(at, "expected a non-negative integer or an object of operators");
                }
                let test = self.value(arg, at, inner, false)?;
                self.push(Node::Size(test))
            }
            "$elemMatch" => match arg {
                Value::Object(map) if is_operator_object(map) => {
                    let test = self.value(arg, at, inner, false)?;
                    self.push(Node::ElemMatchValue(test))
                }
                Value::Object(_) => {
                    let cond = self.doc(arg, at, inner)?;
                    self.push(Node::ElemMatchDoc(cond))
                }
                _ => self.invalid(at, "expected an object (a condition or operators)"),
            },
            "$all" | "$alli" => {
                let Value::Array(items) = arg else {
                    return self.invalid(at, "expected an array");
                };
                self.check_depth(inner, at)?;
                let mut tests = Vec::with_capacity(items.len());
                for (i, item) in items.iter().enumerate() {
                    tests.push(self.value(item, &index_path(at, i), inner + 1, op == "$alli")?);
                }
                let span = self.list(tests)?;
                self.push(Node::AllMatch(span))
            }
            "$exists" => {
                if !arg.is_boolean() && self.mode == Mode::Strict {
                    return self.invalid(at, "expected true or false");
                }
                let null = self.push(Node::IsNull)?;
                self.negate_if(coerce::truthy(arg), null)
            }
            "$type" => match arg.as_str().and_then(type_from_name) {
                Some(t) => self.push(Node::Type(t)),
                None => self.invalid(at, EXPECTED_TYPE_NAME),
            },
            "$regex" | "$regexi" | "$notRegex" | "$notRegexi" => {
                let Value::String(source) = arg else {
                    return self.invalid(at, "expected a regular expression (a string)");
                };
                let pattern = match self.pattern(source, op.ends_with('i')) {
                    Ok(id) => id,
                    Err(Ok(message)) => {
                        return self.invalid(at, &format!("invalid regular expression: {message}"))
                    }
                    Err(Err(stop)) => return Err(stop),
                };
                let matches = self.push(Node::Regex(pattern))?;
                self.negate_if(op.starts_with("$notRegex"), matches)
            }
            "$veq" | "$vne" | "$vgt" | "$vgte" | "$vlt" | "$vlte" => {
                if !arg.is_string() && self.mode == Mode::Strict {
                    return self.invalid(at, "expected a version string");
                }
                let rhs = self.intern(&version::padded(&version::version_input(arg)))?;
                match op {
                    "$veq" => self.push(Node::VersionEq(rhs)),
                    "$vne" => {
                        let eq = self.push(Node::VersionEq(rhs))?;
                        self.push(Node::NotValue(eq))
                    }
                    "$vgt" => self.push(Node::Version { op: RelOp::Gt, rhs }),
                    "$vgte" => self.push(Node::Version { op: RelOp::Gte, rhs }),
                    "$vlt" => self.push(Node::Version { op: RelOp::Lt, rhs }),
                    _ => self.push(Node::Version { op: RelOp::Lte, rhs }),
                }
            }
            _ => self.invalid(at, "unknown operator"),
        }
    }

    /// `$eq`: strict equality with a scalar (arrays and objects are never `===`).
    fn strict_eq(&mut self, arg: &Value, at: &str) -> Res<u32> {
        match arg {
            Value::Null => self.push(Node::IsNull),
            Value::String(s) => {
                let text = self.intern(s)?;
                self.push(Node::StrictEq(Scalar::Str(text)))
            }
            Value::Number(n) => self.push(Node::StrictEq(Scalar::Num(coerce::number_of(n)))),
            Value::Bool(b) => self.push(Node::StrictEq(Scalar::Bool(*b))),
            Value::Array(_) | Value::Object(_) => self.invalid(
                at,
                "expected a string, number, boolean or null (arrays and objects are never equal)",
            ),
        }
    }

    /// `$lt` and friends: the operand after JavaScript's `ToPrimitive`.
    fn compare(&mut self, op: RelOp, arg: &Value, at: &str) -> Res<u32> {
        let rhs = match arg {
            Value::Number(n) => CmpRhs::Num(coerce::number_of(n)),
            _ if self.mode == Mode::Strict && !arg.is_string() => {
                return self.invalid(at, "expected a number or string");
            }
            Value::Null | Value::Bool(_) => CmpRhs::Num(coerce::to_number(arg)),
            Value::String(_) | Value::Array(_) | Value::Object(_) => {
                let text = coerce::to_js_string(arg);
                let number = coerce::string_to_number(&text);
                CmpRhs::Str { text: self.intern(&text)?, number }
            }
        };
        self.push(Node::Compare { op, rhs })
    }

    /// `$inGroup` / `$notInGroup`: membership in a saved group, resolved now.
    fn saved_group(&mut self, negate: bool, arg: &Value, at: &str) -> Res<u32> {
        let Value::String(id) = arg else {
            if self.mode == Mode::Strict {
                return self.invalid(at, "expected the id of a saved group (a string)");
            }
            // GrowthBook looks the operand up as a property name: String(operand).
            let id = coerce::to_js_string(arg).into_owned();
            return self.saved_group(negate, &Value::String(id), at);
        };
        let set = match self.saved_groups.get(id) {
            Some(Value::Array(_)) => self.group_set(id, at)?,
            Some(Value::Object(_)) => {
                // A newer, typed saved group, which these operators cannot read: matches nobody.
                return self
                    .invalid(at, &format!("saved group \"{id}\" is not an array of values"));
            }
            Some(_) if self.mode == Mode::Strict => {
                return self
                    .invalid(at, &format!("saved group \"{id}\" is not an array of values"));
            }
            None if self.mode == Mode::Strict => {
                return self.invalid(at, &format!("unknown saved group \"{id}\""));
            }
            // An unknown group is empty: `$inGroup` is false, `$notInGroup` true.
            _ => self.push_set(ValueSet::default())?,
        };
        let member = self.push(Node::In(set))?;
        self.negate_if(negate, member)
    }

    /// The set of a saved group, built once per group.
    fn group_set(&mut self, id: &str, at: &str) -> Res<u32> {
        if let Some(&set) = self.group_sets.get(id) {
            return Ok(set);
        }
        let items = match self.saved_groups.get(id) {
            Some(Value::Array(items)) => items.clone(),
            _ => Vec::new(),
        };
        let unusable = items.iter().position(|v| v.is_array() || v.is_object());
        if let (Some(i), Mode::Strict) = (unusable, self.mode) {
            let message = format!(
                "saved group \"{id}\": member [{i}] is not a string, number, boolean or null"
            );
            return Err(invalid_condition(at, message).into());
        }
        let set = self.value_set(&items, at, false)?;
        self.group_sets.insert(id.to_owned(), set);
        Ok(set)
    }

    /// The members of an `$in`-style list. Arrays and objects can never be `includes`d; they
    /// are an error in strict mode and left out in lenient mode.
    fn value_set(&mut self, items: &[Value], at: &str, fold: bool) -> Res<u32> {
        let mut set = ValueSet { folded: fold, ..ValueSet::default() };
        for (i, item) in items.iter().enumerate() {
            match item {
                Value::String(s) if fold => set.strings.push(s.to_lowercase()),
                Value::String(s) => set.strings.push(s.clone()),
                Value::Number(n) => set.numbers.push(coerce::number_of(n) + 0.0),
                Value::Bool(true) => set.has_true = true,
                Value::Bool(false) => set.has_false = true,
                Value::Null => set.has_null = true,
                Value::Array(_) | Value::Object(_) if self.mode == Mode::Strict => {
                    return Err(invalid_condition(index_path(at, i), EXPECTED_SCALAR).into());
                }
                Value::Array(_) | Value::Object(_) => {}
            }
        }
        set.strings.sort_unstable();
        set.strings.dedup();
        set.numbers.retain(|x| !x.is_nan());
        set.numbers.sort_unstable_by(f64::total_cmp);
        set.numbers.dedup();
        self.push_set(set)
    }

    fn push_set(&mut self, set: ValueSet) -> Res<u32> {
        let id = table_id(self.pool.sets.len(), "value sets")?;
        self.pool.sets.push(set);
        Ok(id)
    }

    /// Interns a pattern; `Err(Ok(message))` for an invalid one.
    fn pattern(&mut self, source: &str, fold: bool) -> std::result::Result<u32, Res<String>> {
        if source.len() > MAX_REGEX_LEN as usize {
            return Err(Ok(format!("longer than {MAX_REGEX_LEN} bytes")));
        }
        let key = (source.to_owned(), fold);
        if let Some(&id) = self.patterns.get(&key) {
            return Ok(id);
        }
        let pattern = regex::compile_pattern(source, fold).map_err(Ok)?;
        let id = table_id(self.pool.patterns.len(), "patterns").map_err(|e| Err(Stop::Error(e)))?;
        self.pool.patterns.push(pattern);
        self.patterns.insert(key, id);
        Ok(id)
    }

    /// A literal JSON value for plain equality.
    fn literal(&mut self, v: &Value, path: &str, depth: u32) -> Res<u32> {
        if v.is_array() || v.is_object() {
            self.check_depth(depth, path)?;
        }
        let node = match v {
            Value::Null => JsonNode::Null,
            Value::Bool(b) => JsonNode::Bool(*b),
            Value::Number(n) => JsonNode::Num(coerce::number_of(n)),
            Value::String(s) => JsonNode::Str(self.intern(s)?),
            Value::Array(items) => {
                let mut ids = Vec::with_capacity(items.len());
                for (i, item) in items.iter().enumerate() {
                    ids.push(self.literal(item, &index_path(path, i), depth + 1)?);
                }
                JsonNode::Array(self.json_span(ids, ids_len(items.len()))?)
            }
            Value::Object(map) => {
                let mut entries = Vec::with_capacity(map.len() * 2);
                for (key, item) in map {
                    let value = self.literal(item, &key_path(path, key), depth + 1)?;
                    entries.push(self.intern(key)?);
                    entries.push(value);
                }
                JsonNode::Object(self.json_span(entries, ids_len(map.len()))?)
            }
        };
        self.check_room()?;
        let id = table_id(self.pool.json.len(), "literals")?;
        self.pool.json.push(node);
        Ok(id)
    }

    fn json_span(&mut self, entries: Vec<u32>, members: u32) -> Res<Span> {
        let start = table_id(self.pool.json_items.len(), "literal members")?;
        self.pool.json_items.extend(entries);
        Ok(Span { start, len: members })
    }

    // ---- building blocks

    /// `And` / `AllOps` of the children, or the only child, or true for none.
    fn all_of(&mut self, children: Vec<u32>, make: fn(Span) -> Node) -> Res<u32> {
        match children.as_slice() {
            [] => self.push(Node::Const(true)),
            [only] => Ok(*only),
            _ => {
                let span = self.list(children)?;
                self.push(make(span))
            }
        }
    }

    fn negate_if(&mut self, negate: bool, node: u32) -> Res<u32> {
        if negate {
            self.push(Node::NotValue(node))
        } else {
            Ok(node)
        }
    }

    fn list(&mut self, children: Vec<u32>) -> Res<Span> {
        let start = table_id(self.pool.lists.len(), "child lists")?;
        let len = table_id(children.len(), "child lists")?;
        self.pool.lists.extend(children);
        Ok(Span { start, len })
    }

    /// Appends a node after its children, tracking its depth.
    fn push(&mut self, node: Node) -> Res<u32> {
        self.check_room()?;
        let child_depth = |c: u32| self.depths.get(c as usize).copied().unwrap_or(0);
        let deepest = match node.children() {
            super::ir::Children::None => 0,
            super::ir::Children::One(c, _) => child_depth(c),
            super::ir::Children::List(span, _) => super::ir::span_range(span)
                .and_then(|r| self.pool.lists.get(r))
                .unwrap_or(&[])
                .iter()
                .map(|&c| child_depth(c))
                .max()
                .unwrap_or(0),
        };
        if deepest + 1 > MAX_IR_DEPTH {
            return Err(Stop::TooDeep);
        }
        let id = table_id(self.pool.nodes.len(), "condition nodes")?;
        self.pool.nodes.push(node);
        self.depths.push(deepest + 1);
        Ok(id)
    }

    fn check_room(&self) -> Res<()> {
        let used = self.pool.nodes.len() + self.pool.json.len();
        if used >= self.node_limit {
            return Err(Error::too_large(
                "condition pool",
                self.node_limit as u64,
                used as u64 + 1,
            )
            .into());
        }
        Ok(())
    }

    fn check_depth(&self, depth: u32, path: &str) -> Res<()> {
        if depth <= MAX_CONDITION_DEPTH {
            Ok(())
        } else if self.mode == Mode::Strict {
            Err(invalid_condition(path, format!("nested deeper than {MAX_CONDITION_DEPTH} levels"))
                .into())
        } else {
            Err(Stop::TooDeep)
        }
    }

    /// A clause GrowthBook evaluates to false: an error in strict mode, `false` in lenient mode.
    fn invalid(&mut self, path: &str, message: &str) -> Res<u32> {
        match self.mode {
            Mode::Strict => Err(invalid_condition(path, message).into()),
            Mode::Lenient => self.push(Node::Const(false)),
        }
    }

    fn intern(&mut self, s: &str) -> Res<u32> {
        if let Some(&id) = self.strings.get(s) {
            return Ok(id);
        }
        let id = table_id(self.pool.strings.len(), "strings")?;
        self.pool.strings.push(s.to_owned());
        self.strings.insert(s.to_owned(), id);
        Ok(id)
    }

    fn intern_path(&mut self, key: &str) -> Res<u32> {
        if let Some(&id) = self.paths.get(key) {
            return Ok(id);
        }
        let id = table_id(self.pool.paths.len(), "attribute paths")?;
        self.pool.paths.push(key.split('.').map(str::to_owned).collect());
        self.paths.insert(key.to_owned(), id);
        Ok(id)
    }

    fn mark(&self) -> Mark {
        Mark {
            nodes: self.pool.nodes.len(),
            lists: self.pool.lists.len(),
            json: self.pool.json.len(),
            json_items: self.pool.json_items.len(),
            strings: self.pool.strings.len(),
            paths: self.pool.paths.len(),
            sets: self.pool.sets.len(),
            patterns: self.pool.patterns.len(),
        }
    }

    fn rollback(&mut self, m: &Mark) {
        self.pool.nodes.truncate(m.nodes);
        self.depths.truncate(m.nodes);
        self.pool.lists.truncate(m.lists);
        self.pool.json.truncate(m.json);
        self.pool.json_items.truncate(m.json_items);
        self.pool.strings.truncate(m.strings);
        self.pool.paths.truncate(m.paths);
        self.pool.sets.truncate(m.sets);
        self.pool.patterns.truncate(m.patterns);
        let keep = |limit: usize| move |id: &u32| (*id as usize) < limit;
        let (strings, paths, sets, patterns) =
            (keep(m.strings), keep(m.paths), keep(m.sets), keep(m.patterns));
        self.strings.retain(|_, id| strings(id));
        self.paths.retain(|_, id| paths(id));
        self.group_sets.retain(|_, id| sets(id));
        self.patterns.retain(|_, id| patterns(id));
    }

    #[cfg(test)]
    fn with_node_limit(mut self, limit: usize) -> Self {
        self.node_limit = limit;
        self
    }
}

fn invalid_condition(path: impl Into<String>, message: impl Into<String>) -> Error {
    Error::InvalidCondition { path: path.into(), message: message.into() }
}

/// An index into a table, or `TooLarge` when the table has outgrown `u32`.
fn table_id(len: usize, what: &str) -> Result<u32> {
    u32::try_from(len).map_err(|_| Error::too_large(what, u32::MAX.into(), len as u64))
}

fn ids_len(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// GrowthBook's `isOperatorObject`: at least one key, and every key starts with `$`.
fn is_operator_object(map: &Map<String, Value>) -> bool {
    !map.is_empty() && map.keys().all(|k| k.starts_with('$'))
}

fn type_from_name(name: &str) -> Option<JsType> {
    Some(match name {
        "null" => JsType::Null,
        "boolean" => JsType::Boolean,
        "number" => JsType::Number,
        "string" => JsType::String,
        "array" => JsType::Array,
        "object" => JsType::Object,
        _ => return None,
    })
}

/// The number whose JavaScript string form is exactly `s`, so that `number + "" === s` can be
/// decided by comparing numbers.
fn canonical_number(s: &str) -> Option<f64> {
    let n = coerce::string_to_number(s);
    (coerce::number_to_string(n) == s).then_some(n)
}

/// `path.key`, or `path["key"]` when the key is not a plain word.
fn key_path(path: &str, key: &str) -> String {
    let plain = !key.is_empty()
        && key.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '$' | '-'));
    match (path.is_empty(), plain) {
        (true, true) => key.to_owned(),
        (false, true) => format!("{path}.{key}"),
        (_, false) => format!("{path}[{}]", Value::String(key.to_owned())),
    }
}

fn index_path(path: &str, index: usize) -> String {
    format!("{path}[{index}]")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn strict_error(condition: Value) -> (String, String) {
        let mut c = Compiler::new(Mode::Strict, &groups());
        match c.compile(&condition, "propositions[3].eligibility") {
            Err(Error::InvalidCondition { path, message }) => (path, message),
            other => panic!("expected an invalid condition for {condition}, got {other:?}"),
        }
    }

    fn groups() -> Map<String, Value> {
        json!({"staff": [1, "2"], "typed": {"type": "list"}, "bad": [[1]]})
            .as_object()
            .cloned()
            .unwrap_or_default()
    }

    #[test]
    fn strict_errors_name_the_json_path() {
        let cases = [
            (
                json!({"age": {"$gte": true}}),
                "propositions[3].eligibility.age.$gte",
                "expected a number or string",
            ),
            (
                json!({"age": {"$gte": [1]}}),
                "propositions[3].eligibility.age.$gte",
                "expected a number or string",
            ),
            (
                json!({"name": {"$regx": "a"}}),
                "propositions[3].eligibility.name.$regx",
                "unknown operator",
            ),
            (json!({"a": {"$in": 1}}), "propositions[3].eligibility.a.$in", "expected an array"),
            (
                json!({"a": {"$in": [1, [2]]}}),
                "propositions[3].eligibility.a.$in[1]",
                EXPECTED_SCALAR,
            ),
            (
                json!({"a": {"$size": "3"}}),
                "propositions[3].eligibility.a.$size",
                "expected a non-negative integer or an object of operators",
            ),
            (
                json!({"a": {"$type": "undefined"}}),
                "propositions[3].eligibility.a.$type",
                EXPECTED_TYPE_NAME,
            ),
            (
                json!({"a": {"$exists": 1}}),
                "propositions[3].eligibility.a.$exists",
                "expected true or false",
            ),
            (
                json!({"a": {"$vgt": 2}}),
                "propositions[3].eligibility.a.$vgt",
                "expected a version string",
            ),
            (
                json!({"a": {"$regex": 5}}),
                "propositions[3].eligibility.a.$regex",
                "expected a regular expression (a string)",
            ),
            (
                json!({"a": {"$eq": {"b": 1}}}),
                "propositions[3].eligibility.a.$eq",
                "expected a string, number, boolean or null (arrays and objects are never equal)",
            ),
            (
                json!({"a": {"$elemMatch": 1}}),
                "propositions[3].eligibility.a.$elemMatch",
                "expected an object (a condition or operators)",
            ),
            (
                json!({"a": {"$all": "x"}}),
                "propositions[3].eligibility.a.$all",
                "expected an array",
            ),
            (
                json!({"a": {"$inGroup": "nope"}}),
                "propositions[3].eligibility.a.$inGroup",
                "unknown saved group \"nope\"",
            ),
            (
                json!({"a": {"$inGroup": 7}}),
                "propositions[3].eligibility.a.$inGroup",
                "expected the id of a saved group (a string)",
            ),
            (
                json!({"a": {"$notInGroup": "typed"}}),
                "propositions[3].eligibility.a.$notInGroup",
                "saved group \"typed\" is not an array of values",
            ),
            (
                json!({"a": {"$gt": 1, "b": 2}}),
                "propositions[3].eligibility.a",
                "an object cannot mix operators ($...) with plain keys",
            ),
            (
                json!({"$or": {"a": 1}}),
                "propositions[3].eligibility.$or",
                "expected an array of conditions",
            ),
            (
                json!({"$and": [{"a": 1}, 5]}),
                "propositions[3].eligibility.$and[1]",
                "expected an object (a condition)",
            ),
            (
                json!({"$not": [1]}),
                "propositions[3].eligibility.$not",
                "expected an object (a condition)",
            ),
            (
                json!({"$where": "this.age > 18"}),
                "propositions[3].eligibility.$where",
                UNKNOWN_DOCUMENT_OPERATOR,
            ),
            (
                json!({"$expr": {"$gt": ["$age", 18]}}),
                "propositions[3].eligibility.$expr",
                UNKNOWN_DOCUMENT_OPERATOR,
            ),
            (json!({"age": 1, "$foo": 1}), "propositions[3].eligibility.$foo", UNKNOWN_DOCUMENT_OPERATOR),
            (
                json!({"$or": [{"a": 1}, {"$text": {"$search": "x"}}]}),
                "propositions[3].eligibility.$or[1].$text",
                UNKNOWN_DOCUMENT_OPERATOR,
            ),
            (
                json!({"$not": {"$comment": "x"}}),
                "propositions[3].eligibility.$not.$comment",
                UNKNOWN_DOCUMENT_OPERATOR,
            ),
            (
                json!({"h": {"$elemMatch": {"n": 1, "$where": "1"}}}),
                "propositions[3].eligibility.h.$elemMatch.$where",
                UNKNOWN_DOCUMENT_OPERATOR,
            ),
            (
                json!({"$in": [1]}),
                "propositions[3].eligibility.$in",
                "$in applies to an attribute; write {\"<attribute>\": {\"$in\": ...}}",
            ),
            (json!("a"), "propositions[3].eligibility", "expected an object (a condition)"),
            (
                json!({"a.b": {"$gt": null}}),
                "propositions[3].eligibility[\"a.b\"].$gt",
                "expected a number or string",
            ),
            (
                json!({"x": {"$all": [{"$regex": "("}]}}),
                "propositions[3].eligibility.x.$all[0].$regex",
                "invalid regular expression: ",
            ),
        ];
        for (condition, path, message) in cases {
            let (p, m) = strict_error(condition.clone());
            assert_eq!(p, path, "{condition}");
            assert!(m.starts_with(message), "{condition}: {m}");
        }
        let (p, m) = strict_error(json!({"a": {"$in": ["x"], "$inGroup": "bad"}}));
        assert_eq!(p, "propositions[3].eligibility.a.$inGroup");
        assert_eq!(m, "saved group \"bad\": member [0] is not a string, number, boolean or null");
    }

    #[test]
    fn strict_mode_accepts_valid_conditions() {
        let mut c = Compiler::new(Mode::Strict, &groups());
        let ok = json!({
            "age": {"$gte": 18, "$lt": "65"}, "tags": {"$all": ["a"], "$size": {"$gt": 0}},
            "$or": [{"v": {"$vgte": "1.2.3"}}, {"u": {"$regexi": "^/a"}}], "$not": {"x": null},
            "id": {"$inGroup": "staff"}, "e": {"$exists": false}, "t": {"$type": "array"},
            "h": {"$elemMatch": {"n": 1}}, "l": ["a", {"b": 1}], "groups": {"$elemMatch": {"$eq": "a"}}
        });
        assert_eq!(c.compile(&ok, "c").ok(), Some(CondId(0)));
        assert!(c.finish().prepare().is_ok());
    }

    #[test]
    fn failed_conditions_leave_no_trace() {
        let mut c = Compiler::new(Mode::Strict, &groups());
        let good = c.compile(&json!({"a": {"$in": ["x", "y"]}}), "p0").ok();
        let before = c.pool.clone();
        assert!(c.compile(&json!({"b": {"$regex": "ok", "$in": ["z"], "$gt": {}}}), "p1").is_err());
        assert_eq!(c.pool, before);
        assert_eq!(c.compile(&json!({"b": {"$in": ["z"]}}), "p2").ok(), Some(CondId(1)));
        assert_eq!(good, Some(CondId(0)));
        assert!(c.finish().prepare().is_ok());
    }

    #[test]
    fn node_limit_is_too_large() {
        let mut c = Compiler::new(Mode::Lenient, &Map::new()).with_node_limit(10);
        let many: Vec<Value> = (0..10).map(|i| json!({"a": i})).collect();
        match c.compile(&json!({"$or": many}), "big") {
            Err(Error::TooLarge { limit: 10, .. }) => {}
            other => panic!("expected TooLarge, got {other:?}"),
        }
        assert!(c.pool.nodes.is_empty());
    }

    #[test]
    fn paths_and_strings_are_interned() {
        let mut c = Compiler::new(Mode::Lenient, &groups());
        for _ in 0..3 {
            let cond = json!({"context.page": "home", "x": {"$inGroup": "staff"}, "y": {"$notInGroup": "staff"}});
            assert!(c.compile(&cond, "c").is_ok());
        }
        let pool = c.finish();
        assert_eq!(
            pool.paths,
            vec![vec!["context".to_owned(), "page".to_owned()], vec!["x".into()], vec!["y".into()]]
        );
        assert_eq!(pool.strings, vec!["home".to_owned()]);
        assert_eq!(pool.sets.len(), 1);
    }

    #[test]
    fn lenient_mode_reads_unknown_dollar_keys_as_attributes() {
        // GrowthBook's behaviour, which its conformance cases check with `$groups`.
        let mut c = Compiler::new(Mode::Lenient, &groups());
        let cond = json!({"$groups": {"$elemMatch": {"$eq": "a"}}, "$where": "x"});
        assert_eq!(c.compile(&cond, "c").ok(), Some(CondId(0)));
        let prepared = c.finish().prepare().expect("prepare");
        assert!(prepared.eval(CondId(0), &json!({"$groups": ["a"], "$where": "x"})));
        assert!(!prepared.eval(CondId(0), &json!({"$groups": ["a"]})));
    }

    #[test]
    fn key_paths_quote_unusual_keys() {
        assert_eq!(key_path("", "a"), "a");
        assert_eq!(key_path("p", "$gt"), "p.$gt");
        assert_eq!(key_path("p", "a.b"), "p[\"a.b\"]");
        assert_eq!(key_path("p", ""), "p[\"\"]");
    }
}
