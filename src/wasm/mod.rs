//! The JavaScript face of opmaat: wasm-bindgen bindings and nothing else.
//!
//! Each export turns JS values into the crate's Rust types (through [`convert`], the one module
//! of conversions), calls the same code the CLI and the tests call, and turns the result back.
//! Every export that takes a value returns a `Result`: a bad input becomes a JS `Error` whose
//! `code` property is the stable [`crate::Error::code`], never a panic, which in Wasm is a trap
//! that leaves the instance damaged. The package's host entries (`pkg-template/recover.js`) wrap
//! these classes and start a fresh instance should a trap ever happen anyway.
//!
//! ```js
//! import { Engine } from "opmaat";
//! const engine = Engine.load(new Uint8Array(await (await fetch("/bank-nl-web.opb")).arrayBuffer()),
//!                            { trustedKeys: { "56320c0174a46d32": "hv5BlKP7…UqUTA=" } });
//! engine.bundleId; engine.version; engine.propositionCount;
//! ```

mod convert;

use js_sys::Array;
use wasm_bindgen::prelude::*;

use crate::bundle::LoadOptions;
use crate::decide::{Context, DecideRequest};
use crate::ledger::{EventKind, Ledger, Recorded};
use crate::profile::ProfilePolicy;
use crate::time::{format_rfc3339, Timestamp};
use crate::Error;
use convert::{is_absent, js_error, Fields};

#[wasm_bindgen(typescript_custom_section)]
const TS_TYPES: &str = r#"
/** Options of `Engine.load`. Every option object of the engine is closed: an unknown key (a typo
 * such as `minversion`) is refused with code `invalid_argument`, naming it and the known keys. */
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
  /** A loyalty deal's terms and stock, for the banner ("only 3 left"). */
  loyalty?: ShownLoyalty;
  /** Names this impression: pass it to `engine.record`. No personal data. */
  token: string;
}

export interface ShownLoyalty {
  partner: string; pointsCost?: number; discountPercent?: number;
  /** How many are left, where counted (the availability overlay's count, else the catalogue's stock). */
  remaining?: number;
  /** At or below the catalogue's low-stock threshold. */
  lowStock: boolean;
}

/** The stable name of the rule that kept a proposition off the screen. */
export type TraceRule =
  "audience" | "channel" | "validity_window" | "paused" | "sold_out" | "consent_marketing" | "channel_opt_out" |
  "holdout" | "eligibility" | "applicability" | "suitability" | "converted" | "dismiss_cooldown" |
  "impression_cap" | "resting_after_ignored" | "sales_per_day" | "no_treatment" |
  "no_locale_creative" | "no_compact_creative" | "zero_priority" | "outranked" |
  "one_per_segment" | "max_sales" | "reserved_for_service";

export interface TraceEntry {
  proposition: string; segment: string; kind: "sales" | "service" | "loyalty";
  stage: "select" | "prioritise" | "arbitrate"; rule: TraceRule;
  /** For people; may change between versions. */
  detail: string;
  /** Entries of the prioritise and arbitrate stages, and a fallback kept aside but not needed. */
  priority?: number; parts?: PriorityParts;
}

