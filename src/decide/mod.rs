//! The decision funnel: select → prioritise → filter and arbitrate per placement → explain.
//!
//! [`Engine::decide`](crate::Engine::decide) runs it for one placement, one [`Profile`] (parsed
//! once per page and reused for every placement) and one [`Context`] at a given `now`. Each stage
//! is a function in a file of its own, handing the next a [`prioritise::Funnel`]; the names of stages and rules are in
//! [`rules`]:
//!
//! 1. [`select::select`]: audience, channel, validity window, pauses and sold-out stock (the
//!    [availability overlay](crate::bundle::overlay) in force), consent, holdout, eligibility,
//!    applicability, suitability, then the contact policies ([`policy`]), a treatment and a
//!    creative for the locale and screen;
//! 2. [`prioritise::prioritise_all`]: `priority = P × C × V × L`, every part kept;
//! 3. [`arbitrate::arbitrate`]: fill the placement's slots by priority under its rules (one per
//!    segment, at most `maxSales` sales and loyalty, `minService` slots reserved for service),
//!    then let the segments' fallback propositions fill slots that stay empty; and the strategic
//!    knob's cost: the same arbitration with every strategic setting at 0, and the expected
//!    value `Σ P × V` of both sets;
//! 4. [`explain::trace`]: a trace entry (stage, rule, detail) for every proposition not shown,
//!    only when asked for; [`explain::table`] renders a whole decision for people.
//!
//! A decision depends on nothing but its inputs (no clock, no randomness, no order of a hash
//! map), so `opmaat explain` replays it from the same bundle, profile, context and `now`.
//! Contact policies read the customer's ledger (`DecideRequest::ledger`, see [`policy`]);
//! the holdout control group is drawn from the pseudonymous id (see [`holdout`]); bandit
//! treatments and, with `sampledPropensities`, P itself are seeded draws (see [`bandit`]).

pub mod arbitrate;
pub mod bandit;
pub mod context;
pub mod explain;
pub mod holdout;
pub mod policy;
pub mod prioritise;
pub mod rules;
pub mod select;
pub mod treatment;

#[cfg(all(test, feature = "compiler"))]
mod personas;
#[cfg(all(test, feature = "compiler", not(target_arch = "wasm32")))]
mod properties;
#[cfg(all(test, feature = "compiler"))]
pub(crate) mod tests;

use serde::Serialize;
use serde_json::{Map, Value};

pub use context::{Context, Screen};
pub use explain::TraceEntry;
pub use rules::{Rule, Stage};
pub use prioritise::{Parts, PropensitySource};
pub use crate::measure::token::{parse_token, BundleRef, DecisionId, Token};
pub use treatment::Assignment;

use crate::bundle::model::{Audience, Catalogue, FormFactor, HoldoutMode, Image, Kind, Reward};
use crate::bundle::overlay::{availability, low_stock, Overlay};
use crate::bundle::Bundle;
use crate::ledger::Ledger;
use crate::measure::{Measured, Measurement};
use crate::profile::{Profile, ProfilePolicy};
use crate::time::{format_rfc3339, Timestamp};
use crate::{Error, Result};
use arbitrate::{Filled, Rules};
use crate::condition::Session;
use context::View;
use select::Gate;
use prioritise::{segment_of, Funnel, Status};

/// What to decide.
#[derive(Debug, Clone, Copy)]
pub struct DecideRequest<'a> {
    /// The placement's id, such as `overview`.
    pub placement: &'a str,
    pub profile: &'a Profile,
    pub context: &'a Context,
    /// The customer's contact history; contact policies are checked against it. `None` is a
    /// customer the device knows nothing about.
    pub ledger: Option<&'a Ledger>,
    /// The moment of the decision (seconds since the epoch); the host's clock, passed in.
    pub now: Timestamp,
}

