//! Every conversion between the caller's JavaScript values and the crate's Rust types, in one
//! place (as automerge-wasm's `interop.rs`), so the exports in `mod.rs` stay one-liners over it.
//!
//! The values come from the page, which may hand over anything: Proxies whose every trap
//! throws, revoked Proxies, getters that throw, detached buffers, cycles, BigInts, Symbols. A JS
//! exception thrown by an import that is not declared `catch` unwinds straight through the Wasm
//! frames: destructors never run, the shadow stack pointer is not restored and wasm-bindgen's
//! borrow of the engine stays held, so a few hundred of them ruin the instance. Hence the rule
//! of this module: **every JS call on a value that came from the caller goes through a `catch`
//! import** (ours below, or js-sys's `Reflect`/`JSON`, which are `catch`), and its failure
//! becomes a coded [`Error`]. Only values this module made itself (the arrays `Object.keys`
//! returns, fresh `Uint8Array` copies) are touched through js-sys's plain imports.
//!
//! Option objects are closed: a key the export does not know (a typo such as `minversion`) is an
//! `invalid_argument` error that names it and lists the known ones, never silently ignored.
//!
//! Objects from the page (profile snapshots, contexts) cross into Wasm once, as JSON text made by
//! `JSON.stringify`: one call, whatever the size, where walking an object from Rust costs one
//! boundary crossing per property (and would run the caller's getters one by one).
//!
//! Decisions go back the other way built directly as JS objects by serde-wasm-bindgen
//! ([`to_js_direct`]); measured in Node on a 3-slot decision (2.7 KB as JSON), this saves about
//! 10 µs of the 50–60 µs a decision of 100 propositions takes (`serde_json` writing the text plus
//! `JSON.parse` reading it cost 20 µs together), for 5 KB of gzipped `.wasm`. Other results
//! (ledgers, load options) are small and rare: they keep the JSON text ([`to_js`]).

use js_sys::{Array, JsString, Reflect, Uint8Array};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

use crate::bundle::envelope::Format;
use crate::bundle::TrustedKeys;
use crate::time::{parse_rfc3339, Timestamp};
use crate::{Error, Result};

#[wasm_bindgen]
extern "C" {
    /// `Object.keys(value)`: the own enumerable string keys. A Proxy's `ownKeys` or
    /// `getOwnPropertyDescriptor` trap may throw, and so does a revoked Proxy.
    #[wasm_bindgen(catch, js_namespace = Object, js_name = keys)]
    fn object_keys(value: &JsValue) -> std::result::Result<Array, JsValue>;

    /// `Array.isArray(value)`: throws for a revoked Proxy.
    #[wasm_bindgen(catch, js_namespace = Array, js_name = isArray)]
    fn is_array(value: &JsValue) -> std::result::Result<bool, JsValue>;

    /// `Date.prototype.getTime.call(value)`: the time of a real `Date` (NaN when it is invalid),
    /// a TypeError for anything else. A brand check: it runs no getter and no Proxy trap, so a
    /// Date subclass or a Date with its own `getTime` reads as the Date it is.
    #[wasm_bindgen(catch, js_namespace = ["Date", "prototype", "getTime"], js_name = call)]
    fn date_time(value: &JsValue) -> std::result::Result<f64, JsValue>;

    /// A `Uint8Array` made here, by [`ByteView::of`].
    #[wasm_bindgen(js_name = Uint8Array)]
    type ByteView;

    /// `new Uint8Array(value)`: a copy of a Uint8Array, a view of an ArrayBuffer. Throws for a
    /// detached buffer, and runs a Proxy's traps when one poses as a Uint8Array.
    #[wasm_bindgen(catch, constructor, js_class = "Uint8Array")]
    fn of(value: &JsValue) -> std::result::Result<ByteView, JsValue>;

    /// `Symbol.for(key)`: a symbol from the global registry (shared with the package's JS).
    #[wasm_bindgen(js_namespace = Symbol, js_name = "for")]
    fn registered_symbol(key: &str) -> JsValue;
}

/// Turns a crate error into a JS `Error` named `OpmaatError` with a `code` property.
pub fn js_error(error: &Error) -> JsValue {
    let js = js_sys::Error::new(&error.to_string());
    js.set_name(ERROR_NAME);
    // Setting a property on a fresh Error object cannot fail.
    let _ = Reflect::set(&js, &"code".into(), &error.code().into());
    js.into()
}