export interface Decision {
  decisionId: string; bundleId: string; bundleVersion: number;
  placement: { id: string; channel: string; audience: string; slots: number; maxSales: number; minService: number; onePerSegment: boolean };
  profileId?: string; loggedIn: boolean;
  consent: { personalisation: boolean; marketing: boolean; analytics: boolean; channelOptedOut: boolean };
  locale: string; formFactor: "small" | "large"; now: string;
  /** The customer is in the holdout control group. */
  holdout: boolean;
  slots: Slot[]; expectedValue: number;
  /** Held-out customers only: what the decision would have shown outside the group. */
  withheld?: { proposition: string; treatment: string; token: string }[];
  /** Held-out customers with analytics consent: the `withheld` events of those propositions, for
   * the collector. `renderSlots` sends them through its beacon; another host sends them when it
   * shows the placement. */
  measurement?: import("./beacon.js").MeasurementEvent[];
  withoutKnob: { propositions: string[]; expectedValue: number; knobCost: number };
  /** Empty unless the request asked for `trace: true`. */
  trace: TraceEntry[];
  /** The sequence of the availability overlay the decision honoured; absent: none in force. */
  overlaySequence?: number;
  /** Codes of problems that did not stop the decision: "ledger_corrupt", "ledger_foreign",
   * "ledger_version", "overlay_expired" (the catalogue's own stock applies until a fresh overlay
   * is applied), "overlay_not_yet_valid". */
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
  | "invalid_profile" | "personal_data" | "unsigned_profile" | "bad_profile_signature" | "profile_expired"
  | "wrong_bundle"
  /** Thrown by the package's host entries when a call trapped; the next call runs on a fresh instance. */
  | "engine_trapped"
  /** Reported by start.js and `init`: no WebAssembly (or the engine could not start), the bundle
   * or the .wasm could not be fetched; thrown by a call before `init()` resolved. */
  | "no_webassembly" | "fetch_failed" | "not_initialised"
  /** Reported by the webview entry: no app around the page, a malformed bridge message, a message
   * before a successful init, no bundle handed in or kept, a slot left out when rendering. */
  | "no_bridge" | "bad_message" | "not_ready" | "no_bundle" | "render";

/** Options of `engine.applyOverlay`. */
export interface OverlayOptions {
  /** The current time: a `Date`, milliseconds since the epoch, or an RFC 3339 string. Default: now. */
  now?: Date | number | string;
}

/** `options` may be left out: the overlay is checked by the host's clock. */
export interface Engine {
  applyOverlay(bytes: Uint8Array | ArrayBuffer, options?: OverlayOptions): OverlaySummary;
}

/** The availability overlay in use (`engine.applyOverlay`, `engine.overlay`). */
export interface OverlaySummary {
  bundleId: string;
  /** Increases with every overlay; an older one is refused with code `rollback`. */
  sequence: number;
  issuedAt: string; notBefore: string;
  /** After this, decisions ignore it (warning "overlay_expired") until a fresh one is applied. */
  expiresAt: string;
  /** How many of the bundle's propositions it names. */
  propositions: number;
  /** Propositions it names that this bundle does not have (ignored). */
  unknownPropositions: string[];
}

/** An error thrown by opmaat. */
export interface OpmaatError extends Error {
  code: ErrorCode;
}
"#;


/// The keys of `Engine.load`'s options.
const LOAD_KEYS: &[&str] = &["trustedKeys", "now", "minVersion", "profileKeys", "requireSignedProfiles"];
/// The keys of `decide`'s request.
const DECIDE_KEYS: &[&str] = &["placement", "profile", "context", "ledger", "now", "trace"];
/// The keys of `decideAll`'s request.
const DECIDE_ALL_KEYS: &[&str] = &["placements", "profile", "context", "ledger", "now", "trace"];
/// The keys of `decideFor`'s options (the profile is its first argument).
const DECIDE_FOR_KEYS: &[&str] = &["placement", "context", "ledger", "now", "trace"];
/// The keys of `decideAllFor`'s options.
const DECIDE_ALL_FOR_KEYS: &[&str] = &["placements", "context", "ledger", "now", "trace"];
/// The keys of `applyOverlay`'s options.
const OVERLAY_KEYS: &[&str] = &["now"];
/// The keys of a response event.
const EVENT_KEYS: &[&str] = &["event", "token", "now"];

const LOAD_EXAMPLE: &str = "{ trustedKeys: { \"<key id>\": \"<base64 public key>\" } }";
const DECIDE_EXAMPLE: &str = "{ placement: \"overview\", profile, context }";
const DECIDE_ALL_EXAMPLE: &str = "{ placements: [\"overview\"], profile, context }";
const EVENT_EXAMPLE: &str = "{ event: \"click\", token }";

/// A verified bundle, ready to decide from.
#[wasm_bindgen]
pub struct Engine {
    inner: crate::Engine,
    /// The options as they were understood, for the host entries to load the bundle again on a
    /// fresh instance after a trap.
    loaded_with: LoadedWith,
}

/// What `Engine.load` was given besides the bytes, as plain data.
struct LoadedWith {
    trusted_keys: Vec<(String, String)>,
    /// `None`: the host's clock at each load.
    now: Option<Timestamp>,
    min_version: Option<u64>,
    profile_keys: Vec<(String, String)>,
    require_signed_profiles: bool,
}

#[wasm_bindgen]
impl Engine {
    /// Verifies and loads a bundle. Throws an `OpmaatError` whose `code` says why a bundle was
    /// refused: `bad_signature`, `expired`, `rollback`, …
    pub fn load(
        #[wasm_bindgen(unchecked_param_type = "Uint8Array | ArrayBuffer")] bytes: JsValue,
        #[wasm_bindgen(unchecked_param_type = "LoadOptions")] options: JsValue,
    ) -> Result<Engine, JsValue> {
        load(&bytes, &options).map_err(|e| js_error(&e))
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
        convert::string_array(self.inner.placement_ids())
    }

