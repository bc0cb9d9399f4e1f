//! End-to-end tests of the condition module: compile → (postcard) → prepare → evaluate, the
//! GrowthBook behaviours the conformance suite does not pin down, limits, hostile input and
//! malformed IR. The conformance suite itself runs in `tests/conformance.rs`.

use serde_json::{json, Map, Value};

use super::ir::{Children, JsonNode, Node, Pattern, Pool, Span, ValueSet};
use super::*;
use crate::Error;

/// Compiles one condition in lenient mode and evaluates it.
fn eval_lenient(condition: Value, attributes: Value) -> bool {
    eval_with_groups(condition, attributes, &Map::new())
}

fn eval_with_groups(condition: Value, attributes: Value, groups: &Map<String, Value>) -> bool {
    let mut c = Compiler::new(Mode::Lenient, groups);
    let id = c.compile(&condition, "c").expect("lenient compile");
    c.finish().prepare().expect("prepare").eval(id, &attributes)
}

/// Wraps `inner` `levels` times with `wrap`, without recursion.
fn nest(levels: usize, inner: Value, wrap: impl Fn(Value) -> Value) -> Value {
    (0..levels).fold(inner, |v, _| wrap(v))
}

/// `{key: v}` without `json!`, which would serialise `v` again (recursively).
fn obj(key: &str, v: Value) -> Value {
    let mut map = Map::new();
    map.insert(key.to_owned(), v);
    Value::Object(map)
}

/// Drops a deeply nested value without recursing (serde_json's drop would).
fn dismantle(mut v: Value) {
    loop {
        let next = match &mut v {
            Value::Object(map) => map.values_mut().next().map(std::mem::take),
            Value::Array(items) => items.pop(),
            _ => None,
        };
        match next {
            Some(child) => v = child,
            None => return,
        }
    }
}

/// Nesting of objects and arrays, as [`MAX_CONDITION_DEPTH`] counts it.
fn json_depth(v: &Value) -> u32 {
    match v {
        Value::Object(m) => 1 + m.values().map(json_depth).max().unwrap_or(0),
        Value::Array(a) => 1 + a.iter().map(json_depth).max().unwrap_or(0),
        _ => 0,
    }
}

#[test]
fn javascript_coercions_match_growthbook() {
    // `value + "" === condition`
    assert!(eval_lenient(json!({"n": "10"}), json!({"n": 10})));
    assert!(eval_lenient(json!({"n": "1.5"}), json!({"n": 1.5})));
    assert!(!eval_lenient(json!({"n": "10.0"}), json!({"n": 10})));
    assert!(eval_lenient(json!({"n": "true"}), json!({"n": true})));
    assert!(eval_lenient(json!({"n": "null"}), json!({})));
    assert!(eval_lenient(json!({"n": "a,b"}), json!({"n": ["a", "b"]})));
    // `value * 1 === condition`: null is 0, "8" is 8, [5] is 5.
    assert!(eval_lenient(json!({"n": 8}), json!({"n": " 8 "})));
    assert!(eval_lenient(json!({"n": 0}), json!({})));
    assert!(eval_lenient(json!({"n": 5}), json!({"n": [5]})));
    assert!(eval_lenient(json!({"n": 1}), json!({"n": true})));
    // `value !== null && !!value === condition`
    assert!(eval_lenient(json!({"b": true}), json!({"b": "x"})));
    assert!(eval_lenient(json!({"b": false}), json!({"b": 0})));
    assert!(!eval_lenient(json!({"b": false}), json!({})));
    // Relational comparisons: strings with strings, anything else as numbers.
    assert!(!eval_lenient(json!({"s": {"$gt": "9"}}), json!({"s": "10"})));
    assert!(eval_lenient(json!({"s": {"$gt": 9}}), json!({"s": "10"})));
    assert!(!eval_lenient(json!({"s": {"$gt": 9}}), json!({"s": "10a"})));
    assert!(eval_lenient(json!({"s": {"$lt": "b"}}), json!({"s": ["a"]})));
    assert!(eval_lenient(json!({"s": {"$gte": true}}), json!({"s": 1})));
    assert!(!eval_lenient(json!({"s": {"$lte": 5}}), json!({"s": {"a": 1}})));
    // Strict equality.
    assert!(eval_lenient(json!({"e": {"$eq": null}}), json!({})));
    assert!(!eval_lenient(json!({"e": {"$eq": "1"}}), json!({"e": 1})));
    assert!(eval_lenient(json!({"e": {"$ne": [1]}}), json!({"e": [1]})));
    assert!(!eval_lenient(json!({"e": {"$eq": [1]}}), json!({"e": [1]})));
    // Regular expressions test `String(value)`.
    assert!(eval_lenient(json!({"r": {"$regex": "^12"}}), json!({"r": 123})));
    assert!(eval_lenient(json!({"r": {"$regex": "ul"}}), json!({})));
    assert!(eval_lenient(json!({"r": {"$notRegex": "x"}}), json!({})));
    assert!(!eval_lenient(json!({"r": {"$notRegex": "("}}), json!({"r": "a"})));
    // Versions: missing is "0", numbers are strings.
    assert!(eval_lenient(json!({"v": {"$vlt": "1.0.0"}}), json!({})));
    assert!(eval_lenient(json!({"v": {"$veq": "2.5"}}), json!({"v": 2.5})));
    assert!(eval_lenient(json!({"v": {"$vgt": 1}}), json!({"v": "1.0.1"})));
}