/// The `name` of every error the engine throws; the package's host entries recognise it.
const ERROR_NAME: &str = "OpmaatError";

/// The registry key of the symbol the package's JS `Profile` handles carry, so that a handle put
/// where a snapshot belongs is recognised as one (wasm-bindgen's own handles carry `__wbg_ptr`).
const PROFILE_HANDLE_SYMBOL: &str = "opmaat.Profile";

/// The property that marks a wasm-bindgen handle.
const WASM_BINDGEN_HANDLE_KEY: &str = "__wbg_ptr";

/// The largest integer a JS number holds exactly.
const MAX_SAFE_INTEGER: f64 = 9_007_199_254_740_991.0;

/// The range of a JS `Date`: ±100,000,000 days around the epoch, in milliseconds.
const MAX_DATE_MS: f64 = 8.64e15;

const MS_PER_SECOND: f64 = 1000.0;

/// Most keys a key map (`trustedKeys`, `profileKeys`) may hold: rotation needs two or three.
const MAX_KEYS: usize = 64;

/// Most placements one `decideAll` call decides.
const MAX_PLACEMENTS_PER_CALL: usize = crate::limits::MAX_PLACEMENTS;

/// A caller's option object whose keys were checked against the ones the export knows.
pub struct Fields<'v> {
    object: &'v JsValue,
    path: &'static str,
}

impl<'v> Fields<'v> {
    /// Checks that `value` is an object with no key outside `known`. `path` names it in errors
    /// (`options`, `request`, `event`); `example` shows the caller what to pass.
    pub fn new(value: &'v JsValue, path: &'static str, known: &[&str], example: &str) -> Result<Fields<'v>> {
        if !value.is_object() {
            return Err(Error::argument(path, format!("expected an object such as {example}")));
        }
        let keys = object_keys(value).map_err(|_| unreadable(path))?;
        for key in keys.iter() {
            let key = key.as_string().unwrap_or_default();
            if !known.contains(&key.as_str()) {
                return Err(Error::argument(
                    format!("{path}.{key}"),
                    format!("unknown key {key:?}; the known keys are {}", known.join(", ")),
                ));
            }
        }
        Ok(Fields { object: value, path })
    }

    /// The value under `key` (undefined when absent).
    pub fn get(&self, key: &str) -> Result<JsValue> {
        Reflect::get(self.object, &key.into()).map_err(|_| unreadable(format!("{}.{key}", self.path)))
    }

    /// The error path of `key`.
    pub fn path(&self, key: &str) -> String {
        format!("{}.{key}", self.path)
    }

    /// A required string.
    pub fn string(&self, key: &str) -> Result<String> {
        self.get(key)?.as_string().ok_or_else(|| Error::argument(self.path(key), "expected a string"))
    }

    /// An optional `true`/`false`; `undefined` or `null` is `false`.
    pub fn flag(&self, key: &str) -> Result<bool> {
        let value = self.get(key)?;
        if is_absent(&value) {
            return Ok(false);
        }
        value.as_bool().ok_or_else(|| Error::argument(self.path(key), "expected true or false"))
    }

    /// An optional time; absent means the host's clock now.
    pub fn time(&self, key: &str) -> Result<Timestamp> {
        Ok(match self.optional_time(key)? {
            Some(t) => t,
            None => clock(),
        })
    }

    /// An optional time, `None` when absent.
    pub fn optional_time(&self, key: &str) -> Result<Option<Timestamp>> {
        let value = self.get(key)?;
        if is_absent(&value) {
            return Ok(None);
        }
        time(&value, &self.path(key)).map(Some)
    }
}

fn unreadable(path: impl std::fmt::Display) -> Error {
    Error::argument(path, "could not be read (a getter or a Proxy trap threw, or the Proxy was revoked)")
}

/// `undefined` or `null`: an optional value left out.
pub fn is_absent(value: &JsValue) -> bool {
    value.is_undefined() || value.is_null()
}

/// The host's clock, in whole seconds.
pub fn clock() -> Timestamp {
    seconds(js_sys::Date::now())
}

fn seconds(ms: f64) -> Timestamp {
    // `ms` is finite and within a Date's range: the cast is exact after `floor`.
    (ms / MS_PER_SECOND).floor() as Timestamp
}

