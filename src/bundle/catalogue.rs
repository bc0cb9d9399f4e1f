//! The catalogue as marketing writes it: JSON, with a published JSON Schema.
//!
//! These types mirror the JSON one to one (camelCase names, RFC 3339 times, targeting conditions
//! as GrowthBook-style JSON). Unknown fields are errors, so a typo never silently disables a rule.
//! [`super::compile`] validates a catalogue and turns it into the compiled [`super::model`].
//! `opmaat schema` prints the schema generated from these types; `schema/catalogue.schema.json`
//! is the committed copy, kept equal by a test.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// The catalogue's JSON Schema, pretty-printed with a final newline.
#[allow(clippy::expect_used)] // a schema is a JSON value: serialising it cannot fail
pub fn schema_json() -> String {
    let schema = schemars::schema_for!(Catalogue);
    let mut text = serde_json::to_string_pretty(&schema).expect("a schema always serialises");
    text.push('\n');
    text
}

/// A proposition catalogue: everything one bundle carries.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schemars(title = "opmaat catalogue")]
pub struct Catalogue {
    /// Optional pointer to this schema, for editors.
    #[serde(rename = "$schema", default, skip_serializing_if = "Option::is_none")]
    pub schema: Option<String>,
    /// The catalogue's id, e.g. `bank-nl-web`; becomes the bundle id.
    pub catalogue: String,
    /// Increases with every published bundle; hosts refuse to go back to a lower one.
    pub version: u64,
    /// When the bundle may be used.
    pub valid: Window,
    /// The locale every proposition must have creatives for, and the last resort of every
    /// locale fallback chain.
    pub default_locale: String,
    /// Hosts that creatives may link to with `https:` (relative links are always allowed).
    #[serde(default)]
    pub allowed_link_hosts: Vec<String>,
    #[serde(default)]
    pub arbitration: Arbitration,
    #[serde(default)]
    pub contact_policies: ContactPolicies,
    #[serde(default)]
    pub holdout: Option<Holdout>,
    /// Named lists of values for `$inGroup` / `$notInGroup` conditions.
    #[serde(default)]
    pub saved_groups: Map<String, Value>,
    pub placements: Vec<Placement>,
    pub propositions: Vec<Proposition>,
}

/// A validity window; `until` is exclusive.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Window {
    /// RFC 3339 date-time, e.g. `2026-12-01T00:00:00Z`.
    pub from: String,
    /// RFC 3339 date-time, after `from`.
    pub until: String,
}

/// How priorities are computed: `priority = P × C × V × L`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Arbitration {
    /// Weight of the bank's value in V. 0 makes the catalogue customer-centric.
    #[serde(default = "one")]
    pub bank_value_weight: f64,
    /// Weight of the customer's value in V.
    #[serde(default = "one")]
    pub customer_value_weight: f64,
    /// Business levers per segment, in percent (added to L).
    #[serde(default)]
    pub levers: BTreeMap<String, f64>,
    /// The strategic knob, in percent (added to L): what directors push for competitive reasons.
    #[serde(default)]
    pub strategic: Strategic,
    /// Draw propensities from the treatments' Beta distributions (Thompson sampling) instead of
    /// using them as given.
    #[serde(default)]
    pub sampled_propensities: bool,
}

impl Default for Arbitration {
    fn default() -> Self {
        Arbitration {
            bank_value_weight: 1.0,
            customer_value_weight: 1.0,
            levers: BTreeMap::new(),
            strategic: Strategic::default(),
            sampled_propensities: false,
        }
    }
}

fn one() -> f64 {
    1.0
}

/// Strategic knob settings, in percent, per segment and per proposition.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Strategic {
    #[serde(default)]
    pub segments: BTreeMap<String, f64>,
    #[serde(default)]
    pub propositions: BTreeMap<String, f64>,
}