#[test]
fn arrays_and_sets_match_growthbook() {
    assert!(eval_lenient(json!({"x": {"$in": [null, 1]}}), json!({})));
    assert!(eval_lenient(json!({"x": {"$in": [0]}}), json!({"x": -0.0})));
    assert!(!eval_lenient(json!({"x": {"$in": [[1]]}}), json!({"x": [1]})));
    assert!(eval_lenient(json!({"x": {"$in": [true]}}), json!({"x": [false, true]})));
    assert!(eval_lenient(json!({"x": {"$ini": ["ÉCOLE"]}}), json!({"x": "école"})));
    assert!(eval_lenient(json!({"x": {"$nini": ["A"]}}), json!({"x": 1})));
    assert!(eval_lenient(json!({"x": {"$alli": ["ÉTÉ", 2]}}), json!({"x": ["été", "2"]})));
    assert!(eval_lenient(json!({"x": {"$all": [{"$gt": 5}, "a"]}}), json!({"x": ["a", 7]})));
    assert!(eval_lenient(json!({"x": {"$all": []}}), json!({"x": []})));
    // $elemMatch skips null elements only (0 is still tested).
    assert!(eval_lenient(json!({"x": {"$elemMatch": {"$eq": 0}}}), json!({"x": [0]})));
    assert!(!eval_lenient(json!({"x": {"$elemMatch": {"$exists": false}}}), json!({"x": [null]})));
    assert!(eval_lenient(
        json!({"x": {"$elemMatch": {"a.b": 1}}}),
        json!({"x": ["s", {"a": {"b": 1}}]})
    ));
    assert!(eval_lenient(json!({"x": {"$size": 2}}), json!({"x": [1, 2]})));
    assert!(eval_lenient(json!({"x": {"$size": {"$in": [3, 4]}}}), json!({"x": [1, 2, 3]})));
    // Dotted paths index arrays.
    assert!(eval_lenient(json!({"x.1.n": "b"}), json!({"x": [{"n": "a"}, {"n": "b"}]})));
    // Plain equality with literals (object key order does not matter here).
    assert!(eval_lenient(
        json!({"o": {"b": [1, {"c": null}], "a": 1.0}}),
        json!({"o": {"a": 1, "b": [1, {"c": null}]}})
    ));
    assert!(!eval_lenient(json!({"o": {}}), json!({})));
    assert!(eval_lenient(json!({"o": {}}), json!({"o": {}})));
}

#[test]
fn logic_and_types() {
    assert!(!eval_lenient(json!({"$nor": []}), json!({})));
    assert!(eval_lenient(json!({"$or": [{"a": 1}, {"b": 1}], "$not": {"c": 1}}), json!({"b": 1})));
    assert!(eval_lenient(json!({"t": {"$type": "null"}}), json!({})));
    assert!(eval_lenient(json!({"t": {"$type": "object"}}), json!({"t": {}})));
    assert!(!eval_lenient(json!({"t": {"$type": "undefined"}}), json!({})));
    assert!(eval_lenient(json!({"t": {"$exists": 1}}), json!({"t": 0})));
    assert!(eval_lenient(json!({"t": {"$exists": ""}}), json!({"t": null})));
}

