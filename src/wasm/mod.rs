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

use crate::limits::MAX_BUNDLE_BYTES;
use crate::bundle::{LoadOptions, TrustedKeys};
use crate::decide::{Context, DecideRequest};
use crate::ledger::{EventKind, Ledger, Recorded};
use crate::profile::ProfilePolicy;
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
  /** Keys the bank signs profile snapshots with: key id → base64 public key. */
  profileKeys?: Record<string, string>;
  /** Refuse profile snapshots not signed by one of `profileKeys` (code `unsigned_profile`). Default false. */
  requireSignedProfiles?: boolean;
}

/** A pseudonymous profile snapshot (or its signed form `{ snapshot, keyId, signature }`). */
export type ProfileSnapshot = Record<string, unknown> | string;

/** The contact: where and how the customer meets the placement. */
export interface DecisionContext {
  channel?: string;
  placement?: string;
  page?: string;
  topic?: string;
  /** BCP 47, e.g. "nl-NL". */
  locale?: string;
  formFactor?: "small" | "large";
  [extra: string]: unknown;
}

/** What `decideFor` and `decideAll` need besides the profile. */
export interface DecideOptions {
  context?: DecisionContext;
  /** The ledger string (from localStorage or a cookie); a bad one is reset with a warning. */
  ledger?: string;
  /** Default: now. */
  now?: Date | number | string;
  /** Include the trace (why every other proposition is not shown). Default false: on large
   * catalogues the trace is far bigger than the decision; ask for it to explain or replay. */
  trace?: boolean;
}

export interface DecideRequest extends DecideOptions {
  placement: string;
  /** A snapshot (a `Profile` made by `engine.profile` goes to `decideFor`). Absent: an anonymous visitor. */
  profile?: ProfileSnapshot;
}

export interface DecideAllRequest extends DecideOptions {
  placements: string[];
  /** A snapshot (a `Profile` made by `engine.profile` goes to `decideAllFor`). Absent: an anonymous visitor. */
  profile?: ProfileSnapshot;
}

export interface ShownCreative {
  locale: string; formFactor: "large" | "compact"; title: string; body: string; cta: string; href: string;
  image?: { src: string; width: number; height: number; alt: string };
}

export interface PriorityParts {
  p: number; c: number; v: number; l: number;
  propensitySource: string; [part: string]: unknown;
}

export interface Slot {
  position: number; proposition: string; segment: string; kind: "sales" | "service" | "loyalty";
  treatment: string; assignment: "split" | "thompson" | "bandit_mean" | "first";
  /** Probability that this customer is shown this treatment (for off-policy evaluation). */
  selectionProbability: number; creative: ShownCreative; priority: number; parts: PriorityParts;
  fallback: boolean; note?: string;
  /** Names this impression: pass it to `engine.record`. No personal data. */
  token: string;
}

export interface TraceEntry { proposition: string; stage: "select" | "prioritise" | "arbitrate"; rule: string; detail: string; }

export interface Decision {
  decisionId: string; bundleId: string; bundleVersion: number;
  placement: { id: string; channel: string; audience: string; slots: number; maxSales: number; minService: number; onePerSegment: boolean };
  profileId?: string; loggedIn: boolean;
  consent: { personalisation: boolean; marketing: boolean; analytics: boolean; channelOptedOut: boolean };
  locale: string; formFactor: "small" | "large"; now: string;
  /** The customer is in the holdout control group. */
  holdout: boolean;
  slots: Slot[]; expectedValue: number;
  withoutKnob: { propositions: string[]; expectedValue: number; knobCost: number };
  /** Empty unless the request asked for `trace: true`. */
  trace: TraceEntry[];
  /** Codes of problems that did not stop the decision, e.g. "ledger_corrupt". */
  warnings: string[];
}

/** A response to record. */
export interface ResponseEvent {
  event: "impression" | "click" | "dismiss" | "convert";
  /** The slot's token. */
  token: string;
  now?: Date | number | string;
}

export interface Recorded {
  /** The updated ledger string: store it. */
  ledger: string;
  /** "added", or "duplicate"/"stale" when the ledger already had it (nothing counted twice). */
  recorded: "added" | "duplicate" | "stale";
  /** For the collector (`Beacon.send`); empty without analytics consent. */
  measurement: import("./beacon.js").MeasurementEvent[];
  warnings: string[];
}

