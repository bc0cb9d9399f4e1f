//! GrowthBook's SDK conformance suite (spec 0.7.1, see `conformance/LICENSE-growthbook.md`),
//! run through the public API: every case of `evalCondition`, `hash`, `getBucketRange`,
//! `chooseVariation`, `inNamespace` and `getEqualWeights`, each reported by name.
//!
//! Conditions take the real path: compiled in lenient mode, the pool serialised with postcard
//! and read back, prepared, then evaluated. The same suite runs natively and, built for
//! wasm32, in Node and in headless Chromium (see build.sh); run it with `--nocapture` to see
//! every case by name.
#![cfg(feature = "compiler")]

#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::{console_log as say, wasm_bindgen_test as test};
#[cfg(not(target_arch = "wasm32"))]
use std::println as say;

use opmaat::condition::{self, Compiler, Mode, Pool};
use serde_json::{Map, Value};

const CASES: &str = include_str!("conformance/growthbook-cases.json");
const TOLERANCE: f64 = 1e-6;

/// Collects the outcome of every case; failures are listed together at the end.
#[derive(Default)]
struct Report {
    passed: usize,
    failures: Vec<String>,
}

impl Report {
    fn check(&mut self, section: &str, name: &str, outcome: Result<(), String>) {
        match outcome {
            Ok(()) => {
                say!("ok {section}: {name}");
                self.passed += 1;
            }
            Err(why) => {
                say!("FAILED {section}: {name}: {why}");
                self.failures.push(format!("{section}: {name}: {why}"));
            }
        }
    }
}

fn section<'a>(suite: &'a Value, name: &str) -> &'a [Value] {
    suite[name].as_array().map(Vec::as_slice).unwrap_or_else(|| panic!("section {name} missing"))
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < TOLERANCE
}

fn as_f64(v: &Value) -> f64 {
    v.as_f64().unwrap_or_else(|| panic!("not a number: {v}"))
}

fn ranges(v: &Value) -> Vec<(f64, f64)> {
    v.as_array()
        .map(|rs| rs.iter().map(|r| (as_f64(&r[0]), as_f64(&r[1]))).collect())
        .unwrap_or_else(|| panic!("not a list of ranges: {v}"))
}

fn eval_condition_case(case: &[Value]) -> Result<(), String> {
    let (condition, attributes, expected) = (&case[1], &case[2], case[3].as_bool());
    let groups = case.get(4).and_then(Value::as_object).cloned().unwrap_or_else(Map::new);
    let mut compiler = Compiler::new(Mode::Lenient, &groups);
    let id = compiler.compile(condition, "condition").map_err(|e| format!("compile: {e}"))?;
    let bytes = postcard::to_allocvec(&compiler.finish()).map_err(|e| format!("serialise: {e}"))?;
    let pool: Pool = postcard::from_bytes(&bytes).map_err(|e| format!("deserialise: {e}"))?;
    let prepared = pool.prepare().map_err(|e| format!("prepare: {e}"))?;
    let actual = prepared.eval(id, attributes);
    if Some(actual) == expected {
        Ok(())
    } else {
        Err(format!("expected {expected:?}, got {actual}"))
    }
}

fn hash_case(case: &[Value]) -> Result<(), String> {
    let seed = case[0].as_str().unwrap_or_default();
    let value = case[1].as_str().unwrap_or_default();
    let version = case[2].as_u64().and_then(|v| u32::try_from(v).ok()).unwrap_or(u32::MAX);
    let actual = condition::hash(seed, value, version);
    let ok = match (actual, case[3].as_f64()) {
        (None, None) => true,
        (Some(a), Some(e)) => close(a, e),
        _ => false,
    };
    if ok {
        Ok(())
    } else {
        Err(format!("expected {}, got {actual:?}", case[3]))
    }
}

fn bucket_range_case(case: &[Value]) -> Result<(), String> {
    let args = &case[1];
    let n = args[0].as_u64().and_then(|v| u32::try_from(v).ok()).ok_or("bad count")?;
    let weights: Option<Vec<f64>> = args[2].as_array().map(|w| w.iter().map(as_f64).collect());
    let actual = condition::get_bucket_range(n, as_f64(&args[1]), weights.as_deref());
    let expected = ranges(&case[2]);
    let same = actual.len() == expected.len()
        && actual.iter().zip(&expected).all(|(a, e)| close(a.0, e.0) && close(a.1, e.1));
    if same {
        Ok(())
    } else {
        Err(format!("expected {expected:?}, got {actual:?}"))
    }
}

fn choose_variation_case(case: &[Value]) -> Result<(), String> {
    let actual = condition::choose_variation(as_f64(&case[1]), &ranges(&case[2]));
    let expected = case[3].as_i64();
    if Some(i64::from(actual)) == expected {
        Ok(())
    } else {
        Err(format!("expected {expected:?}, got {actual}"))
    }
}

fn in_namespace_case(case: &[Value]) -> Result<(), String> {
    let id = case[1].as_str().unwrap_or_default();
    let ns = &case[2];
    let namespace = (ns[0].as_str().unwrap_or_default(), as_f64(&ns[1]), as_f64(&ns[2]));
    let actual = condition::in_namespace(id, namespace);
    if Some(actual) == case[3].as_bool() {
        Ok(())
    } else {
        Err(format!("expected {}, got {actual}", case[3]))
    }
}

fn equal_weights_case(case: &[Value]) -> Result<(), String> {
    // The API takes a u32; GrowthBook's negative counts (the -1 case) mean "none", as 0 does.
    let n = case[0].as_i64().ok_or("bad count")?;
    let actual = condition::get_equal_weights(u32::try_from(n.max(0)).map_err(|e| e.to_string())?);
    let expected: Vec<f64> =
        case[1].as_array().ok_or("bad expectation")?.iter().map(as_f64).collect();
    let same =
        actual.len() == expected.len() && actual.iter().zip(&expected).all(|(a, e)| close(*a, *e));
    if same {
        Ok(())
    } else {
        Err(format!("expected {expected:?}, got {actual:?}"))
    }
}

#[test]
fn growthbook_conformance_suite() {
    let suite: Value = serde_json::from_str(CASES).expect("the suite is JSON");
    let mut report = Report::default();
    type Runner = fn(&[Value]) -> Result<(), String>;
    let sections: [(&str, Runner, bool); 6] = [
        ("evalCondition", eval_condition_case, true),
        ("hash", hash_case, false),
        ("getBucketRange", bucket_range_case, true),
        ("chooseVariation", choose_variation_case, true),
        ("inNamespace", in_namespace_case, true),
        ("getEqualWeights", equal_weights_case, false),
    ];
    let mut total = 0;
    for (name, run, named) in sections {
        for case in section(&suite, name) {
            let case = case
                .as_array()
                .map(Vec::as_slice)
                .unwrap_or_else(|| panic!("{name}: case is not an array"));
            // Unnamed sections are reported by their arguments.
            let label = if named {
                case[0].as_str().unwrap_or("?").to_owned()
            } else {
                Value::Array(case[..case.len() - 1].to_vec()).to_string()
            };
            total += 1;
            report.check(name, &label, run(case));
        }
    }
    say!("{} of {total} conformance cases passed", report.passed);
    assert!(
        report.failures.is_empty(),
        "{} failing case(s):\n{}",
        report.failures.len(),
        report.failures.join("\n")
    );
    assert_eq!(total, 259 + 15 + 13 + 13 + 16 + 6, "every case ran");
}