#[test]
fn lenient_mode_turns_bad_clauses_false() {
    let attrs = json!({"a": "x", "n": 3});
    for bad in [
        json!({"a": {"$regx": "x"}}),
        json!({"a": {"$regex": "("}}),
        json!({"a": {"$regex": 1}}),
        json!({"a": {"$in": "x"}}),
        json!({"a": {"$nin": "x"}}),
        json!({"a": {"$all": "x"}}),
        json!({"a": {"$elemMatch": 1}}),
        json!({"$or": 1}),
        json!({"$nor": {}}),
        json!({"$not": 1}),
        json!({"$and": [1]}),
        json!(5),
        json!({"a": {"$inGroup": "typed"}}),
        json!({"a": {"$notInGroup": "typed"}}),
    ] {
        let groups = json!({"typed": {"type": "list"}});
        assert!(
            !eval_with_groups(bad.clone(), attrs.clone(), groups.as_object().unwrap()),
            "{bad}"
        );
    }
    // ... and, as in GrowthBook, `$not` of such a clause is true.
    assert!(eval_lenient(json!({"a": {"$not": {"$regx": 1}}}), attrs.clone()));
    assert!(eval_lenient(json!({"$not": {"a": {"$regex": "("}}}), attrs.clone()));
    // Unknown saved groups are empty.
    assert!(eval_lenient(json!({"a": {"$notInGroup": "none"}}), attrs.clone()));
    assert!(!eval_lenient(json!({"a": {"$inGroup": "none"}}), attrs));
}

#[test]
fn saved_groups_are_resolved_at_compile_time() {
    let groups = json!({"vip": ["a", 2, null], "7": [7]});
    let groups = groups.as_object().unwrap();
    assert!(eval_with_groups(json!({"id": {"$inGroup": "vip"}}), json!({"id": ["z", 2]}), groups));
    assert!(eval_with_groups(json!({"id": {"$inGroup": "vip"}}), json!({}), groups));
    assert!(!eval_with_groups(json!({"id": {"$notInGroup": "vip"}}), json!({"id": "a"}), groups));
    // GrowthBook looks a non-string operand up by its string form.
    assert!(eval_with_groups(json!({"id": {"$inGroup": 7}}), json!({"id": 7}), groups));
}

#[test]
fn depth_limit_in_both_modes() {
    let wrap_not = |v: Value| json!({ "$not": v });
    let at_limit = nest(MAX_CONDITION_DEPTH as usize - 1, json!({"a": 1}), wrap_not);
    assert_eq!(json_depth(&at_limit), MAX_CONDITION_DEPTH);
    let over = wrap_not(at_limit.clone());
    for mode in [Mode::Strict, Mode::Lenient] {
        let mut c = Compiler::new(mode, &Map::new());
        assert!(c.compile(&at_limit, "ok").is_ok(), "{mode:?}");
        let prepared = c.finish().prepare().expect("prepare");
        // 31 `$not`s around `a == 1`: true exactly when a != 1.
        assert!(prepared.eval(CondId(0), &json!({"a": 2})));
    }
    let mut strict = Compiler::new(Mode::Strict, &Map::new());
    match strict.compile(&over, "p") {
        Err(Error::InvalidCondition { path, message }) => {
            assert_eq!(path, format!("p{}", ".$not".repeat(MAX_CONDITION_DEPTH as usize)));
            assert_eq!(message, format!("nested deeper than {MAX_CONDITION_DEPTH} levels"));
        }
        other => panic!("expected a depth error, got {other:?}"),
    }
    // Lenient: the whole condition is false, whatever the `$not`s would say.
    assert!(!eval_lenient(over.clone(), json!({"a": 1})));
    assert!(!eval_lenient(over, json!({"a": 2})));
}

#[test]
fn deepest_conditions_fit_the_ir_depth() {
    // Two IR levels per JSON level: objects with a second key force `And` / `AllOps` nodes.
    let doc_level = |v: Value| json!({"$not": v, "z": 1});
    let value_level = |v: Value| json!({"$not": v, "$gt": 0});
    let elem_level = |v: Value| json!({"$elemMatch": {"y": v, "z": 1}, "$size": 1});
    let leaf = json!({"$ne": 1, "$nin": [2]});
    let shapes = [
        nest(MAX_CONDITION_DEPTH as usize - 3, json!({"a": leaf.clone()}), doc_level),
        json!({"a": nest(MAX_CONDITION_DEPTH as usize - 3, leaf.clone(), value_level), "b": 1}),
        json!({"a": nest((MAX_CONDITION_DEPTH as usize - 4) / 2, leaf, elem_level), "b": 1}),
    ];
    for shape in shapes {
        assert!(json_depth(&shape) >= MAX_CONDITION_DEPTH - 1, "{}", json_depth(&shape));
        let mut c = Compiler::new(Mode::Strict, &Map::new());
        assert!(c.compile(&shape, "deep").is_ok(), "{shape}");
        assert!(c.finish().prepare().is_ok());
    }
}