/// A time: a `Date`, milliseconds since the epoch, or an RFC 3339 string.
pub fn time(value: &JsValue, path: &str) -> Result<Timestamp> {
    let ms = if let Some(ms) = value.as_f64() {
        ms
    } else if let Some(text) = value.as_string() {
        return parse_rfc3339(&text, path);
    } else if let Some(ms) = value.is_object().then(|| date_time(value).ok()).flatten() {
        ms
    } else {
        return Err(Error::argument(path, "expected a Date, milliseconds since the epoch, or an RFC 3339 string"));
    };
    if !ms.is_finite() || ms.abs() > MAX_DATE_MS {
        return Err(Error::argument(path, "is not a valid time (an invalid Date, NaN, or beyond a Date's range)"));
    }
    Ok(seconds(ms))
}

/// A whole number from 0 to 2^53 − 1.
pub fn whole_number(value: &JsValue, path: &str) -> Result<u64> {
    match value.as_f64() {
        Some(v) if v >= 0.0 && v.fract() == 0.0 && v <= MAX_SAFE_INTEGER => Ok(v as u64),
        _ => Err(Error::argument(path, "expected a whole number from 0 to 2^53 - 1")),
    }
}

/// The bundle's bytes from a `Uint8Array` or an `ArrayBuffer`.
pub fn bundle_bytes(value: &JsValue) -> Result<Vec<u8>> {
    document_bytes(value, &crate::bundle::envelope::BUNDLE)
}

/// An availability overlay's bytes from a `Uint8Array` or an `ArrayBuffer`.
pub fn overlay_bytes(value: &JsValue) -> Result<Vec<u8>> {
    document_bytes(value, &crate::bundle::overlay::OVERLAY)
}

/// A signed document's bytes, refused past its format's size limit before they are copied.
fn document_bytes(value: &JsValue, format: &Format) -> Result<Vec<u8>> {
    // wasm-bindgen's `instanceof` checks catch what a Proxy's `getPrototypeOf` trap throws.
    if !(value.is_instance_of::<Uint8Array>() || value.is_instance_of::<js_sys::ArrayBuffer>()) {
        return Err(Error::argument("bytes", format!("expected a Uint8Array or an ArrayBuffer with the {}", format.what)));
    }
    let array: Uint8Array = ByteView::of(value)
        .map(JsCast::unchecked_into)
        .map_err(|_| Error::argument("bytes", "could not be read (a detached ArrayBuffer, or a Proxy posing as one?)"))?;
    let len = array.length() as usize;
    if len > format.max_bytes {
        return Err(Error::too_large(format.what, format.max_bytes as u64, len as u64));
    }
    Ok(array.to_vec())
}

/// A map of key ids to base64 Ed25519 public keys, with the pairs as given (for a reload).
pub fn key_map(value: &JsValue, path: &str) -> Result<(TrustedKeys, Vec<(String, String)>)> {
    let expected = || Error::argument(path, "expected an object mapping key ids to base64 public keys");
    if !value.is_object() || is_array(value).map_err(|_| unreadable(path))? {
        return Err(expected());
    }
    let ids = object_keys(value).map_err(|_| unreadable(path))?;
    if ids.length() as usize > MAX_KEYS {
        return Err(Error::too_large(path, MAX_KEYS as u64, u64::from(ids.length())));
    }
    let mut trusted = TrustedKeys::new();
    let mut pairs = Vec::new();
    for id in ids.iter() {
        let id = id.as_string().unwrap_or_default();
        let key_path = format!("{path}.{id}");
        let key = Reflect::get(value, &JsValue::from_str(&id))
            .map_err(|_| unreadable(&key_path))?
            .as_string()
            .ok_or_else(|| Error::argument(&key_path, "expected a base64 public key string"))?;
        trusted.add_base64(&id, &key)?;
        pairs.push((id, key));
    }
    if trusted.is_empty() {
        return Err(Error::argument(path, "no keys given: every signature would be refused"));
    }
    Ok((trusted, pairs))
}

/// The placement ids of a `placements` array.
pub fn placement_list(value: &JsValue, path: &str) -> Result<Vec<String>> {
    if !is_array(value).map_err(|_| unreadable(path))? {
        return Err(Error::argument(path, "expected an array of placement ids"));
    }
    // The length first: a sparse array may claim billions of entries.
    let len = Reflect::get(value, &"length".into()).map_err(|_| unreadable(path))?.as_f64().unwrap_or(0.0);
    if len > MAX_PLACEMENTS_PER_CALL as f64 {
        return Err(Error::too_large(path, MAX_PLACEMENTS_PER_CALL as u64, len as u64));
    }
    (0..len as u32)
        .map(|i| {
            let item_path = format!("{path}[{i}]");
            Reflect::get_u32(value, i)
                .map_err(|_| unreadable(&item_path))?
                .as_string()
                .ok_or_else(|| Error::argument(item_path, "expected a string"))
        })
        .collect()
}