/** Stable codes of the errors opmaat throws (as the `code` property of an `Error`). */
export type ErrorCode =
  | "bad_magic" | "unsupported_format_version" | "unknown_key" | "invalid_key" | "bad_signature"
  | "not_yet_valid" | "expired" | "rollback" | "too_large" | "trailing_bytes" | "malformed_payload"
  | "invalid_catalogue" | "invalid_condition" | "invalid_argument" | "io"
  | "invalid_profile" | "personal_data" | "unsigned_profile" | string;

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

    /// Hosts the bundle's creatives may link to (besides same-origin paths).
    #[wasm_bindgen(getter, js_name = allowedLinkHosts, unchecked_return_type = "string[]")]
    pub fn allowed_link_hosts(&self) -> Array {
        self.inner.bundle().payload.catalogue.allowed_link_hosts.iter().map(|h| JsValue::from(h.as_str())).collect()
    }

    /// Checks a profile snapshot once (pseudonymity, limits, signature) and keeps it in Wasm,
    /// so that deciding several placements for it converts nothing again.
    pub fn profile(&self, #[wasm_bindgen(unchecked_param_type = "ProfileSnapshot")] snapshot: JsValue) -> Result<Profile, JsValue> {
        self.parse_profile(&snapshot, "profile").map(|inner| Profile { inner }).map_err(|e| to_js_error(&e))
    }

    /// Decides one placement: `{ placement, profile, context, ledger?, now? }`.
    #[wasm_bindgen(unchecked_return_type = "Decision")]
    pub fn decide(&self, #[wasm_bindgen(unchecked_param_type = "DecideRequest")] request: JsValue) -> Result<JsValue, JsValue> {
        let run = || {
            let placement = string_field(&request, "request", "placement")?;
            let profile = self.profile_field(&request)?;
            let decisions = self.decide_placements(&[placement], &profile, &request)?;
            Ok(decisions.get(0))
        };
        run().map_err(|e: Error| to_js_error(&e))
    }

    /// Decides one placement for a profile made by `engine.profile`.
    #[wasm_bindgen(js_name = decideFor, unchecked_return_type = "Decision")]
    pub fn decide_for(&self, profile: &Profile, #[wasm_bindgen(unchecked_param_type = "DecideOptions & { placement: string }")] options: JsValue) -> Result<JsValue, JsValue> {
        let run = || {
            let placement = string_field(&options, "options", "placement")?;
            Ok(self.decide_placements(&[placement], &profile.inner, &options)?.get(0))
        };
        run().map_err(|e: Error| to_js_error(&e))
    }

    /// Decides several placements of one page with one conversion of the profile:
    /// `{ placements, profile, context, ledger?, now? }` → one decision per placement.
    #[wasm_bindgen(js_name = decideAll, unchecked_return_type = "Decision[]")]
    pub fn decide_all(&self, #[wasm_bindgen(unchecked_param_type = "DecideAllRequest")] request: JsValue) -> Result<Array, JsValue> {
        let run = || {
            let profile = self.profile_field(&request)?;
            self.decide_placements(&placement_list(&request)?, &profile, &request)
        };
        run().map_err(|e: Error| to_js_error(&e))
    }

    /// Decides several placements of one page for a profile made by `engine.profile`:
    /// `(profile, { placements, context, ledger?, now? })` → one decision per placement.
    #[wasm_bindgen(js_name = decideAllFor, unchecked_return_type = "Decision[]")]
    pub fn decide_all_for(&self, profile: &Profile, #[wasm_bindgen(unchecked_param_type = "DecideOptions & { placements: string[] }")] options: JsValue) -> Result<Array, JsValue> {
        placement_list(&options)
            .and_then(|placements| self.decide_placements(&placements, &profile.inner, &options))
            .map_err(|e| to_js_error(&e))
    }

    /// Records a response to a shown proposition: `(ledger, { event, token, now? })` →
    /// `{ ledger, recorded, measurement: [], warnings }`. Recording the same event of the same
    /// decision again changes nothing.
    #[wasm_bindgen(unchecked_return_type = "Recorded")]
    pub fn record(
        &self,
        #[wasm_bindgen(unchecked_param_type = "string | undefined")] ledger: JsValue,
        #[wasm_bindgen(unchecked_param_type = "ResponseEvent")] event: JsValue,
    ) -> Result<JsValue, JsValue> {
        self.record_response(&ledger, &event, None).map_err(|e| to_js_error(&e))
    }

    /// The ledger string made to fit in `maxLength` characters, for a cookie: older impressions
    /// are forgotten first, then the stalest propositions; clicks, dismissals and conversions
    /// stay with their proposition. A string that already fits comes back as it is (a bad one
    /// as a fresh ledger). Check the length: not even an empty ledger fits in a handful.
    #[wasm_bindgen(js_name = fitLedger)]
    pub fn fit_ledger(&self, #[wasm_bindgen(unchecked_param_type = "string | undefined")] ledger: JsValue, #[wasm_bindgen(js_name = maxLength)] max_length: u32) -> Result<String, JsValue> {
        let (mut ledger, _) = self.ledger(&ledger).map_err(|e| to_js_error(&e))?;
        ledger.fit(max_length as usize);
        Ok(ledger.serialise())
    }

    /// As `record`, for a profile made by `engine.profile`: with its analytics consent the
    /// result carries the measurement event for the collector.
    #[wasm_bindgen(js_name = recordFor, unchecked_return_type = "Recorded")]
    pub fn record_for(
        &self,
        profile: &Profile,
        #[wasm_bindgen(unchecked_param_type = "string | undefined")] ledger: JsValue,
        #[wasm_bindgen(unchecked_param_type = "ResponseEvent")] event: JsValue,
    ) -> Result<JsValue, JsValue> {
        self.record_response(&ledger, &event, Some(&profile.inner)).map_err(|e| to_js_error(&e))
    }
}