#[test]
fn ten_thousand_levels_do_not_overflow_the_stack() {
    let shapes = [
        nest(10_000, json!({"a": 1}), |v| obj("$not", v)),
        nest(10_000, json!({"a": 1}), |v| obj("$and", Value::Array(vec![v]))),
        obj("a", nest(10_000, json!(1), |v| obj("$not", v))),
        obj("a", nest(10_000, json!(1), |v| obj("$elemMatch", obj("b", v)))),
        obj("a", nest(10_000, json!(1), |v| Value::Array(vec![v]))),
    ];
    for shape in shapes {
        let mut strict = Compiler::new(Mode::Strict, &Map::new());
        assert!(matches!(strict.compile(&shape, "deep"), Err(Error::InvalidCondition { .. })));
        let mut lenient = Compiler::new(Mode::Lenient, &Map::new());
        let id = lenient.compile(&shape, "deep").expect("lenient compile");
        let prepared = lenient.finish().prepare().expect("prepare");
        assert!(!prepared.eval(id, &json!({"a": 1})));
        dismantle(shape);
    }
}

#[test]
fn prepare_rejects_too_many_nodes() {
    let pool =
        Pool { nodes: vec![Node::Const(true); MAX_POOL_NODES as usize + 1], ..Pool::default() };
    match pool.prepare() {
        Err(Error::TooLarge { limit, .. }) => assert_eq!(limit, u64::from(MAX_POOL_NODES)),
        other => panic!("expected TooLarge, got {other:?}"),
    }
}

#[test]
fn hostile_regex_is_linear() {
    let mut haystack = "a".repeat(10_000);
    haystack.push('!');
    for (pattern, expected) in
        // The first four run on the automaton, the last two on regex-lite (`\b`).
        [
            ("(a+)+$", false),
            ("(a+)+!$", true),
            ("^(a|aa)*$", false),
            ("(a*)*b", false),
            (r"\b(a+)+$", false),
            (r"\b(a|aa)*!", true),
        ]
    {
        let verdict = eval_lenient(json!({"s": {"$regex": pattern}}), json!({"s": haystack}));
        assert_eq!(verdict, expected, "{pattern}");
    }
}

/// A pool exercising every node kind.
fn sample_pool() -> (Pool, Vec<CondId>) {
    let groups = json!({"staff": ["u1", "u2"]});
    let mut c = Compiler::new(Mode::Strict, groups.as_object().unwrap());
    let conditions = [
        json!({"age": {"$gte": 18, "$lt": 65}, "segments": {"$in": ["young", "student"]}}),
        json!({"$or": [{"context.page": {"$regex": "^/products/\\d+"}}, {"context.page": {"$regexi": "\\bCHECKOUT"}}, {"context.page": {"$regex": "^/a$"}}]}),
        json!({"$nor": [{"holdings": {"$elemMatch": {"type": "mortgage"}}}], "$not": {"churned": true}}),
        json!({"app": {"$vgte": "2.3.0", "$vne": "2.4.1"}, "tags": {"$all": ["a"], "$size": {"$gt": 0}}}),
        json!({"id": {"$notInGroup": "staff"}, "lang": {"$nini": ["DE"]}, "x": {"$type": "null", "$exists": false}}),
        json!({"prefs": {"mail": true, "sms": [1, 2]}, "score": {"$ne": 3, "$eq": 4.5}, "name": "ann"}),
        json!({"flags": {"$alli": ["X"], "$elemMatch": {"$regex": "^x"}}, "tier": {"$not": {"$in": [1]}}}),
    ];
    let ids = conditions.iter().map(|cond| c.compile(cond, "c").expect("compiles")).collect();
    (c.finish(), ids)
}