/// The outcome of one decision: what to show, why, and what everything else lost on.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Decision {
    /// 16 hex digits, the same for the same inputs (see [`crate::measure::token`]).
    pub decision_id: String,
    pub bundle_id: String,
    pub bundle_version: u64,
    pub placement: PlacementRules,
    /// The profile's pseudonymous id, if it has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub profile_id: Option<String>,
    pub logged_in: bool,
    /// Which consent the decision honoured.
    pub consent: ConsentUsed,
    /// The locale asked for (the catalogue's default when the context names none).
    pub locale: String,
    pub form_factor: Screen,
    /// `now`, RFC 3339.
    pub now: String,
    /// The propositions to show, in slot order. May be fewer than the placement's slots.
    pub slots: Vec<Slot>,
    /// `Σ P × V` of the shown propositions.
    pub expected_value: f64,
    /// The customer is in the catalogue's holdout control group (see [`holdout`]).
    pub holdout: bool,
    /// For a customer in the holdout group: the propositions the decision would have shown
    /// outside it and did not (the group's counterfactual exposures). Their measurement events
    /// (`withheld`, sent with analytics consent) make the control arm of the uplift `learn`
    /// reports. Empty, and absent from the JSON, for everyone else.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub withheld: Vec<Withheld>,
    /// The `withheld` measurement events of those propositions, for the collector: present only
    /// with analytics consent and a pseudonymous id. Hosts send them when they render the
    /// placement, as they send impressions. (The Wasm shell adds them to the JS decision itself,
    /// through the JSON path the measurement events of responses already take.)
    #[serde(skip_serializing_if = "Vec::is_empty")]
    #[cfg_attr(target_arch = "wasm32", serde(skip))]
    pub measurement: Vec<Measurement>,
    /// What the same decision would have shown with the strategic knob at 0.
    pub without_knob: WithoutKnob,
    /// One entry for every proposition not shown, in catalogue order.
    pub trace: Vec<TraceEntry>,
    /// The sequence of the availability overlay the decision honoured (absent: none was in
    /// force, and the catalogue's own stock applied).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub overlay_sequence: Option<u64>,
    /// Codes of problems that did not stop the decision: `ledger_corrupt` (a stored ledger that
    /// could not be read and was reset), `overlay_expired` (the availability overlay's window
    /// has passed, so the catalogue's own stock applies until a fresh one is applied), …
    pub warnings: Vec<String>,
}

/// The warning of a decision whose availability overlay has expired.
pub const OVERLAY_EXPIRED: &str = "overlay_expired";
/// The warning of a decision made before its availability overlay's window opens.
pub const OVERLAY_NOT_YET_VALID: &str = "overlay_not_yet_valid";

/// The placement decided and its rules.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PlacementRules {
    pub id: String,
    pub channel: String,
    pub audience: Audience,
    pub slots: u8,
    /// At most this many sales and loyalty propositions (the slot count when unset).
    pub max_sales: u8,
    pub min_service: u8,
    pub one_per_segment: bool,
}

/// The consent a decision honoured.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ConsentUsed {
    /// Profile attributes and propensities were used.
    pub personalisation: bool,
    /// Sales and loyalty propositions could be shown.
    pub marketing: bool,
    /// Measurement events (impressions, clicks) may be sent for this decision.
    pub analytics: bool,
    /// The customer opted out of commercial propositions in this placement's channel.
    pub channel_opted_out: bool,
}

/// One shown proposition.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Slot {
    /// 1-based.
    pub position: u8,
    pub proposition: String,
    pub segment: String,
    pub kind: Kind,
    pub treatment: String,
    pub assignment: Assignment,
    /// The probability that this customer is shown this treatment of the proposition (the
    /// split's weight share, Thompson sampling's win probability): for off-policy evaluation.
    pub selection_probability: f64,
    pub creative: ShownCreative,
    /// `P × C × V × L`.
    pub priority: f64,
    pub parts: Parts,
    /// Filled by the segment's fallback proposition because the slot would stay empty.
    pub fallback: bool,
    /// Why a fallback was needed (absent for other slots).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// A loyalty deal's terms and stock, for the banner to show (absent for other propositions).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub loyalty: Option<ShownLoyalty>,
    /// Names this impression: the ledger records the customer's responses under it, and
    /// measurement events (sent only with analytics consent) carry it. No personal data.
    pub token: String,
}

