//! The compiled catalogue: what a signed bundle carries and what every host decides from.
//!
//! This is the binary form of the marketer's catalogue (see [`super::catalogue`] for the JSON
//! source). It differs from the source in ways that make deciding cheap and loading safe:
//! segments and channels are interned into tables and referred to by index, times are Unix
//! seconds, targeting conditions are compiled IR in one [`Pool`], and every collection and string
//! is decoded through the limit helpers.
//!
//! Encoding is postcard, which is neither self-describing nor canonical. So: fields are only ever
//! appended (with a new format version), enums gain variants only at the end, integers are
//! fixed-size types (never `usize`), and the exact signed bytes are verified, never re-encoded.

use serde::{Deserialize, Serialize};

use crate::limits::{self, *};
use crate::condition::{CondId, Pool};
use crate::time::Timestamp;

/// The signed payload of a bundle.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Payload {
    /// The catalogue's id: which stream of bundles this one belongs to.
    #[serde(deserialize_with = "limits::string::<MAX_ID_BYTES, _>")]
    pub bundle_id: String,
    /// Increases with every published bundle of the same id; a host refuses to go back.
    pub version: u64,
    /// When the bundle was built.
    pub issued_at: Timestamp,
    /// The bundle is not used before this moment…
    pub not_before: Timestamp,
    /// …nor from this moment on.
    pub expires_at: Timestamp,
    pub catalogue: Catalogue,
}

/// Everything a decision needs, compiled.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Catalogue {
    /// The locale whose creatives every proposition must have; the end of every fallback chain.
    #[serde(deserialize_with = "limits::string::<MAX_ID_BYTES, _>")]
    pub default_locale: String,
    /// Product segments, referred to by index.
    #[serde(deserialize_with = "limits::seq::<MAX_SEGMENTS, _, _>")]
    pub segments: Vec<Segment>,
    /// Channel names (`web`, `app`, `callcentre`, …), referred to by index.
    #[serde(deserialize_with = "limits::strings::<MAX_CHANNELS, MAX_ID_BYTES, _>")]
    pub channels: Vec<String>,
    /// Hosts that creatives may link to (besides relative, same-origin links).
    #[serde(deserialize_with = "limits::strings::<MAX_SMALL_LIST, MAX_ID_BYTES, _>")]
    pub allowed_link_hosts: Vec<String>,
    pub arbitration: Arbitration,
    /// The catalogue-wide contact policy; segments and propositions may override parts of it.
    pub contact_policy: ContactPolicy,
    pub holdout: Option<Holdout>,
    #[serde(deserialize_with = "limits::seq::<MAX_PLACEMENTS, _, _>")]
    pub placements: Vec<Placement>,
    #[serde(deserialize_with = "limits::seq::<MAX_PROPOSITIONS, _, _>")]
    pub propositions: Vec<Proposition>,
    /// Every targeting condition of the catalogue, compiled.
    pub conditions: Pool,
}

/// Index into [`Catalogue::segments`].
pub type SegmentId = u16;
/// Index into [`Catalogue::channels`].
pub type ChannelId = u16;

/// A product segment (savings, payments, mortgages, …) and the levers set on it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Segment {
    #[serde(deserialize_with = "limits::string::<MAX_ID_BYTES, _>")]
    pub id: String,
    /// Business lever for the whole segment, in percent (part of L).
    pub lever: f64,
    /// The strategic knob for the whole segment, in percent (part of L).
    pub strategic: f64,
    /// Contact-policy overrides for the segment's propositions.
    pub policy: PolicyOverride,
}

/// How priorities are computed (`P × C × V × L`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Arbitration {
    /// Weight of the proposition's value to the bank in V; 0 is the customer-centric mode.
    pub bank_value_weight: f64,
    /// Weight of the proposition's value to the customer in V.
    pub customer_value_weight: f64,
    /// Draw propensities from the treatments' Beta distributions instead of using them as given.
    pub sampled_propensities: bool,
}

/// Contact rules: how often a customer may see a proposition, and when it must rest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContactPolicy {
    /// Days a proposition stays away after the customer said "not interested".
    pub dismiss_cooldown_days: u32,
    /// At most this many sales impressions a day across all propositions (info-overload).
    pub sales_per_day: Option<u32>,
    /// Per-proposition impression caps.
    #[serde(deserialize_with = "limits::seq::<MAX_SMALL_LIST, _, _>")]
    pub caps: Vec<Cap>,
    /// Stop offering a proposition once the customer converted.
    pub suppress_after_conversion: bool,
    /// Shown this often without a click → rest.
    pub rest_after_ignored: Option<Rest>,
}

/// Parts of a [`ContactPolicy`] that a segment or a proposition sets for itself.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PolicyOverride {
    pub dismiss_cooldown_days: Option<u32>,
    #[serde(default, deserialize_with = "limits::opt_seq::<MAX_SMALL_LIST, _, _>")]
    pub caps: Option<Vec<Cap>>,
    pub suppress_after_conversion: Option<bool>,
    pub rest_after_ignored: Option<Rest>,
}

