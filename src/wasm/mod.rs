//! The JavaScript face of opmaat: wasm-bindgen bindings and nothing else.
//!
//! Each export turns JS values into the crate's Rust types, calls the same code the CLI and the
//! tests call, and turns the result back. Errors become a JS `Error` whose `code` property is the
//! stable [`crate::Error::code`]; no export panics, so a bad input never kills the instance.
//!
//! ```js
//! import { Engine } from "opmaat";
//! const engine = Engine.load(new Uint8Array(await (await fetch("/bank-nl-web.opb")).arrayBuffer()),
//!                            { trustedKeys: { "56320c0174a46d32": "hv5BlKP7…UqUTA=" } });
//! engine.bundleId; engine.version; engine.propositionCount;
//! ```

use js_sys::{Array, Object, Reflect, Uint8Array};
use wasm_bindgen::prelude::*;

use crate::bundle::limits::MAX_BUNDLE_BYTES;
use crate::bundle::{LoadOptions, TrustedKeys};
use crate::time::{format_rfc3339, parse_rfc3339, Timestamp};
use crate::Error;

#[wasm_bindgen(typescript_custom_section)]
const TS_TYPES: &str = r#"
/** Options of `Engine.load`. */
export interface LoadOptions {
  /** Public keys bundles may be signed with: key id (16 hex digits) → base64 Ed25519 public key. */
  trustedKeys: Record<string, string>;
  /** The current time: a `Date`, milliseconds since the epoch, or an RFC 3339 string. Default: now. */
  now?: Date | number | string;
  /** The version already in use: an older bundle is refused with code `rollback`. */
  minVersion?: number;
}

/** Stable codes of the errors opmaat throws (as the `code` property of an `Error`). */
export type ErrorCode =
  | "bad_magic" | "unsupported_format_version" | "unknown_key" | "invalid_key" | "bad_signature"
  | "not_yet_valid" | "expired" | "rollback" | "too_large" | "trailing_bytes" | "malformed_payload"
  | "invalid_catalogue" | "invalid_condition" | "invalid_argument" | "io";

/** An error thrown by opmaat. */
export interface OpmaatError extends Error {
  code: ErrorCode;
}
"#;

/// Turns a crate error into a JS `Error` with a `code` property.
pub fn to_js_error(error: &Error) -> JsValue {
    let js = js_sys::Error::new(&error.to_string());
    js.set_name("OpmaatError");
    // Setting a property on a fresh Error object cannot fail.
    let _ = Reflect::set(&js, &"code".into(), &error.code().into());
    js.into()
}

/// A verified bundle, ready to decide from.
#[wasm_bindgen]
pub struct Engine {
    inner: crate::Engine,
}

#[wasm_bindgen]
impl Engine {
    /// Verifies and loads a bundle. Throws an `OpmaatError` whose `code` says why a bundle was
    /// refused: `bad_signature`, `expired`, `rollback`, …
    pub fn load(
        #[wasm_bindgen(unchecked_param_type = "Uint8Array | ArrayBuffer")] bytes: JsValue,
        #[wasm_bindgen(unchecked_param_type = "LoadOptions")] options: JsValue,
    ) -> Result<Engine, JsValue> {
        load(bytes, options).map_err(|e| to_js_error(&e))
    }

    /// The catalogue id the bundle was built from.
    #[wasm_bindgen(getter, js_name = bundleId)]
    pub fn bundle_id(&self) -> String {
        self.inner.bundle_id().to_string()
    }

    /// The bundle's version; pass it as `minVersion` when loading the next one.
    #[wasm_bindgen(getter)]
    pub fn version(&self) -> f64 {
        self.inner.version() as f64
    }

    /// The id of the key that signed the bundle.
    #[wasm_bindgen(getter, js_name = keyId)]
    pub fn key_id(&self) -> String {
        self.inner.key_id()
    }

    /// When the bundle was built (RFC 3339).
    #[wasm_bindgen(getter, js_name = issuedAt)]
    pub fn issued_at(&self) -> String {
        format_rfc3339(self.inner.issued_at())
    }

    /// Start of the validity window (RFC 3339).
    #[wasm_bindgen(getter, js_name = notBefore)]
    pub fn not_before(&self) -> String {
        format_rfc3339(self.inner.not_before())
    }

