//! The Wasm build, called through its JavaScript bindings exactly as a page calls it: bundles
//! made by the native CLI earlier in the same `./build.sh test` run, options as JS objects, and
//! every refusal surfacing as a JS `Error` with its stable `code`. Runs in Node and in headless
//! Chromium (`WASM_BINDGEN_USE_BROWSER=1`).
#![cfg(target_arch = "wasm32")]

use js_sys::{Reflect, Uint8Array, JSON};
use opmaat::wasm::Engine;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_test::wasm_bindgen_test;

const SAMPLE_A: &[u8] = include_bytes!("../target/test-fixtures/sample-a.opb");
const SAMPLE_B: &[u8] = include_bytes!("../target/test-fixtures/sample-b.opb");
const KEYS: &str = include_str!("../target/test-fixtures/keys.json");
const NOW: &str = "2026-12-05T09:30:00Z";

fn key(name: &str, field: &str) -> String {
    let keys = JSON::parse(KEYS).unwrap();
    let entry = Reflect::get(&keys, &name.into()).unwrap();
    Reflect::get(&entry, &field.into()).unwrap().as_string().unwrap()
}

/// `{ trustedKeys: { <id of each named key>: <its public key> }, now: NOW, ...extra }`.
fn options(names: &[&str], extra: &str) -> JsValue {
    let trusted: Vec<String> = names
        .iter()
        .map(|n| format!("\"{}\":\"{}\"", key(n, "keyId"), key(n, "publicKey")))
        .collect();
    JSON::parse(&format!("{{\"trustedKeys\":{{{}}},\"now\":\"{NOW}\"{extra}}}", trusted.join(","))).unwrap()
}

fn bytes(b: &[u8]) -> JsValue {
    Uint8Array::from(b).into()
}

/// Loads and expects a refusal; returns the JS error's `code` after checking its shape.
fn refusal(bundle: JsValue, options: JsValue) -> String {
    let error = match Engine::load(bundle, options) {
        Ok(_) => panic!("expected the bundle to be refused"),
        Err(e) => e,
    };
    assert!(error.is_instance_of::<js_sys::Error>(), "not a JS Error: {error:?}");
    let message = error.unchecked_ref::<js_sys::Error>().message();
    assert!(!String::from(message).is_empty());
    Reflect::get(&error, &"code".into()).unwrap().as_string().expect("the error has a string code")
}

#[wasm_bindgen_test]
fn loads_a_bundle_built_by_the_native_cli() {
    let engine = Engine::load(bytes(SAMPLE_A), options(&["a"], "")).unwrap();
    assert_eq!(engine.bundle_id(), "bank-nl-web");
    assert_eq!(engine.version(), 1.0);
    assert_eq!(engine.key_id(), key("a", "keyId"));
    assert_eq!(engine.proposition_count(), 11);
    assert_eq!(engine.issued_at(), "2026-11-23T12:00:00Z");
    assert_eq!(engine.not_before(), "2026-11-01T00:00:00Z");
    assert_eq!(engine.expires_at(), "2027-06-01T00:00:00Z");
    let placements: Vec<String> = engine.placements().iter().filter_map(|p| p.as_string()).collect();
    assert_eq!(placements, ["overview", "homepage", "app-home", "agent"]);
}

#[wasm_bindgen_test]
fn accepts_an_array_buffer_and_several_keys() {
    let buffer = Uint8Array::from(SAMPLE_B).buffer();
    let engine = Engine::load(buffer.into(), options(&["a", "b"], "")).unwrap();
    assert_eq!(engine.key_id(), key("b", "keyId"));
    assert!(Engine::load(bytes(SAMPLE_A), options(&["a", "b"], "")).is_ok());
}