    /// Hosts the bundle's creatives may link to (besides same-origin paths).
    #[wasm_bindgen(getter, js_name = allowedLinkHosts, unchecked_return_type = "string[]")]
    pub fn allowed_link_hosts(&self) -> Array {
        convert::string_array(self.inner.bundle().payload.catalogue.allowed_link_hosts.iter().map(String::as_str))
    }

    /// The options this engine was loaded with, as plain data (`now` only when one was given):
    /// what the package's host entries pass to `Engine.load` again on a fresh instance.
    #[wasm_bindgen(js_name = __loadOptions, skip_typescript)]
    pub fn load_options(&self) -> JsValue {
        let with = &self.loaded_with;
        let options = convert::PlainObject::new();
        options.set("trustedKeys", &convert::key_map_object(&with.trusted_keys));
        if let Some(now) = with.now {
            options.set("now", &format_rfc3339(now).into());
        }
        if let Some(min) = with.min_version {
            options.set("minVersion", &(min as f64).into());
        }
        if !with.profile_keys.is_empty() {
            options.set("profileKeys", &convert::key_map_object(&with.profile_keys));
        }
        options.set("requireSignedProfiles", &with.require_signed_profiles.into());
        options.into()
    }

    /// Verifies an availability overlay (live stock and pause states, signed with a key the
    /// bundle is trusted with, for this bundle's id) and puts it in the place of the one in use.
    /// Throws `bad_signature`, `wrong_bundle`, `expired`, `rollback`, … and then the one in use
    /// stays. Applying the same overlay again (a revalidation) is fine.
    #[wasm_bindgen(js_name = applyOverlay, unchecked_return_type = "OverlaySummary")]
    pub fn apply_overlay(
        &mut self,
        #[wasm_bindgen(unchecked_param_type = "Uint8Array | ArrayBuffer")] bytes: JsValue,
        #[wasm_bindgen(unchecked_param_type = "OverlayOptions | undefined")] options: JsValue,
    ) -> Result<JsValue, JsValue> {
        let mut run = || {
            let bytes = convert::overlay_bytes(&bytes)?;
            let now = match is_absent(&options) {
                true => convert::clock(),
                false => Fields::new(&options, "options", OVERLAY_KEYS, "{ now }")?.time("now")?,
            };
            Ok(convert::overlay_summary(&self.inner.apply_overlay(&bytes, now)?.summary()))
        };
        run().map_err(|e: Error| js_error(&e))
    }

    /// The availability overlay in use, or null.
    #[wasm_bindgen(getter, unchecked_return_type = "OverlaySummary | null")]
    pub fn overlay(&self) -> JsValue {
        self.inner.overlay().map_or(JsValue::NULL, |o| convert::overlay_summary(&o.summary()))
    }