/// At most `impressions` impressions in `days` days.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Cap {
    pub impressions: u32,
    pub days: u32,
}

/// After `impressions` impressions without a click, rest for `days` days.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Rest {
    pub impressions: u32,
    pub days: u32,
}

/// The catalogue-wide holdout control group.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Holdout {
    /// Share of customers in the control group, 0–100.
    pub percent: f64,
    /// Hash salt; rotating it (say monthly) draws a new group.
    #[serde(deserialize_with = "limits::string::<MAX_ID_BYTES, _>")]
    pub salt: String,
    pub mode: HoldoutMode,
}

/// What a customer in the holdout group gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HoldoutMode {
    /// Only service propositions.
    NoSales,
    /// One eligible proposition at random instead of the ranked ones.
    Random,
    /// Only the segments' fallback propositions.
    Fallbacks,
}

/// A place on a page (or screen) that shows propositions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Placement {
    #[serde(deserialize_with = "limits::string::<MAX_ID_BYTES, _>")]
    pub id: String,
    pub channel: ChannelId,
    pub audience: Audience,
    pub slots: u8,
    /// At most this many sales (and loyalty) propositions.
    pub max_sales: Option<u8>,
    /// At least this many slots are reserved for service propositions.
    pub min_service: u8,
    /// At most one proposition per product segment.
    pub one_per_segment: bool,
}

/// Who a placement is shown to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Audience {
    LoggedIn,
    LoggedOff,
    Any,
}

/// What kind of action a proposition is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Sales,
    Service,
    Loyalty,
}

/// One next-best-action.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Proposition {
    #[serde(deserialize_with = "limits::string::<MAX_ID_BYTES, _>")]
    pub id: String,
    pub segment: SegmentId,
    pub kind: Kind,
    #[serde(deserialize_with = "limits::seq::<MAX_CHANNELS, _, _>")]
    pub channels: Vec<ChannelId>,
    pub valid_from: Option<Timestamp>,
    pub valid_until: Option<Timestamp>,
    /// May the customer have it (age, holdings, residency)?
    pub eligibility: Option<CondId>,
    /// Does it make sense now (not owned already, the context fits)?
    pub applicability: Option<CondId>,
    /// Is it responsible (no credit to a customer in arrears)?
    pub suitability: Option<CondId>,
    #[serde(deserialize_with = "limits::seq::<MAX_SMALL_LIST, _, _>")]
    pub context_weights: Vec<ContextWeight>,
    pub bank_value: f64,
    pub customer_value: f64,
    /// The propensity model key the profile's scores are looked up under.
    #[serde(deserialize_with = "limits::opt_string::<MAX_ID_BYTES, _>")]
    pub propensity_model: Option<String>,
    /// Propensity used when the profile has no score for the model.
    pub default_propensity: f64,
    /// Business lever in percent (part of L).
    pub lever: f64,
    /// The strategic knob for this proposition, in percent (part of L).
    pub strategic: f64,
    /// Fills a slot of its segment rather than leaving it empty.
    pub fallback: bool,
    pub policy: PolicyOverride,
    pub assignment: Assignment,
    #[serde(deserialize_with = "limits::seq::<MAX_TREATMENTS, _, _>")]
    pub treatments: Vec<Treatment>,
    /// A loyalty deal's partner, reward and stock (format version 2).
    pub loyalty: Option<Loyalty>,
}

/// A loyalty deal's terms.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Loyalty {
    #[serde(deserialize_with = "limits::string::<MAX_TEXT_BYTES, _>")]
    pub partner: String,
    pub reward: Reward,
    /// How many there were when the bundle was built; `None`: no stock to run out of.
    pub stock: Option<u32>,
    pub low_stock: Option<LowStock>,
}

/// What a loyalty deal gives the customer.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Reward {
    /// It costs this many interest points.
    PointsCost(u32),
    /// The partner's discount, in percent.
    DiscountPercent(f64),
}

/// While the remaining stock is above 0 and at most `threshold`, `lever` percent is added to L.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LowStock {
    pub threshold: u32,
    pub lever: f64,
}

/// Adds `weight` percent to C when `when` holds for the contact.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ContextWeight {
    pub when: CondId,
    pub weight: f64,
}

/// How a proposition picks one of its treatments.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Assignment {
    /// Weighted split by hashing the pseudonymous id (sticky without storage).
    Split,
    /// Thompson sampling from each treatment's Beta(α, β).
    Bandit,
}