    /// End of the validity window, exclusive (RFC 3339).
    #[wasm_bindgen(getter, js_name = expiresAt)]
    pub fn expires_at(&self) -> String {
        format_rfc3339(self.inner.expires_at())
    }

    /// How many propositions the bundle carries.
    #[wasm_bindgen(getter, js_name = propositionCount)]
    pub fn proposition_count(&self) -> u32 {
        self.inner.proposition_count() as u32
    }

    /// The ids of the bundle's placements.
    #[wasm_bindgen(getter, unchecked_return_type = "string[]")]
    pub fn placements(&self) -> Array {
        self.inner.placement_ids().map(JsValue::from).collect()
    }
}

fn load(bytes: JsValue, options: JsValue) -> crate::Result<Engine> {
    let bytes = bundle_bytes(&bytes)?;
    if !options.is_object() {
        return Err(Error::argument("options", "expected an object such as { trustedKeys: { \"<key id>\": \"<base64 public key>\" } }"));
    }
    let trusted = trusted_keys(&get(&options, "trustedKeys")?)?;
    let now = now(&get(&options, "now")?)?;
    let min_version = min_version(&get(&options, "minVersion")?)?;
    let inner = crate::Engine::load(&bytes, &LoadOptions { trusted_keys: &trusted, now, min_version })?;
    Ok(Engine { inner })
}

fn get(object: &JsValue, key: &str) -> crate::Result<JsValue> {
    Reflect::get(object, &key.into()).map_err(|_| Error::argument(format!("options.{key}"), "could not be read"))
}

fn bundle_bytes(value: &JsValue) -> crate::Result<Vec<u8>> {
    if !(value.is_instance_of::<Uint8Array>() || value.is_instance_of::<js_sys::ArrayBuffer>()) {
        return Err(Error::argument("bytes", "expected a Uint8Array or an ArrayBuffer with the bundle"));
    }
    let array = Uint8Array::new(value);
    let len = array.length() as usize;
    if len > MAX_BUNDLE_BYTES {
        return Err(Error::too_large("bundle", MAX_BUNDLE_BYTES as u64, len as u64));
    }
    Ok(array.to_vec())
}

fn trusted_keys(value: &JsValue) -> crate::Result<TrustedKeys> {
    let path = "options.trustedKeys";
    if !value.is_object() || Array::is_array(value) {
        return Err(Error::argument(path, "expected an object mapping key ids to base64 public keys"));
    }
    let mut trusted = TrustedKeys::new();
    for entry in Object::entries(value.unchecked_ref()).iter() {
        let entry: Array = entry.unchecked_into();
        let id = entry.get(0).as_string().unwrap_or_default();
        let key = entry.get(1).as_string().ok_or_else(|| {
            Error::argument(format!("{path}.{id}"), "expected a base64 public key string")
        })?;
        trusted.add_base64(&id, &key)?;
    }
    if trusted.is_empty() {
        return Err(Error::argument(path, "no trusted keys given: every bundle would be refused"));
    }
    Ok(trusted)
}

const MS_PER_SECOND: f64 = 1000.0;

fn now(value: &JsValue) -> crate::Result<Timestamp> {
    let path = "options.now";
    let ms = if value.is_undefined() || value.is_null() {
        js_sys::Date::now()
    } else if let Some(date) = value.dyn_ref::<js_sys::Date>() {
        date.get_time()
    } else if let Some(ms) = value.as_f64() {
        ms
    } else if let Some(text) = value.as_string() {
        return parse_rfc3339(&text, path);
    } else {
        return Err(Error::argument(path, "expected a Date, milliseconds since the epoch, or an RFC 3339 string"));
    };
    if !ms.is_finite() {
        return Err(Error::argument(path, "is not a valid time"));
    }
    Ok((ms / MS_PER_SECOND).floor() as Timestamp)
}

/// The largest integer a JS number holds exactly.
const MAX_SAFE_INTEGER: f64 = 9_007_199_254_740_991.0;

fn min_version(value: &JsValue) -> crate::Result<Option<u64>> {
    if value.is_undefined() || value.is_null() {
        return Ok(None);
    }
    match value.as_f64() {
        Some(v) if v >= 0.0 && v.fract() == 0.0 && v <= MAX_SAFE_INTEGER => Ok(Some(v as u64)),
        _ => Err(Error::argument("options.minVersion", "expected a whole number of 0 or more")),
    }
}