    /// Checks a profile snapshot once (pseudonymity, limits, signature) and keeps it in Wasm,
    /// so that deciding several placements for it converts nothing again.
    pub fn profile(&self, #[wasm_bindgen(unchecked_param_type = "ProfileSnapshot")] snapshot: JsValue) -> Result<Profile, JsValue> {
        convert::snapshot_text(&snapshot, "profile")
            .and_then(|text| self.inner.parse_profile(&text))
            .map(|inner| Profile { inner })
            .map_err(|e| js_error(&e))
    }

    /// Decides one placement: `{ placement, profile, context, ledger?, now? }`.
    #[wasm_bindgen(unchecked_return_type = "Decision")]
    pub fn decide(&self, #[wasm_bindgen(unchecked_param_type = "DecideRequest")] request: JsValue) -> Result<JsValue, JsValue> {
        let run = || {
            let fields = Fields::new(&request, "request", DECIDE_KEYS, DECIDE_EXAMPLE)?;
            let placement = fields.string("placement")?;
            let profile = self.profile_field(&fields)?;
            Ok(self.decide_placements(&[placement], &profile, &fields)?.get(0))
        };
        run().map_err(|e: Error| js_error(&e))
    }

    /// Decides one placement for a profile made by `engine.profile`.
    #[wasm_bindgen(js_name = decideFor, unchecked_return_type = "Decision")]
    pub fn decide_for(&self, profile: &Profile, #[wasm_bindgen(unchecked_param_type = "DecideOptions & { placement: string }")] options: JsValue) -> Result<JsValue, JsValue> {
        let run = || {
            let fields = Fields::new(&options, "options", DECIDE_FOR_KEYS, DECIDE_EXAMPLE)?;
            let placement = fields.string("placement")?;
            Ok(self.decide_placements(&[placement], &profile.inner, &fields)?.get(0))
        };
        run().map_err(|e: Error| js_error(&e))
    }

    /// Decides several placements of one page with one conversion of the profile:
    /// `{ placements, profile, context, ledger?, now? }` → one decision per placement.
    #[wasm_bindgen(js_name = decideAll, unchecked_return_type = "Decision[]")]
    pub fn decide_all(&self, #[wasm_bindgen(unchecked_param_type = "DecideAllRequest")] request: JsValue) -> Result<Array, JsValue> {
        let run = || {
            let fields = Fields::new(&request, "request", DECIDE_ALL_KEYS, DECIDE_ALL_EXAMPLE)?;
            let placements = convert::placement_list(&fields.get("placements")?, &fields.path("placements"))?;
            let profile = self.profile_field(&fields)?;
            self.decide_placements(&placements, &profile, &fields)
        };
        run().map_err(|e: Error| js_error(&e))
    }

    /// Decides several placements of one page for a profile made by `engine.profile`:
    /// `(profile, { placements, context, ledger?, now? })` → one decision per placement.
    #[wasm_bindgen(js_name = decideAllFor, unchecked_return_type = "Decision[]")]
    pub fn decide_all_for(&self, profile: &Profile, #[wasm_bindgen(unchecked_param_type = "DecideOptions & { placements: string[] }")] options: JsValue) -> Result<Array, JsValue> {
        let run = || {
            let fields = Fields::new(&options, "options", DECIDE_ALL_FOR_KEYS, DECIDE_ALL_EXAMPLE)?;
            let placements = convert::placement_list(&fields.get("placements")?, &fields.path("placements"))?;
            self.decide_placements(&placements, &profile.inner, &fields)
        };
        run().map_err(|e: Error| js_error(&e))
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
        self.record_response(&ledger, &event, None).map_err(|e| js_error(&e))
    }