#[wasm_bindgen_test]
fn time_can_be_a_date_a_number_or_a_string() {
    let opts = options(&["a"], "");
    let date = js_sys::Date::new(&JsValue::from_str(NOW));
    Reflect::set(&opts, &"now".into(), &date).unwrap();
    assert!(Engine::load(bytes(SAMPLE_A), opts.clone()).is_ok());
    Reflect::set(&opts, &"now".into(), &JsValue::from_f64(date.get_time())).unwrap();
    assert!(Engine::load(bytes(SAMPLE_A), opts.clone()).is_ok());
    Reflect::set(&opts, &"now".into(), &JsValue::from_f64(0.0)).unwrap();
    assert_eq!(refusal(bytes(SAMPLE_A), opts), "not_yet_valid");
}

#[wasm_bindgen_test]
fn every_refusal_has_its_code() {
    let flipped = |i: usize| {
        let mut b = SAMPLE_A.to_vec();
        b[i] ^= 0x01;
        bytes(&b)
    };
    let a = || options(&["a"], "");
    assert_eq!(refusal(flipped(0), a()), "bad_magic");
    assert_eq!(refusal(flipped(4), a()), "unsupported_format_version");
    assert_eq!(refusal(flipped(7), a()), "unknown_key");
    assert_eq!(refusal(bytes(SAMPLE_B), a()), "unknown_key");
    assert_eq!(refusal(flipped(SAMPLE_A.len() - 10), a()), "bad_signature");
    assert_eq!(refusal(flipped(40), a()), "bad_signature");
    assert_eq!(refusal(bytes(SAMPLE_A), options(&["a"], ",\"minVersion\":2")), "rollback");
    assert_eq!(refusal(bytes(&[SAMPLE_A, &[0]].concat()), a()), "trailing_bytes");
    assert_eq!(refusal(bytes(&SAMPLE_A[..SAMPLE_A.len() - 1]), a()), "malformed_payload");
    assert_eq!(refusal(bytes(&vec![b'O'; 8 * 1024 * 1024 + 1]), a()), "too_large");

    let at = |now: &str| {
        let opts = a();
        Reflect::set(&opts, &"now".into(), &now.into()).unwrap();
        opts
    };
    assert_eq!(refusal(bytes(SAMPLE_A), at("2026-10-31T23:59:59Z")), "not_yet_valid");
    assert_eq!(refusal(bytes(SAMPLE_A), at("2027-06-01T00:00:00Z")), "expired");
    assert!(Engine::load(bytes(SAMPLE_A), at("2027-05-31T23:59:59Z")).is_ok());

    let wrong_id = JSON::parse(&format!(
        "{{\"trustedKeys\":{{\"{}\":\"{}\"}}}}",
        key("b", "keyId"),
        key("a", "publicKey")
    ))
    .unwrap();
    assert_eq!(refusal(bytes(SAMPLE_A), wrong_id), "invalid_key");
}

#[wasm_bindgen_test]
fn bad_arguments_are_reported_not_fatal() {
    let parse = |s: &str| JSON::parse(s).unwrap();
    assert_eq!(refusal(JsValue::from_str("OPMB"), options(&["a"], "")), "invalid_argument");
    assert_eq!(refusal(bytes(SAMPLE_A), JsValue::UNDEFINED), "invalid_argument");
    assert_eq!(refusal(bytes(SAMPLE_A), parse("{}")), "invalid_argument");
    assert_eq!(refusal(bytes(SAMPLE_A), parse("{\"trustedKeys\":{}}")), "invalid_argument");
    assert_eq!(refusal(bytes(SAMPLE_A), parse("{\"trustedKeys\":[]}")), "invalid_argument");
    assert_eq!(refusal(bytes(SAMPLE_A), options(&["a"], ",\"now\":true")), "invalid_argument");
    assert_eq!(refusal(bytes(SAMPLE_A), options(&["a"], ",\"minVersion\":-1")), "invalid_argument");
    assert_eq!(refusal(bytes(SAMPLE_A), options(&["a"], ",\"minVersion\":1.5")), "invalid_argument");
    // After all of that the instance still works.
    assert!(Engine::load(bytes(SAMPLE_A), options(&["a"], "")).is_ok());
}