/// Catalogue-wide contact policies, with overrides per segment.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ContactPolicies {
    /// Days a dismissed proposition stays away.
    #[serde(default = "default_cooldown")]
    pub dismiss_cooldown_days: u32,
    /// At most this many sales impressions per day, across propositions.
    #[serde(default)]
    pub sales_per_day: Option<u32>,
    /// Impression caps per proposition.
    #[serde(default)]
    pub caps: Vec<Cap>,
    /// Stop offering a proposition once the customer converted.
    #[serde(default = "yes")]
    pub suppress_after_conversion: bool,
    /// Shown this often without a click → rest.
    #[serde(default)]
    pub rest_after_ignored: Option<Rest>,
    /// Overrides per segment id.
    #[serde(default)]
    pub segments: BTreeMap<String, PolicyOverride>,
}

impl Default for ContactPolicies {
    fn default() -> Self {
        ContactPolicies {
            dismiss_cooldown_days: default_cooldown(),
            sales_per_day: None,
            caps: Vec::new(),
            suppress_after_conversion: true,
            rest_after_ignored: None,
            segments: BTreeMap::new(),
        }
    }
}

/// The default cool-down after "not interested", in days.
pub const DEFAULT_DISMISS_COOLDOWN_DAYS: u32 = 30;

fn default_cooldown() -> u32 {
    DEFAULT_DISMISS_COOLDOWN_DAYS
}

fn yes() -> bool {
    true
}

/// Parts of the contact policy a segment or proposition sets for itself.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PolicyOverride {
    #[serde(default)]
    pub dismiss_cooldown_days: Option<u32>,
    #[serde(default)]
    pub caps: Option<Vec<Cap>>,
    #[serde(default)]
    pub suppress_after_conversion: Option<bool>,
    #[serde(default)]
    pub rest_after_ignored: Option<Rest>,
}

/// At most `impressions` impressions in `days` days.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Cap {
    pub impressions: u32,
    pub days: u32,
}

/// After `impressions` impressions without a click, rest `days` days.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Rest {
    pub impressions: u32,
    pub days: u32,
}

/// The holdout control group.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Holdout {
    /// Percentage of customers held out, 0–100.
    pub percent: f64,
    /// Hash salt; rotate it (say monthly) to draw a new group.
    pub salt: String,
    /// What a held-out customer gets.
    #[serde(default = "default_holdout_mode")]
    pub mode: HoldoutMode,
}

fn default_holdout_mode() -> HoldoutMode {
    HoldoutMode::NoSales
}

/// What a held-out customer gets.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum HoldoutMode {
    /// Service propositions only.
    NoSales,
    /// One eligible proposition at random.
    Random,
    /// The segments' fallback propositions only.
    Fallbacks,
}

/// A place on a page or screen that shows propositions.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Placement {
    pub id: String,
    /// `web`, `app`, `callcentre`, …
    pub channel: String,
    pub audience: Audience,
    /// How many propositions it shows.
    pub slots: u8,
    /// At most this many sales and loyalty propositions.
    #[serde(default)]
    pub max_sales: Option<u8>,
    /// At least this many slots reserved for service propositions.
    #[serde(default)]
    pub min_service: u8,
    /// At most one proposition per product segment.
    #[serde(default)]
    pub one_per_segment: bool,
}

/// Who sees a placement.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Audience {
    LoggedIn,
    LoggedOff,
    Any,
}

/// What kind of action a proposition is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Sales,
    Service,
    Loyalty,
}

/// One next-best-action.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Proposition {
    pub id: String,
    /// Product segment: savings, payments, mortgages, loans, investments, insurance, service, …
    pub segment: String,
    /// The bank's product code, as its server-side conversions name it (`opmaat learn
    /// --conversions`). Authoring only: bundles do not carry it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product: Option<String>,
    pub kind: Kind,
    /// Channels it may be shown in.
    pub channels: Vec<String>,
    /// Campaign dates, within the catalogue's window.
    #[serde(default)]
    pub valid: Option<Window>,
    /// GrowthBook-style condition: may the customer have it?
    #[serde(default)]
    pub eligibility: Option<Value>,
    /// GrowthBook-style condition: does it make sense now?
    #[serde(default)]
    pub applicability: Option<Value>,
    /// GrowthBook-style condition: is it responsible?
    #[serde(default)]
    pub suitability: Option<Value>,
    /// Context fit: each matching condition adds `weight` percent to C.
    #[serde(default)]
    pub context_weights: Vec<ContextWeight>,
    pub value: Values,
    pub propensity: Propensity,
    /// Business lever in percent (added to L).
    #[serde(default)]
    pub lever: f64,
    /// This proposition fills an otherwise empty slot of its segment.
    #[serde(default)]
    pub fallback: bool,
    /// Contact-policy overrides for this proposition.
    #[serde(default)]
    pub contact_policy: Option<PolicyOverride>,
    /// How a treatment is picked.
    #[serde(default = "default_assignment")]
    pub assignment: Assignment,
    pub treatments: Vec<Treatment>,
    /// A loyalty deal's terms (kind `loyalty` only): the partner, what it costs or saves, and how
    /// many there are. Its campaign dates are the proposition's `valid` window.
    #[serde(default)]
    pub loyalty: Option<Loyalty>,
}