    /// The ledger string made to fit in `maxLength` characters, for a cookie: older impressions
    /// are forgotten first, then the stalest propositions; clicks, dismissals and conversions
    /// stay with their proposition. A string that already fits comes back as it is (a bad one
    /// as a fresh ledger). Check the length: not even an empty ledger fits in a handful.
    #[wasm_bindgen(js_name = fitLedger)]
    pub fn fit_ledger(
        &self,
        #[wasm_bindgen(unchecked_param_type = "string | undefined")] ledger: JsValue,
        #[wasm_bindgen(js_name = maxLength, unchecked_param_type = "number")] max_length: JsValue,
    ) -> Result<String, JsValue> {
        let run = || {
            let max_length = convert::whole_number(&max_length, "maxLength")?;
            let (mut ledger, _) = self.ledger(&ledger)?;
            // Saturates on 32-bit Wasm: no string is longer than memory anyway.
            ledger.fit(usize::try_from(max_length).unwrap_or(usize::MAX));
            Ok(ledger.serialise())
        };
        run().map_err(|e: Error| js_error(&e))
    }

    /// One customer, one memory: the union of two ledger strings of this catalogue (the
    /// webview's and the app's; a logged-off visitor's and the customer's after logging in).
    /// No event counts twice: an event both hold is one event. A string that cannot be read, or
    /// belongs to another catalogue, adds nothing.
    #[wasm_bindgen(js_name = mergeLedgers)]
    pub fn merge_ledgers(
        &self,
        #[wasm_bindgen(unchecked_param_type = "string | undefined")] a: JsValue,
        #[wasm_bindgen(unchecked_param_type = "string | undefined")] b: JsValue,
    ) -> Result<String, JsValue> {
        let run = || {
            let (mut merged, _) = self.ledger(&a)?;
            let (theirs, _) = self.ledger(&b)?;
            merged.merge(&theirs);
            Ok(merged.serialise())
        };
        run().map_err(|e: Error| js_error(&e))
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
        self.record_response(&ledger, &event, Some(&profile.inner)).map_err(|e| js_error(&e))
    }
}

impl Engine {
    fn record_response(&self, ledger: &JsValue, event: &JsValue, profile: Option<&crate::profile::Profile>) -> crate::Result<JsValue> {
        let (mut ledger, warning) = self.ledger(ledger)?;
        let fields = Fields::new(event, "event", EVENT_KEYS, EVENT_EXAMPLE)?;
        let kind_text = fields.string("event")?;
        let kind = EventKind::parse(&kind_text).ok_or_else(|| {
            Error::argument("event.event", format!("expected impression, click, dismiss or convert, found {kind_text:?}"))
        })?;
        let token = fields.string("token")?;
        let now = fields.time("now")?;
        let outcome = self.inner.record(&mut ledger, kind, &token, now, profile)?;
        let recorded = match outcome.recorded {
            Recorded::Added => "added",
            Recorded::Duplicate => "duplicate",
            Recorded::Stale => "stale",
        };
        convert::to_js(&serde_json::json!({
            "ledger": ledger.serialise(),
            "recorded": recorded,
            "measurement": outcome.measurement.into_iter().collect::<Vec<_>>(),
            "warnings": warning.map(|w| w.code()).into_iter().collect::<Vec<_>>(),
        }))
    }

    /// The request's `profile`: absent means an anonymous visitor.
    fn profile_field(&self, fields: &Fields) -> crate::Result<crate::profile::Profile> {
        let value = fields.get("profile")?;
        if is_absent(&value) {
            return Ok(crate::profile::Profile::anonymous());
        }
        if convert::is_profile_handle(&value) {
            return Err(Error::argument(
                fields.path("profile"),
                "a Profile handle goes to engine.decideFor(profile, options) or engine.decideAllFor(profile, options); here pass the snapshot itself",
            ));
        }
        self.inner.parse_profile(&convert::snapshot_text(&value, &fields.path("profile"))?)
    }