/// A variant of a proposition's message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Treatment {
    #[serde(deserialize_with = "limits::string::<MAX_ID_BYTES, _>")]
    pub id: String,
    /// Share of traffic under [`Assignment::Split`].
    pub weight: f64,
    /// Beta(α, β) under [`Assignment::Bandit`].
    pub alpha: f64,
    pub beta: f64,
    #[serde(deserialize_with = "limits::seq::<MAX_CREATIVES, _, _>")]
    pub creatives: Vec<Creative>,
}

/// Screen size a creative is made for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FormFactor {
    Large,
    /// For small screens.
    Compact,
}

/// The text and link shown for one locale and form factor.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Creative {
    #[serde(deserialize_with = "limits::string::<MAX_ID_BYTES, _>")]
    pub locale: String,
    pub form: FormFactor,
    #[serde(deserialize_with = "limits::string::<MAX_TEXT_BYTES, _>")]
    pub title: String,
    #[serde(deserialize_with = "limits::string::<MAX_TEXT_BYTES, _>")]
    pub body: String,
    #[serde(deserialize_with = "limits::string::<MAX_TEXT_BYTES, _>")]
    pub cta: String,
    #[serde(deserialize_with = "limits::string::<MAX_TEXT_BYTES, _>")]
    pub href: String,
    pub image: Option<Image>,
}

/// An image with its intrinsic size, so the page reserves its space (no layout shift).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Image {
    #[serde(deserialize_with = "limits::string::<MAX_TEXT_BYTES, _>")]
    pub src: String,
    pub width: u16,
    pub height: u16,
    #[serde(deserialize_with = "limits::string::<MAX_TEXT_BYTES, _>")]
    pub alt: String,
}

impl Catalogue {
    /// Checks what decoding cannot: every index points into its table, every number is finite
    /// and in range, every condition id exists. A bundle that passes is safe to decide from.
    pub fn check(&self) -> crate::Result<()> {
        let bad = |what: String| Err(crate::Error::malformed(what));
        let segments = self.segments.len();
        let channels = self.channels.len();
        let conditions = self.conditions.len();
        let cond_ok = |c: &Option<CondId>| c.is_none_or(|c| (c.0 as usize) < conditions);
        for (i, s) in self.segments.iter().enumerate() {
            if !s.lever.is_finite() || !s.strategic.is_finite() {
                return bad(format!("segments[{i}] has a non-finite lever"));
            }
        }
        let a = &self.arbitration;
        if !(a.bank_value_weight.is_finite() && a.customer_value_weight.is_finite()) {
            return bad("arbitration weights are not finite".into());
        }
        if let Some(h) = &self.holdout {
            if !(0.0..=100.0).contains(&h.percent) {
                return bad(format!("holdout percent {} is outside 0–100", h.percent));
            }
        }
        for (i, p) in self.placements.iter().enumerate() {
            if usize::from(p.channel) >= channels {
                return bad(format!("placements[{i}] names channel {} of {channels}", p.channel));
            }
            if p.slots == 0 || usize::from(p.slots) > MAX_SLOTS || p.min_service > p.slots {
                return bad(format!("placements[{i}] has inconsistent slot rules"));
            }
        }
        for (i, p) in self.propositions.iter().enumerate() {
            if usize::from(p.segment) >= segments {
                return bad(format!("propositions[{i}] names segment {} of {segments}", p.segment));
            }
            if p.channels.iter().any(|&c| usize::from(c) >= channels) {
                return bad(format!("propositions[{i}] names a channel out of range"));
            }
            if !(cond_ok(&p.eligibility) && cond_ok(&p.applicability) && cond_ok(&p.suitability))
                || p.context_weights.iter().any(|w| !cond_ok(&Some(w.when)) || !w.weight.is_finite())
            {
                return bad(format!("propositions[{i}] refers to a condition out of range"));
            }
            let numbers = [p.bank_value, p.customer_value, p.lever, p.strategic];
            if !numbers.iter().all(|n| n.is_finite()) || !(0.0..=1.0).contains(&p.default_propensity) {
                return bad(format!("propositions[{i}] has a number out of range"));
            }
            if p.treatments.is_empty() {
                return bad(format!("propositions[{i}] has no treatment"));
            }
            if let Some(loyalty) = &p.loyalty {
                let discount_ok = match loyalty.reward {
                    Reward::DiscountPercent(d) => d.is_finite() && d > 0.0 && d <= 100.0,
                    Reward::PointsCost(_) => true,
                };
                let lever_ok = loyalty.low_stock.is_none_or(|l| l.lever.is_finite() && l.threshold > 0);
                if !(discount_ok && lever_ok) {
                    return bad(format!("propositions[{i}].loyalty has a number out of range"));
                }
            }
            for (j, t) in p.treatments.iter().enumerate() {
                let positive = |x: f64| x.is_finite() && x >= 0.0;
                if !(positive(t.weight) && positive(t.alpha) && positive(t.beta)) {
                    return bad(format!("propositions[{i}].treatments[{j}] has a bad weight"));
                }
            }
        }
        Ok(())
    }
}