fn sample_profile() -> Value {
    json!({
        "age": 30, "segments": ["student"], "context": {"page": "/products/42"},
        "holdings": [{"type": "savings"}], "churned": false, "app": "2.5.0", "tags": ["a", "b"],
        "id": "u9", "lang": "nl", "prefs": {"sms": [1, 2], "mail": true}, "score": 4.5, "name": "ann",
        "flags": ["x1", "x"], "tier": 2
    })
}

#[test]
fn ir_round_trips_through_postcard() {
    let (pool, ids) = sample_pool();
    let kinds = |f: fn(&Pattern) -> bool| pool.patterns.iter().any(f);
    assert!(kinds(|p| matches!(p, Pattern::Literals { .. })));
    assert!(kinds(|p| matches!(p, Pattern::Automaton(_))));
    assert!(kinds(|p| matches!(p, Pattern::Regex { .. })));
    let bytes = postcard::to_allocvec(&pool).expect("serialise");
    let back: Pool = postcard::from_bytes(&bytes).expect("deserialise");
    assert_eq!(back, pool);
    let (a, b) = (pool.prepare().expect("prepare"), back.prepare().expect("prepare"));
    let profile = sample_profile();
    for id in ids {
        assert!(a.eval(id, &profile), "{id:?}");
        assert_eq!(a.eval(id, &profile), b.eval(id, &profile));
    }
    assert!(!a.eval(CondId(999), &profile));
    assert_eq!(a.len(), 7);
}

#[test]
fn truncated_and_corrupted_ir_never_panics() {
    let (pool, _) = sample_pool();
    let bytes = postcard::to_allocvec(&pool).expect("serialise");
    let profile = sample_profile();
    let try_bytes = |bytes: &[u8]| {
        if let Ok(p) = postcard::from_bytes::<Pool>(bytes) {
            if let Ok(prepared) = p.prepare() {
                for id in 0..10 {
                    let _ = prepared.eval(CondId(id), &profile);
                }
            }
        }
    };
    for len in 0..bytes.len() {
        assert!(
            postcard::from_bytes::<Pool>(&bytes[..len]).is_err(),
            "prefix of {len} bytes decoded"
        );
    }
    // Deterministic corruption: flip bytes all over the encoding.
    let mut state = 0x2545_F491_u32;
    for _ in 0..3000 {
        let mut corrupt = bytes.clone();
        for _ in 0..3 {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            let at = state as usize % corrupt.len();
            corrupt[at] = (state >> 8) as u8;
        }
        try_bytes(&corrupt);
    }
}

fn expect_malformed(pool: Pool, why: &str) {
    match pool.prepare() {
        Err(Error::MalformedPayload { .. }) => {}
        other => panic!("{why}: expected MalformedPayload, got {other:?}"),
    }
}