/// The ledger string; `undefined` or `null` is no ledger yet.
pub fn ledger_text(value: &JsValue) -> Result<Option<String>> {
    if is_absent(value) {
        return Ok(None);
    }
    value.as_string().map(Some).ok_or_else(|| Error::argument("ledger", "expected the ledger string (or undefined)"))
}

/// A JS value as JSON text (objects from the page cross into Wasm once, as text). Runs the
/// caller's getters, `toJSON` methods and Proxy traps; whatever they throw is an error here.
pub fn json_text(value: &JsValue, path: &str) -> Result<String> {
    js_sys::JSON::stringify(value)
        .ok()
        .and_then(|s: JsString| s.as_string())
        .ok_or_else(|| Error::argument(path, "could not be turned into JSON (a cycle, a BigInt, a getter or Proxy trap that threw?)"))
}

/// A profile snapshot as JSON text: the text itself, or an object made JSON.
pub fn snapshot_text(value: &JsValue, path: &str) -> Result<String> {
    if let Some(text) = value.as_string() {
        return Ok(text);
    }
    if !value.is_object() {
        return Err(Error::argument(path, "expected a profile snapshot: an object or its JSON text"));
    }
    json_text(value, path)
}

/// Whether `value` is a `Profile` handle (of the package's JS or of wasm-bindgen's bindings).
pub fn is_profile_handle(value: &JsValue) -> bool {
    value.is_object()
        && [JsValue::from_str(WASM_BINDGEN_HANDLE_KEY), registered_symbol(PROFILE_HANDLE_SYMBOL)]
            .iter()
            .any(|key| Reflect::has(value, key).unwrap_or(false))
}

/// A Rust value as a JS value, built directly as JS objects (serde-wasm-bindgen).
pub fn to_js_direct(value: &impl serde::Serialize) -> Result<JsValue> {
    let serializer = serde_wasm_bindgen::Serializer::json_compatible();
    value.serialize(&serializer).map_err(|_| Error::argument("result", "could not be made a JS value"))
}

/// A Rust value as a JS value, through JSON.
pub fn to_js(value: &impl serde::Serialize) -> Result<JsValue> {
    let text = serde_json::to_string(value).map_err(|e| Error::argument("result", e))?;
    js_sys::JSON::parse(&text).map_err(|_| Error::argument("result", "not JSON"))
}

/// A plain JS object this module fills, for results too small to be worth a trip through JSON.
pub struct PlainObject(js_sys::Object);

impl PlainObject {
    pub fn new() -> PlainObject {
        PlainObject(js_sys::Object::new())
    }

    pub fn set(&self, key: &str, value: &JsValue) {
        // Setting a property of a fresh plain object cannot fail.
        let _ = Reflect::set(&self.0, &JsValue::from_str(key), value);
    }
}

impl From<PlainObject> for JsValue {
    fn from(object: PlainObject) -> JsValue {
        object.0.into()
    }
}

/// An applied overlay's summary as the JS object `OverlaySummary` (built here: no serialiser
/// for one small object).
pub fn overlay_summary(summary: &crate::bundle::overlay::Summary) -> JsValue {
    let object = PlainObject::new();
    object.set("bundleId", &JsValue::from_str(&summary.bundle_id));
    object.set("sequence", &JsValue::from_f64(summary.sequence as f64));
    object.set("issuedAt", &JsValue::from_str(&summary.issued_at));
    object.set("notBefore", &JsValue::from_str(&summary.not_before));
    object.set("expiresAt", &JsValue::from_str(&summary.expires_at));
    object.set("propositions", &JsValue::from_f64(f64::from(summary.propositions)));
    object.set("unknownPropositions", &string_array(summary.unknown_propositions.iter().map(String::as_str)));
    object.into()
}

/// Key id → base64 key pairs as a JS object, the form [`key_map`] reads.
pub fn key_map_object(pairs: &[(String, String)]) -> JsValue {
    let object = PlainObject::new();
    for (id, key) in pairs {
        object.set(id, &JsValue::from_str(key));
    }
    object.into()
}

/// Strings as a JS array.
pub fn string_array<'s>(items: impl Iterator<Item = &'s str>) -> Array {
    items.map(JsValue::from_str).collect()
}