/// A loyalty deal: what a partner offers, and how much of it can be delivered.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Loyalty {
    /// Who delivers the deal, e.g. `Rijksmuseum`.
    pub partner: String,
    /// Interest points the customer spends on it (give this or `discountPercent`).
    #[serde(default)]
    pub points_cost: Option<u32>,
    /// The partner's discount, in percent, above 0 and at most 100 (give this or `pointsCost`).
    #[serde(default)]
    pub discount_percent: Option<f64>,
    /// How many can be delivered when the catalogue is published; absent: no stock to run out
    /// of. At 0 the deal is sold out until an availability overlay says otherwise; overlays give
    /// the live count.
    #[serde(default)]
    pub stock: Option<u32>,
    /// What low stock does to the deal's priority.
    #[serde(default)]
    pub low_stock: Option<LowStock>,
}

/// When a deal's remaining stock is above 0 and at most `threshold`, `lever` percent is added to
/// L: negative to save the last ones for where they matter, positive to clear them.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LowStock {
    /// Remaining stock at or below which the stock is low (at least 1).
    pub threshold: u32,
    /// Percent added to L while the stock is low.
    pub lever: f64,
}

fn default_assignment() -> Assignment {
    Assignment::Split
}

/// A context weight.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ContextWeight {
    /// GrowthBook-style condition on the contact (`context.page`, `context.topic`, …).
    pub when: Value,
    /// Percent added to C when it holds.
    pub weight: f64,
}

/// What a proposition is worth.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Values {
    /// Value to the bank (≥ 0).
    pub bank: f64,
    /// Value to the customer (≥ 0).
    pub customer: f64,
}

/// Where the propensity comes from.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Propensity {
    /// Model key looked up in the profile's propensities.
    #[serde(default)]
    pub model: Option<String>,
    /// Used when the profile has no score for the model, 0–1.
    pub default: f64,
}

/// How a proposition picks its treatment.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Assignment {
    /// Weighted split by hashing the pseudonymous id.
    Split,
    /// Thompson sampling from each treatment's Beta(α, β).
    Bandit,
}

/// A variant of the message.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Treatment {
    pub id: String,
    /// Share of traffic under `split` (default 1).
    #[serde(default = "one")]
    pub weight: f64,
    /// Beta(α, β) under `bandit` (default [1, 1]).
    #[serde(default = "flat_prior")]
    pub beta: [f64; 2],
    /// Creatives for large screens, per locale.
    pub creative: BTreeMap<String, Creative>,
    /// Creatives for small screens, per locale. Without one the proposition is not shown on a
    /// small screen.
    #[serde(default)]
    pub compact: BTreeMap<String, Creative>,
}

fn flat_prior() -> [f64; 2] {
    [1.0, 1.0]
}

/// What is shown.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Creative {
    pub title: String,
    pub body: String,
    /// Call-to-action label.
    pub cta: String,
    /// `https:` URL on an allowed host, or a relative path starting with `/`.
    pub href: String,
    #[serde(default)]
    pub image: Option<Image>,
}

/// An image with its intrinsic size (so the page reserves its space).
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Image {
    pub src: String,
    pub width: u16,
    pub height: u16,
    pub alt: String,
}