impl Engine {
    fn record_response(&self, ledger: &JsValue, event: &JsValue, profile: Option<&crate::profile::Profile>) -> crate::Result<JsValue> {
        let (mut ledger, warning) = self.ledger(ledger)?;
        let kind_text = string_field(event, "event", "event")?;
        let kind = EventKind::parse(&kind_text).ok_or_else(|| {
            Error::argument("event.event", format!("expected impression, click, dismiss or convert, found {kind_text:?}"))
        })?;
        let token = string_field(event, "event", "token")?;
        let now = now(&get(event, "now")?)?;
        let outcome = self.inner.record(&mut ledger, kind, &token, now, profile)?;
        let recorded = match outcome.recorded {
            Recorded::Added => "added",
            Recorded::Duplicate => "duplicate",
            Recorded::Stale => "stale",
        };
        to_js(&serde_json::json!({
            "ledger": ledger.serialise(),
            "recorded": recorded,
            "measurement": outcome.measurement.into_iter().collect::<Vec<_>>(),
            "warnings": warning.map(|w| w.code()).into_iter().collect::<Vec<_>>(),
        }))
    }

    fn parse_profile(&self, snapshot: &JsValue, path: &str) -> crate::Result<crate::profile::Profile> {
        if let Some(text) = snapshot.as_string() {
            return self.inner.parse_profile(&text);
        }
        if !snapshot.is_object() {
            return Err(Error::argument(path, "expected a profile snapshot: an object or its JSON text"));
        }
        self.inner.parse_profile(&json_text(snapshot, path)?)
    }

    /// The request's `profile`: absent means an anonymous visitor.
    fn profile_field(&self, request: &JsValue) -> crate::Result<crate::profile::Profile> {
        let value = get(request, "profile")?;
        if value.is_undefined() || value.is_null() {
            return Ok(crate::profile::Profile::anonymous());
        }
        if Reflect::has(&value, &"__wbg_ptr".into()).unwrap_or(false) {
            return Err(Error::argument(
                "request.profile",
                "a Profile handle goes to engine.decideFor(profile, options) or engine.decideAllFor(profile, options); here pass the snapshot itself",
            ));
        }
        self.parse_profile(&value, "request.profile")
    }

    fn ledger(&self, value: &JsValue) -> crate::Result<(Ledger, Option<crate::ledger::LedgerWarning>)> {
        if value.is_undefined() || value.is_null() {
            return Ok((Ledger::new(self.inner.bundle_id()), None));
        }
        let text = value.as_string().ok_or_else(|| Error::argument("ledger", "expected the ledger string"))?;
        Ok(Ledger::parse(&text, self.inner.bundle_id()))
    }

    fn decide_placements(&self, placements: &[String], profile: &crate::profile::Profile, options: &JsValue) -> crate::Result<Array> {
        let context = match get(options, "context")? {
            v if v.is_undefined() || v.is_null() => Context::default(),
            v => Context::parse(&json_text(&v, "context")?)?,
        };
        let (ledger, warning) = self.ledger(&get(options, "ledger")?)?;
        let now = now(&get(options, "now")?)?;
        let with_trace = match get(options, "trace")? {
            v if v.is_undefined() || v.is_null() => false,
            v => v.as_bool().ok_or_else(|| Error::argument("trace", "expected true or false"))?,
        };
        placements
            .iter()
            .map(|placement| {
                let request = DecideRequest { placement, profile, context: &context, ledger: Some(&ledger), now };
                // The trace names every proposition not shown: on large catalogues it is far
                // bigger than the decision, so it is built and handed to JS only when asked for.
                let mut decision = if with_trace { self.inner.decide(&request)? } else { self.inner.decide_without_trace(&request)? };
                decision.warnings.extend(warning.map(|w| w.code().to_string()));
                to_js(&decision)
            })
            .collect()
    }
}