/// A proposition the holdout group's decision withheld: it would have been shown otherwise.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Withheld {
    pub proposition: String,
    pub treatment: String,
    /// The token of the `withheld` measurement event (position 0, holdout and withheld set).
    pub token: String,
}

/// The creative to render, resolved for the locale and screen.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ShownCreative {
    /// The catalogue locale it is written in (after the fallback chain).
    pub locale: String,
    /// `large` or `compact`.
    pub form_factor: FormFactor,
    pub title: String,
    pub body: String,
    pub cta: String,
    pub href: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image: Option<Image>,
}

/// A shown loyalty deal's terms.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ShownLoyalty {
    pub partner: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub points_cost: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub discount_percent: Option<f64>,
    /// How many are left, where counted (the overlay's count, else the catalogue's stock).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remaining: Option<u32>,
    /// The remaining stock is at or below the catalogue's low-stock threshold.
    pub low_stock: bool,
}

/// The decision as it would have been without the strategic knob.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WithoutKnob {
    /// The propositions that would have been shown, in slot order.
    pub propositions: Vec<String>,
    /// Their `Σ P × V`.
    pub expected_value: f64,
    /// `expectedValue` without the knob minus with it: what the knob costs in expected value
    /// (negative when the knob happens to gain).
    pub knob_cost: f64,
}

/// How far in the future a snapshot's `issuedAt` may lie (clock skew between the bank's servers
/// and the device), in seconds.
pub const MAX_CLOCK_SKEW_SECONDS: i64 = 300;