    fn ledger(&self, value: &JsValue) -> crate::Result<(Ledger, Option<crate::ledger::LedgerWarning>)> {
        Ok(match convert::ledger_text(value)? {
            None => (Ledger::new(self.inner.bundle_id()), None),
            Some(text) => Ledger::parse(&text, self.inner.bundle_id()),
        })
    }

    fn decide_placements(&self, placements: &[String], profile: &crate::profile::Profile, fields: &Fields) -> crate::Result<Array> {
        let context = match fields.get("context")? {
            v if is_absent(&v) => Context::default(),
            v => Context::parse(&convert::json_text(&v, &fields.path("context"))?)?,
        };
        let (ledger, warning) = self.ledger(&fields.get("ledger")?)?;
        let now = fields.time("now")?;
        let with_trace = fields.flag("trace")?;
        placements
            .iter()
            .map(|placement| {
                let request = DecideRequest { placement, profile, context: &context, ledger: Some(&ledger), now };
                // The trace names every proposition not shown: on large catalogues it is far
                // bigger than the decision, so it is built and handed to JS only when asked for.
                // The context was checked when it was parsed above.
                let mut decision = self.inner.decide_parsed(&request, with_trace)?;
                decision.warnings.extend(warning.map(|w| w.code().to_string()));
                let js = convert::to_js_direct(&decision)?;
                if !decision.measurement.is_empty() {
                    let events = serde_json::json!(decision.measurement);
                    js_sys::Reflect::set(&js, &JsValue::from_str("measurement"), &convert::to_js(&events)?)
                        .map_err(|_| Error::argument("result", "could not be made a JS value"))?;
                }
                Ok(js)
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

fn load(bytes: &JsValue, options: &JsValue) -> crate::Result<Engine> {
    let bytes = convert::bundle_bytes(bytes)?;
    let fields = Fields::new(options, "options", LOAD_KEYS, LOAD_EXAMPLE)?;
    let (trusted, trusted_keys) = convert::key_map(&fields.get("trustedKeys")?, &fields.path("trustedKeys"))?;
    let given_now = fields.optional_time("now")?;
    let min_version = match fields.get("minVersion")? {
        v if is_absent(&v) => None,
        v => Some(convert::whole_number(&v, &fields.path("minVersion"))?),
    };
    let require_signed = fields.flag("requireSignedProfiles")?;
    let (profile_trust, profile_keys) = match fields.get("profileKeys")? {
        v if is_absent(&v) => Default::default(),
        v => convert::key_map(&v, &fields.path("profileKeys"))?,
    };
    if require_signed && profile_trust.is_empty() {
        return Err(Error::argument("options.profileKeys", "requireSignedProfiles needs the bank's profile keys"));
    }
    let now = given_now.unwrap_or_else(convert::clock);
    let mut inner = crate::Engine::load(&bytes, &LoadOptions { trusted_keys: &trusted, now, min_version })?;
    inner.set_profile_policy(ProfilePolicy { trusted_keys: profile_trust, require_signed });
    let loaded_with = LoadedWith { trusted_keys, now: given_now, min_version, profile_keys, require_signed_profiles: require_signed };
    Ok(Engine { inner, loaded_with })
}

/// Test builds only (Cargo feature `test-trap`, never in the package): a deliberate trap, for the
/// host entries' recovery tests.
#[cfg(feature = "test-trap")]
#[wasm_bindgen]
impl Engine {
    /// Traps as a panic would, after taking [`TRAP_STACK_BYTES`] of the shadow stack that a trap
    /// never gives back: without a fresh instance, a few hundred of these ruin this one.
    #[wasm_bindgen(js_name = __trapForTests)]
    pub fn trap_for_tests() {
        let frame = [0u8; TRAP_STACK_BYTES];
        core::hint::black_box(&frame);
        core::arch::wasm32::unreachable()
    }
}

/// The shadow stack each test trap leaks (the stack is 1 MiB).
#[cfg(feature = "test-trap")]
const TRAP_STACK_BYTES: usize = 4096;