/// A checked profile snapshot held in Wasm; made by `engine.profile(snapshot)`.
#[wasm_bindgen]
pub struct Profile {
    inner: crate::profile::Profile,
}

#[wasm_bindgen]
impl Profile {
    /// The pseudonymous id, if any.
    #[wasm_bindgen(getter)]
    pub fn id(&self) -> Option<String> {
        self.inner.id().map(str::to_string)
    }

    #[wasm_bindgen(getter, js_name = loggedIn)]
    pub fn logged_in(&self) -> bool {
        self.inner.logged_in()
    }
}

/// A JS value as JSON text (objects from the page cross into Wasm once, as text).
fn json_text(value: &JsValue, path: &str) -> crate::Result<String> {
    js_sys::JSON::stringify(value)
        .ok()
        .and_then(|s| s.as_string())
        .ok_or_else(|| Error::argument(path, "could not be turned into JSON (a cycle, or a BigInt?)"))
}

/// A Rust value as a JS value, through JSON.
fn to_js(value: &impl serde::Serialize) -> crate::Result<JsValue> {
    let text = serde_json::to_string(value).map_err(|e| Error::argument("result", e))?;
    js_sys::JSON::parse(&text).map_err(|_| Error::argument("result", "not JSON"))
}

/// The `placements` array of a request or options object.
fn placement_list(object: &JsValue) -> crate::Result<Vec<String>> {
    let list = get(object, "placements")?;
    if !Array::is_array(&list) {
        return Err(Error::argument("request.placements", "expected an array of placement ids"));
    }
    Array::from(&list)
        .iter()
        .enumerate()
        .map(|(i, p)| p.as_string().ok_or_else(|| Error::argument(format!("request.placements[{i}]"), "expected a string")))
        .collect()
}

fn string_field(object: &JsValue, path: &str, key: &str) -> crate::Result<String> {
    if !object.is_object() {
        return Err(Error::argument(path, "expected an object"));
    }
    get(object, key)?.as_string().ok_or_else(|| Error::argument(format!("{path}.{key}"), "expected a string"))
}

fn load(bytes: JsValue, options: JsValue) -> crate::Result<Engine> {
    let bytes = bundle_bytes(&bytes)?;
    if !options.is_object() {
        return Err(Error::argument("options", "expected an object such as { trustedKeys: { \"<key id>\": \"<base64 public key>\" } }"));
    }
    let trusted = trusted_keys(&get(&options, "trustedKeys")?, "options.trustedKeys")?;
    let now = now(&get(&options, "now")?)?;
    let min_version = min_version(&get(&options, "minVersion")?)?;
    let mut inner = crate::Engine::load(&bytes, &LoadOptions { trusted_keys: &trusted, now, min_version })?;
    inner.set_profile_policy(profile_policy(&options)?);
    Ok(Engine { inner })
}

fn get(object: &JsValue, key: &str) -> crate::Result<JsValue> {
    Reflect::get(object, &key.into()).map_err(|_| Error::argument(key, "could not be read (a getter threw?)"))
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

fn trusted_keys(value: &JsValue, path: &str) -> crate::Result<TrustedKeys> {
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

fn profile_policy(options: &JsValue) -> crate::Result<ProfilePolicy> {
    let keys = get(options, "profileKeys")?;
    let require = get(options, "requireSignedProfiles")?;
    let require_signed = match require.as_bool() {
        Some(b) => b,
        None if require.is_undefined() || require.is_null() => false,
        None => return Err(Error::argument("options.requireSignedProfiles", "expected true or false")),
    };
    let trusted_keys = if keys.is_undefined() || keys.is_null() {
        TrustedKeys::new()
    } else {
        trusted_keys(&keys, "options.profileKeys")?
    };
    if require_signed && trusted_keys.is_empty() {
        return Err(Error::argument("options.profileKeys", "requireSignedProfiles needs the bank's profile keys"));
    }
    Ok(ProfilePolicy { trusted_keys, require_signed })
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