#[test]
fn malformed_ir_is_rejected_at_prepare() {
    let (good, _) = sample_pool();
    assert!(good.prepare().is_ok());
    let field = good.nodes.iter().position(|n| matches!(n, Node::Field { .. })).unwrap();
    let list_node = good.nodes.iter().position(|n| matches!(n, Node::And(_))).unwrap();

    let mut p = good.clone();
    p.roots.push(good.nodes.len() as u32);
    expect_malformed(p, "root out of range");

    let mut p = good.clone();
    p.roots.push(good.nodes.iter().position(|n| !n.is_doc()).unwrap() as u32);
    expect_malformed(p, "root is a value node");

    let mut p = good.clone();
    if let Node::Field { path, .. } = &mut p.nodes[field] {
        *path = 1000;
    }
    expect_malformed(p, "path out of range");

    let mut p = good.clone();
    if let Node::Field { test, .. } = &mut p.nodes[field] {
        *test = field as u32;
    }
    expect_malformed(p, "self reference");

    let mut p = good.clone();
    if let Node::And(span) = &mut p.nodes[list_node] {
        span.len = 1000;
    }
    expect_malformed(p, "list out of range");

    let mut p = good.clone();
    p.nodes.push(Node::Not(p.roots[0]));
    p.nodes.push(Node::Not(p.roots[0]));
    expect_malformed(p, "shared child");

    let mut p = good.clone();
    let value_node = p.nodes.iter().position(|n| !n.is_doc()).unwrap() as u32;
    p.nodes.push(Node::Not(value_node));
    expect_malformed(p, "value node under a document node");

    let mut p = good.clone();
    p.sets[0].strings.reverse();
    expect_malformed(p, "unsorted set");

    let mut p = good.clone();
    p.sets.push(ValueSet { numbers: vec![f64::NAN], ..ValueSet::default() });
    expect_malformed(p, "NaN in a set");

    let mut p = good.clone();
    p.patterns.push(Pattern::Regex { source: "(".into(), fold: false, required: Vec::new() });
    expect_malformed(p, "pattern that does not compile");

    let mut p = good.clone();
    let automaton = p.patterns.iter_mut().find_map(|pattern| match pattern {
        Pattern::Automaton(nfa) => Some(nfa),
        _ => None,
    });
    automaton.expect("the sample has an automaton").follow.push(0);
    expect_malformed(p, "automaton with more follow sets than positions");

    let mut p = good.clone();
    p.json.push(JsonNode::Array(Span { start: 0, len: 1 }));
    p.json_items.push(5);
    expect_malformed(p, "literal refers forward");

    let mut p = good.clone();
    p.json.push(JsonNode::Str(10_000));
    expect_malformed(p, "literal string out of range");

    let mut p = good.clone();
    p.nodes.push(Node::DeepEq(10_000));
    expect_malformed(p, "literal out of range");

    // Two lists sharing entries could multiply evaluation work.
    let p = Pool {
        nodes: vec![
            Node::Const(true),
            Node::And(Span { start: 0, len: 1 }),
            Node::And(Span { start: 0, len: 1 }),
        ],
        lists: vec![0],
        ..Pool::default()
    };
    expect_malformed(p, "overlapping lists");

    // A chain deeper than the limit.
    let mut p = Pool::default();
    p.nodes.push(Node::Const(true));
    for i in 0..MAX_IR_DEPTH {
        p.nodes.push(Node::Not(i));
    }
    p.roots.push(MAX_IR_DEPTH);
    expect_malformed(p, "too deep");
    let mut p = Pool::default();
    p.nodes.push(Node::Const(true));
    for i in 0..MAX_IR_DEPTH - 1 {
        p.nodes.push(Node::Not(i));
    }
    assert!(p.prepare().is_ok(), "exactly at the depth limit");
}

#[test]
fn every_node_of_a_compiled_pool_has_one_parent() {
    let (pool, _) = sample_pool();
    let mut parents = vec![0u32; pool.nodes.len()];
    for node in &pool.nodes {
        match node.children() {
            Children::None => {}
            Children::One(c, _) => parents[c as usize] += 1,
            Children::List(span, _) => {
                for &c in &pool.lists[ir::span_range(span).unwrap()] {
                    parents[c as usize] += 1;
                }
            }
        }
    }
    let roots: Vec<usize> = pool.roots.iter().map(|&r| r as usize).collect();
    for (i, count) in parents.iter().enumerate() {
        assert_eq!(*count, u32::from(!roots.contains(&i)), "node {i}");
    }
}

/// A second implementor: profile attributes plus the contact's context under `context`.
struct View<'a> {
    profile: &'a Map<String, Value>,
    context: &'a Value,
}

impl Attributes for View<'_> {
    fn lookup(&self, path: &[&str]) -> Option<&Value> {
        match path.split_first() {
            Some((&"context", rest)) => lookup_path(self.context, rest),
            _ => self.profile.lookup(path),
        }
    }
}

#[test]
fn attributes_can_be_a_view() {
    let (pool, ids) = sample_pool();
    let prepared = pool.prepare().expect("prepare");
    let profile = sample_profile();
    let mut profile = profile.as_object().cloned().unwrap();
    profile.remove("context");
    let context = json!({"page": "/checkout"});
    let view = View { profile: &profile, context: &context };
    assert!(prepared.eval(ids[1], &view));
    assert!(prepared.eval(ids[0], &view));
    let dynamic: &dyn Attributes = &view;
    assert!(prepared.eval(ids[1], dynamic));
}

#[test]
fn long_paths_are_looked_up_too() {
    let path = (0..12).map(|i| format!("k{i}")).collect::<Vec<_>>().join(".");
    let attrs = (0..12).rev().fold(json!("deep"), |v, i| json!({ format!("k{i}"): v }));
    assert!(eval_lenient(json!({ path: "deep" }), attrs));
}