/// With `with_trace` false the decision's trace stays empty and is not built at all: on large
/// catalogues it costs more than the rest of the decision.
/// `context_checked`: the context came from [`Context::parse`] or [`Context::from_value`], which
/// checked it; otherwise (a context built in Rust) it is checked here.
pub(crate) fn decide(
    bundle: &Bundle,
    overlay: Option<&Overlay>,
    policy: &ProfilePolicy,
    request: &DecideRequest,
    with_trace: bool,
    context_checked: bool,
) -> Result<Decision> {
    let payload = &bundle.payload;
    let catalogue = &payload.catalogue;
    let now = request.now;
    if now < payload.not_before {
        return Err(Error::NotYetValid { what: crate::bundle::envelope::BUNDLE.what, not_before: format_rfc3339(payload.not_before), now: format_rfc3339(now) });
    }
    if now >= payload.expires_at {
        return Err(Error::Expired { what: crate::bundle::envelope::BUNDLE.what, expires_at: format_rfc3339(payload.expires_at), now: format_rfc3339(now) });
    }
    let placement = catalogue.placements.iter().find(|p| p.id == request.placement).ok_or_else(|| {
        let known: Vec<&str> = catalogue.placements.iter().map(|p| p.id.as_str()).collect();
        Error::argument("placement", format!("no placement {:?} in this bundle (placements: {})", request.placement, known.join(", ")))
    })?;
    let channel = catalogue
        .channels
        .get(usize::from(placement.channel))
        .ok_or_else(|| Error::malformed(format!("placement {} names a missing channel", placement.id)))?;

    let context = request.context;
    if !context_checked {
        context.validate()?;
    }
    if let Some(c) = context.channel.as_deref().filter(|c| c != channel) {
        return Err(Error::argument("context.channel", format!("placement {} is in channel {channel}, not {c}", placement.id)));
    }
    if let Some(p) = context.placement.as_deref().filter(|p| *p != placement.id) {
        return Err(Error::argument("context.placement", format!("the decision is for placement {}, not {p}", placement.id)));
    }

    let profile = request.profile;
    if let Some(expires) = profile.expires_at().filter(|&e| now >= e) {
        return Err(Error::ProfileExpired { expires_at: format_rfc3339(expires), now: format_rfc3339(now) });
    }
    if let Some(issued) = profile.issued_at().filter(|&i| i > now.saturating_add(MAX_CLOCK_SKEW_SECONDS)) {
        return Err(Error::profile(
            "profile.issuedAt",
            format!("issued in the future ({}, now is {})", format_rfc3339(issued), format_rfc3339(now)),
        ));
    }
    policy.admit(profile)?;

    let consent = profile.consent();
    let personalised = consent.personalisation;
    let opted_out = consent.channel_opt_outs.iter().any(|c| c == channel);
    let locale = context.locale.clone().unwrap_or_else(|| catalogue.default_locale.clone());
    let mut locales: Vec<&str> = Vec::with_capacity(3);
    for l in [locale.as_str(), context::language(&locale), catalogue.default_locale.as_str()] {
        if !locales.iter().any(|known| known.eq_ignore_ascii_case(l)) {
            locales.push(l);
        }
    }
    let context_value = context_object(context, &placement.id, channel, &locale, now, profile.logged_in());
    let view = View {
        attributes: personalised.then(|| profile.attributes()),
        id: profile.id().filter(|_| personalised).map(Value::from),
        context: &context_value,
    };
    let session = bundle.conditions.session(&view);
    let sales_blocked = request.ledger.and_then(|ledger| {
        let is_sales = |key: u32| {
            bundle
                .proposition_by_ledger_key(key)
                .and_then(|i| catalogue.propositions.get(i))
                .is_some_and(|p| p.kind != Kind::Service)
        };
        policy::check_sales_per_day(ledger, catalogue.contact_policy.sales_per_day, is_sales, now)
    });
    let held_out = holdout::is_member(catalogue.holdout.as_ref(), profile.id());
    let holdout_mode = catalogue.holdout.as_ref().filter(|_| held_out).map(|h| h.mode);
    let mut warnings = Vec::new();
    let overlay = match overlay {
        Some(o) if o.in_force(now) => Some(o),
        Some(o) => {
            warnings.push(if now < o.payload.not_before { OVERLAY_NOT_YET_VALID } else { OVERLAY_EXPIRED }.to_string());
            None
        }
        None => None,
    };
    let bundle_ref = BundleRef { id: &payload.bundle_id, version: payload.version, content: bundle.content };
    let decision_id = DecisionId::of(bundle_ref, &placement.id, profile.id(), now);
    let gate = Gate {
        holdout: holdout_mode,
        ledger: request.ledger,
        contact_policy: &catalogue.contact_policy,
        segments: &catalogue.segments,
        sales_blocked: sales_blocked.as_ref(),
        placement,
        overlay,
        channel,
        session: &session,
        now,
        logged_in: profile.logged_in(),
        marketing: consent.marketing,
        opted_out,
        personalised,
        profile_id: profile.id(),
        locales: &locales,
        screen: context.screen,
        explain: with_trace,
    };
    // The same contact outside the holdout group: the counterfactual of a held-out customer.
    let unheld = Gate { holdout: None, explain: false, ..gate };
    let propensities = personalised.then(|| profile.propensities());

    // The funnel, stage by stage.
    let mut funnel = selected_and_prioritised(&gate, catalogue, overlay, propensities, profile.id(), now, &session)?;
    if holdout_mode == Some(HoldoutMode::Random) {
        holdout::keep_one_at_random(&mut funnel, &decision_id.hex());
    }
    let rules = Rules::of(placement);
    let (filled, unknobbed) = arbitrate::arbitrate(&funnel, &catalogue.propositions, rules, with_trace);
    let expected = |chosen: &[(usize, bool)]| -> f64 {
        chosen.iter().filter_map(|&(i, _)| funnel.chosen(i)).fold(0.0, |sum, (_, parts)| sum + parts.expected_value)
    };
    let expected_value = expected(&filled.chosen);
    let expected_without = expected(&unknobbed.chosen);
    let name = |i: usize| catalogue.propositions.get(i).map_or_else(String::new, |p| p.id.clone());
    let facts = |position: u8, p: &crate::bundle::model::Proposition, treatment: &str, probability: f64, withheld: bool| Token {
        decision: String::new(),
        bundle: payload.bundle_id.clone(),
        bundle_version: payload.version,
        placement: placement.id.clone(),
        position,
        holdout: held_out,
        withheld,
        selection_probability: probability,
        proposition: p.id.clone(),
        treatment: treatment.to_string(),
    };
    let slots = slots(catalogue, overlay, &funnel, &filled, decision_id, &session, &facts)?;
    let withheld = if holdout_mode.is_some() {
        // The same decision outside the group; what it would have shown and this one does not.
        let funnel = selected_and_prioritised(&unheld, catalogue, overlay, propensities, profile.id(), now, &session)?;
        let (would, _) = arbitrate::arbitrate(&funnel, &catalogue.propositions, rules, false);
        let mut withheld = Vec::new();
        for &(i, _) in &would.chosen {
            let (Some(p), Some((choice, _))) = (catalogue.propositions.get(i), funnel.chosen(i)) else { continue };
            if slots.iter().any(|s| s.proposition == p.id) {
                continue;
            }
            let treatment = p.treatments.get(choice.treatment).ok_or_else(|| Error::malformed("treatment out of range"))?;
            let probability = selection_probability(p, choice);
            withheld.push(Withheld {
                proposition: p.id.clone(),
                treatment: treatment.id.clone(),
                token: crate::measure::token::tracking_token(decision_id, &facts(0, p, &treatment.id, probability, true)),
            });
        }
        withheld
    } else {
        Vec::new()
    };
    // On large catalogues the trace costs more than the rest of the decision: built on request.
    let trace = if with_trace { explain::trace(&funnel, &filled, rules, catalogue, &session)? } else { Vec::new() };

    Ok(Decision {
        decision_id: decision_id.hex(),
        bundle_id: payload.bundle_id.clone(),
        bundle_version: payload.version,
        placement: PlacementRules {
            id: placement.id.clone(),
            channel: channel.clone(),
            audience: placement.audience,
            slots: placement.slots,
            max_sales: placement.max_sales.unwrap_or(placement.slots),
            min_service: placement.min_service,
            one_per_segment: placement.one_per_segment,
        },
        profile_id: profile.id().map(str::to_string),
        logged_in: profile.logged_in(),
        consent: ConsentUsed {
            personalisation: personalised,
            marketing: consent.marketing,
            analytics: consent.analytics,
            channel_opted_out: opted_out,
        },
        locale,
        form_factor: context.screen,
        now: format_rfc3339(now),
        slots,
        expected_value,
        without_knob: WithoutKnob {
            propositions: unknobbed.chosen.iter().map(|&(i, _)| name(i)).collect(),
            expected_value: expected_without,
            knob_cost: expected_without - expected_value,
        },
        trace,
        holdout: held_out,
        measurement: match profile.id() {
            Some(subject) if consent.analytics => withheld
                .iter()
                .filter_map(|w| parse_token(&w.token).ok())
                .map(|token| Measurement::of(token, Measured::Withheld, now, subject))
                .collect(),
            _ => Vec::new(),
        },
        withheld,
        overlay_sequence: overlay.map(|o| o.payload.sequence),
        warnings,
    })
}

/// Selection and prioritisation for one contact. Not inlined: a held-out customer's decision
/// runs it twice (in and outside the group), and one copy keeps the Wasm small.
#[inline(never)]
fn selected_and_prioritised<'a>(
    gate: &'a Gate<'a>,
    catalogue: &'a Catalogue,
    overlay: Option<&Overlay>,
    propensities: Option<&std::collections::BTreeMap<String, f64>>,
    profile_id: Option<&str>,
    now: Timestamp,
    session: &Session<'_, View<'_>>,
) -> Result<Funnel> {
    prioritise::prioritise_all(catalogue, overlay, select::select(gate, &catalogue.propositions), propensities, profile_id, now, session)
}

/// The shown propositions, in slot order, with their creatives and tokens.
fn slots(
    catalogue: &Catalogue,
    overlay: Option<&Overlay>,
    funnel: &Funnel,
    filled: &Filled,
    decision_id: DecisionId,
    session: &Session<'_, View<'_>>,
    facts: &dyn Fn(u8, &crate::bundle::model::Proposition, &str, f64, bool) -> Token,
) -> Result<Vec<Slot>> {
    let mut slots = Vec::with_capacity(filled.chosen.len());
    for (position, &(i, fallback)) in filled.chosen.iter().enumerate() {
        let (Some(p), Some((choice, parts))) = (catalogue.propositions.get(i), funnel.chosen(i)) else {
            continue;
        };
        let note = match funnel.statuses.get(i) {
            Some(Status::Fallback { detail, .. }) => Some(format!("segment fallback for an empty slot; {detail}")),
            _ => None,
        };
        let treatment = p.treatments.get(choice.treatment).ok_or_else(|| Error::malformed("treatment out of range"))?;
        let creative = treatment.creatives.get(choice.creative).ok_or_else(|| Error::malformed("creative out of range"))?;
        let position = u8::try_from(position + 1).unwrap_or(u8::MAX);
        let selection_probability = selection_probability(p, choice);
        slots.push(Slot {
            position,
            proposition: p.id.clone(),
            segment: segment_of(&catalogue.segments, p)?.id.clone(),
            kind: p.kind,
            treatment: treatment.id.clone(),
            assignment: choice.assignment,
            selection_probability,
            creative: ShownCreative {
                locale: creative.locale.clone(),
                form_factor: creative.form,
                title: creative.title.clone(),
                body: creative.body.clone(),
                cta: creative.cta.clone(),
                href: creative.href.clone(),
                image: creative.image.clone(),
            },
            priority: parts.priority,
            parts: prioritise::described(parts, p, session),
            fallback,
            note,
            loyalty: p.loyalty.as_ref().map(|l| {
                let supply = availability(p, overlay.and_then(|o| o.entry(i)));
                let (points_cost, discount_percent) = match l.reward {
                    Reward::PointsCost(points) => (Some(points), None),
                    Reward::DiscountPercent(d) => (None, Some(d)),
                };
                ShownLoyalty {
                    partner: l.partner.clone(),
                    points_cost,
                    discount_percent,
                    remaining: supply.remaining,
                    low_stock: low_stock(p, &supply).is_some(),
                }
            }),
            token: crate::measure::token::tracking_token(decision_id, &facts(position, p, &treatment.id, selection_probability, false)),
        });
    }
    Ok(slots)
}

/// The probability that the customer is shown the chosen treatment of `p`.
fn selection_probability(p: &crate::bundle::model::Proposition, choice: &select::Choice) -> f64 {
    match choice.assignment {
        Assignment::Thompson => bandit::selection_probability(&p.treatments, choice.treatment),
        _ => choice.probability,
    }
}

/// The context as conditions see it under `context.*`.
fn context_object(context: &Context, placement: &str, channel: &str, locale: &str, now: Timestamp, logged_in: bool) -> Value {
    let mut map = Map::new();
    map.insert("channel".into(), channel.into());
    map.insert("placement".into(), placement.into());
    if let Some(page) = &context.page {
        map.insert("page".into(), page.as_str().into());
    }
    if let Some(topic) = &context.topic {
        map.insert("topic".into(), topic.as_str().into());
    }
    map.insert("locale".into(), locale.into());
    map.insert("language".into(), context::language(locale).into());
    map.insert("formFactor".into(), context.screen.as_str().into());
    map.insert("now".into(), format_rfc3339(now).into());
    map.insert("loggedIn".into(), logged_in.into());
    for (k, v) in &context.extra {
        map.entry(k.clone()).or_insert_with(|| v.clone());
    }
    Value::Object(map)
}