/// A synthetic catalogue of realistic conditions (segments, holdings, bands, page regex,
/// versions), 3 to 6 clauses each. With `unique_regexes`, every page pattern differs (no two
/// conditions share a regex), which defeats the regex memo.
fn benchmark_conditions(count: usize, unique_regexes: bool) -> Vec<Value> {
    let segments = ["young", "student", "family", "senior", "premium", "starter"];
    // Literal alternatives, a regex with a required prefix, a regex without one.
    let page_patterns =
        ["^/(products|offers)/N", r"^/products/\d+/(detail|reviews)", r"/[a-z]+/N(/|$)"];
    (0..count)
        .map(|i| {
            let mut page = page_patterns[i % page_patterns.len()].replace('N', &(i % 7).to_string());
            if unique_regexes {
                page = format!("{page}|^/never/{i}\\d");
            }
            let mut clauses = vec![
                json!({"segments": {"$in": [segments[i % 6], segments[(i + 2) % 6]]}}),
                json!({"age": {"$gte": 18 + (i % 20), "$lt": 60 + (i % 10)}}),
                json!({"context.page": {"$regex": page}}),
            ];
            if i % 2 == 0 {
                clauses.push(json!({"holdings": {"$elemMatch": {"type": "mortgage", "balance": {"$gt": 1000 * (i % 5)}}}}));
            }
            if i % 3 == 0 {
                clauses.push(json!({"context.appVersion": {"$vgte": format!("2.{}.0", i % 4)}}));
            }
            if i % 4 == 0 {
                clauses.push(json!({"income": {"$not": {"$lt": 20_000 + i}}, "country": {"$ini": ["NL", "BE"]}}));
            }
            json!({ "$and": clauses })
        })
        .collect()
}

/// Evaluates every condition against a fresh profile per round (a new page each round, so
/// regex memos start cold every round), with [`Prepared::eval`] or through a [`Session`] per
/// round; returns ns per condition and matches per round.
fn time_conditions(conditions: &[Value], rounds: usize, session: bool) -> (f64, usize) {
    let mut c = Compiler::new(Mode::Strict, &Map::new());
    let ids: Vec<CondId> =
        conditions.iter().map(|cond| c.compile(cond, "c").expect("compiles")).collect();
    let prepared = c.finish().prepare().expect("prepare");
    let profiles = benchmark_profiles(rounds);
    let mut matched = 0;
    let start = std::time::Instant::now();
    for profile in &profiles {
        if session {
            let s = prepared.session(profile);
            matched += ids.iter().filter(|&&id| s.eval(id)).count();
        } else {
            matched += ids.iter().filter(|&&id| prepared.eval(id, profile)).count();
        }
    }
    let per = start.elapsed().as_nanos() as f64 / (rounds * ids.len()) as f64;
    (per, matched / rounds)
}

fn benchmark_profiles(count: usize) -> Vec<Value> {
    let pages = ["/products/3/detail", "/offers/5", "/products/12/reviews", "/help/3"];
    (0..count)
        .map(|i| {
            json!({
                "segments": ["student", "premium"], "age": 34, "income": 52_000, "country": "nl",
                "holdings": [{"type": "savings", "balance": 1200}, {"type": "mortgage", "balance": 250_000}],
                "context": {"page": format!("{}?r={i}", pages[i % pages.len()]), "appVersion": "2.2.7"}
            })
        })
        .collect()
}

#[test]
fn sessions_agree_with_eval() {
    let mut c = Compiler::new(Mode::Strict, &Map::new());
    let conditions = benchmark_conditions(300, false);
    let ids: Vec<CondId> =
        conditions.iter().map(|cond| c.compile(cond, "c").expect("compiles")).collect();
    let prepared = c.finish().prepare().expect("prepare");
    for profile in benchmark_profiles(8) {
        let session = prepared.session(&profile);
        for &id in &ids {
            assert_eq!(session.eval(id), prepared.eval(id, &profile), "{id:?}");
        }
        assert!(!session.eval(CondId(100_000)));
    }
}

#[test]
#[ignore = "benchmark: cargo test --release --features compiler --lib -- --ignored --nocapture benchmark"]
fn benchmark_thousand_conditions() {
    let rounds = 200;
    for (unique, label) in [(false, "shared page regexes"), (true, "every page regex distinct")] {
        let conditions = benchmark_conditions(1000, unique);
        for session in [false, true] {
            let (per, matched) = time_conditions(&conditions, rounds, session);
            let how = if session { "session" } else { "eval" };
            println!("1000 conditions, {label}, {how}: {per:.0} ns/condition ({matched} match)");
        }
    }
}
