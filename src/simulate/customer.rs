//! One customer's simulated days through the real funnel.
//!
//! Every day the customer visits a number of times drawn from a Poisson distribution with mean
//! [`VisitModel::visits_per_day`], at moments drawn over the day. A visit decides up to
//! [`VisitModel::placements_per_visit`] of the placements open to the customer (by audience,
//! among those the visit model names), in the visit's context, against the customer's own
//! [`Ledger`]. Then the customer responds to each shown proposition, and every response is
//! recorded in that ledger through [`Engine::record`], as a host would:
//!
//! * an impression;
//! * a click with probability P, the proposition's propensity for this customer (the profile's
//!   score, as the decision used it);
//! * after a click, a conversion with [`ResponseModel::convert_after_click`];
//! * without a click, a dismissal ("not interested") with [`ResponseModel::dismiss_rate`].
//!
//! So caps, cool-downs, rest after ignored impressions, conversions, the holdout group,
//! treatment splits and bandits behave as they do in production. The draws of a day come from a
//! generators seeded by the run's seed, the customer and the day (one for the visits, one for the
//! responses): a customer's days do not depend on any other customer's, nor on the thread that
//! simulates them, and every run of a simulation sees the same visits.

use std::collections::HashMap;

use serde_json::Value;

use super::tally::{bump, bump_f, rule_index, Tally, Value3, RULES};
use crate::bundle::model::{Audience, Kind};
use crate::decide::bandit::Rng;
use crate::decide::{Context, DecideRequest, Decision, Parts, Stage};
use crate::ledger::{EventKind, Ledger};
use crate::time::{Timestamp, DAY};
use crate::{Engine, Profile, Result};

/// Days in a week of contact pressure.
pub const DAYS_PER_WEEK: u32 = 7;
/// Mixed into a day's seed for its responses' draws.
const RESPONSE_STREAM: u64 = 0x0005_E5B0_115E;
/// Most visits a customer makes in one day.
pub const MAX_VISITS_PER_DAY: u32 = 24;

/// How customers visit.
#[derive(Debug, Clone, PartialEq)]
pub struct VisitModel {
    /// Mean visits per customer per day (Poisson).
    pub visits_per_day: f64,
    /// Placements decided per visit, at most (fewer when fewer are open to the customer).
    pub placements_per_visit: usize,
    /// The placements visits decide (empty: every placement of the catalogue).
    pub placements: Vec<String>,
    /// The context mix: contexts with their weights. Empty: each customer's own context from the
    /// population, else the default context.
    pub contexts: Vec<(f64, Value)>,
}

/// How customers respond.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ResponseModel {
    pub convert_after_click: f64,
    pub dismiss_rate: f64,
}

impl ResponseModel {
    pub const DEFAULT_CONVERT_AFTER_CLICK: f64 = 0.2;
    pub const DEFAULT_DISMISS_RATE: f64 = 0.02;
}

/// A catalogue to simulate, with what the counting needs to know of it.
pub struct Arm {
    pub engine: Engine,
    pub propositions: usize,
    pub segments: usize,
    pub placements: Vec<String>,
    index: HashMap<String, usize>,
    /// Per proposition: its segment and kind.
    pub segment_of: Vec<usize>,
    pub kind_of: Vec<Kind>,
    audiences: Vec<Audience>,
    /// Per segment: whether any proposition belongs to it.
    catalogue_segments_with_propositions: Vec<bool>,
}

impl Arm {
    pub fn new(engine: Engine) -> Arm {
        let catalogue = &engine.bundle().payload.catalogue;
        let index = catalogue.propositions.iter().enumerate().map(|(i, p)| (p.id.clone(), i)).collect();
        let segments = catalogue.segments.len();
        let mut with = vec![false; segments];
        for p in &catalogue.propositions {
            if let Some(w) = with.get_mut(usize::from(p.segment)) {
                *w = true;
            }
        }
        Arm {
            propositions: catalogue.propositions.len(),
            segments,
            placements: catalogue.placements.iter().map(|p| p.id.clone()).collect(),
            audiences: catalogue.placements.iter().map(|p| p.audience).collect(),
            segment_of: catalogue.propositions.iter().map(|p| usize::from(p.segment)).collect(),
            kind_of: catalogue.propositions.iter().map(|p| p.kind).collect(),
            index,
            catalogue_segments_with_propositions: with,
            engine,
        }
    }

    pub fn tally(&self, days: u32) -> Tally {
        Tally::new(self.placements.len(), self.propositions, self.segments, days as usize)
    }

    pub fn proposition(&self, id: &str) -> Option<usize> {
        self.index.get(id).copied()
    }

    /// The segments coverage is judged on: those with at least one proposition.
    pub fn covered_segments(&self) -> impl Iterator<Item = usize> + '_ {
        self.catalogue_segments_with_propositions.iter().enumerate().filter(|(_, w)| **w).map(|(s, _)| s)
    }
}

/// The moment and draws of one simulation.
#[derive(Clone, Copy)]
pub struct Setting<'a> {
    pub seed: u64,
    pub days: u32,
    /// Midnight of the first day.
    pub start: Timestamp,
    pub visits: &'a VisitModel,
    pub responses: ResponseModel,
    /// Contexts of the visit model's mix, checked once.
    pub mix: &'a [(f64, Context)],
    pub observe: Option<super::Observer<'a>>,
}

/// The seed of a customer's day: the run's seed, the customer (its pseudonymous id, else its
/// position in the population) and the day.
fn day_seed(seed: u64, customer: &str, day: u32) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325; // FNV-1a
    for b in seed.to_le_bytes().into_iter().chain(customer.bytes()).chain([0]).chain(day.to_le_bytes()) {
        h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// A Poisson draw with mean `mean` (Knuth's method; `mean` is small), at most `max`.
fn poisson(rng: &mut Rng, mean: f64, max: u32) -> u32 {
    let limit = (-mean).exp();
    let (mut k, mut p) = (0u32, rng.uniform());
    while p > limit && k < max {
        k += 1;
        p *= rng.uniform();
    }
    k
}

/// The context of the mix that `x` (in `[0, Σ weights)`) falls on.
fn pick(mix: &[(f64, Context)], mut x: f64) -> Option<&Context> {
    for (weight, context) in mix {
        if x < *weight {
            return Some(context);
        }
        x -= weight;
    }
    mix.last().map(|(_, c)| c)
}

/// `Σ P × V` of a proposition's parts, by whom it is for.
fn value_of(parts: &Parts) -> Value3 {
    Value3 { weighted: parts.expected_value, bank: parts.p * parts.bank_value, customer: parts.p * parts.customer_value }
}

/// Counts one decision (its slots, the knob-free alternative and the trace) into `tally`; marks
/// what the customer saw in `seen`.
fn count_decision(arm: &Arm, placement: usize, day: usize, d: &Decision, tally: &mut Tally, seen: &mut Seen) {
    let n = arm.propositions;
    bump(&mut tally.decisions, placement, 1);
    bump(&mut tally.daily_decisions, day, 1);
    tally.knob_cost += d.without_knob.knob_cost;
    bump_f(&mut tally.daily_value, day, d.expected_value);
    bump_f(&mut tally.daily_value_unknobbed, day, d.without_knob.expected_value);
    let mut parts_of: HashMap<&str, &Parts> = HashMap::with_capacity(d.slots.len() + d.trace.len());
    for slot in &d.slots {
        parts_of.insert(&slot.proposition, &slot.parts);
        let Some(i) = arm.proposition(&slot.proposition) else { continue };
        bump(&mut tally.impressions, placement * n + i, 1);
        let value = value_of(&slot.parts);
        tally.value.add(value);
        let segment = arm.segment_of.get(i).copied().unwrap_or(0);
        bump_f(&mut tally.segment_value, segment, value.weighted);
        if let Some(s) = seen.segment_shown.get_mut(segment) {
            *s = true;
        }
        if let Some(s) = seen.segment_eligible.get_mut(segment) {
            *s = true;
        }
        if !d.holdout {
            if let Some(s) = seen.exposed.get_mut(i) {
                *s = true;
            }
        }
        seen.impressions_this_week += 1;
    }
    for entry in &d.trace {
        let Some(i) = arm.proposition(&entry.proposition) else { continue };
        let rule = rule_index(entry.rule);
        bump(&mut tally.removals, i * RULES + rule, 1);
        bump(&mut tally.rule_removals, rule, 1);
        if let Some(r) = seen.rules.get_mut(rule) {
            *r = true;
        }
        let segment = arm.segment_of.get(i).copied().unwrap_or(0);
        if entry.stage != Stage::Select {
            if let Some(s) = seen.segment_eligible.get_mut(segment) {
                *s = true;
            }
        }
        bump(&mut seen.segment_rules, segment * RULES + rule, 1);
        if let Some(parts) = &entry.parts {
            parts_of.insert(&entry.proposition, parts);
        }
    }
    for id in &d.without_knob.propositions {
        let Some(i) = arm.proposition(id) else { continue };
        bump(&mut tally.unknobbed_slots, i, 1);
        if let Some(parts) = parts_of.get(id.as_str()) {
            let value = value_of(parts);
            tally.value_unknobbed.add(value);
            bump_f(&mut tally.segment_value_unknobbed, arm.segment_of.get(i).copied().unwrap_or(0), value.weighted);
        }
    }
    if d.holdout {
        seen.holdout = true;
        for w in &d.withheld {
            if let Some(s) = arm.proposition(&w.proposition).and_then(|i| seen.control.get_mut(i)) {
                *s = true;
            }
        }
    }
}

/// What one customer saw over the whole run.
struct Seen {
    segment_shown: Vec<bool>,
    segment_eligible: Vec<bool>,
    segment_rules: Vec<u64>,
    rules: Vec<bool>,
    exposed: Vec<bool>,
    converted: Vec<bool>,
    control: Vec<bool>,
    holdout: bool,
    impressions_this_week: u32,
}

/// Simulates one customer over the run's days, counting into `tally`. A decision that fails
/// (an expired bundle at a late day, say) is counted by its error code; a failure to record a
/// response is a defect and ends the run.
pub fn simulate(arm: &Arm, setting: &Setting<'_>, profile: &Profile, own_context: &Context, ordinal: u64, tally: &mut Tally) -> Result<()> {
    let engine = &arm.engine;
    let customer = profile.id().map_or_else(|| format!("#{ordinal}"), str::to_string);
    let open: Vec<usize> = arm
        .placements
        .iter()
        .enumerate()
        .filter(|(p, id)| {
            let audience = arm.audiences.get(*p).copied().unwrap_or(Audience::Any);
            let fits = match audience {
                Audience::Any => true,
                Audience::LoggedIn => profile.logged_in(),
                Audience::LoggedOff => !profile.logged_in(),
            };
            fits && (setting.visits.placements.is_empty() || setting.visits.placements.iter().any(|v| v == *id))
        })
        .map(|(p, _)| p)
        .collect();
    let mut seen = Seen {
        segment_shown: vec![false; arm.segments],
        segment_eligible: vec![false; arm.segments],
        segment_rules: vec![0; arm.segments * RULES],
        rules: vec![false; RULES],
        exposed: vec![false; arm.propositions],
        converted: vec![false; arm.propositions],
        control: vec![false; arm.propositions],
        holdout: false,
        impressions_this_week: 0,
    };
    let mut ledger = Ledger::new(engine.bundle_id());
    let mut decided = false;
    let total_weight: f64 = setting.mix.iter().map(|(w, _)| w).sum();
    for day in 0..setting.days {
        if day > 0 && day % DAYS_PER_WEEK == 0 {
            *tally.weekly_impressions.entry(seen.impressions_this_week).or_default() += 1;
            seen.impressions_this_week = 0;
        }
        // Visits and responses draw from streams of their own: every run (the catalogue, the
        // customer-centric one, a baseline) sees the same visits, whatever was shown.
        let mut rng = Rng::seeded(day_seed(setting.seed, &customer, day));
        let mut responses = Rng::seeded(day_seed(setting.seed, &customer, day) ^ RESPONSE_STREAM);
        let visits = if open.is_empty() { 0 } else { poisson(&mut rng, setting.visits.visits_per_day, MAX_VISITS_PER_DAY) };
        let mut moments: Vec<i64> = (0..visits).map(|_| (rng.uniform() * DAY as f64) as i64).collect();
        moments.sort_unstable();
        for moment in moments {
            let now = setting.start + i64::from(day) * DAY + moment;
            let context = if setting.mix.is_empty() { own_context } else { pick(setting.mix, rng.uniform() * total_weight).unwrap_or(own_context) };
            // The visit's placements: a random draw of the open ones.
            let mut order = open.clone();
            for k in (1..order.len()).rev() {
                let j = (rng.next_u64() % (k as u64 + 1)) as usize;
                order.swap(k, j);
            }
            order.truncate(setting.visits.placements_per_visit);
            let mut shown = Vec::new();
            for &p in &order {
                let Some(placement) = arm.placements.get(p) else { continue };
                let request = DecideRequest { placement, profile, context, ledger: Some(&ledger), now };
                match engine.decide(&request) {
                    Ok(d) => {
                        decided = true;
                        count_decision(arm, p, day as usize, &d, tally, &mut seen);
                        if let Some(observe) = setting.observe {
                            observe(&d);
                        }
                        shown.push(d);
                    }
                    Err(e) => *tally.failed.entry(e.code().to_string()).or_default() += 1,
                }
            }
            for d in &shown {
                for slot in &d.slots {
                    let i = arm.proposition(&slot.proposition).unwrap_or(usize::MAX);
                    engine.record(&mut ledger, EventKind::Impression, &slot.token, now, Some(profile))?;
                    if responses.uniform() < slot.parts.p.clamp(0.0, 1.0) {
                        engine.record(&mut ledger, EventKind::Click, &slot.token, now + 1, Some(profile))?;
                        bump(&mut tally.clicks, i, 1);
                        if responses.uniform() < setting.responses.convert_after_click {
                            engine.record(&mut ledger, EventKind::Convert, &slot.token, now + 2, Some(profile))?;
                            bump(&mut tally.conversions, i, 1);
                            if !d.holdout {
                                if let Some(c) = seen.converted.get_mut(i) {
                                    *c = true;
                                }
                            }
                        }
                    } else if responses.uniform() < setting.responses.dismiss_rate {
                        engine.record(&mut ledger, EventKind::Dismiss, &slot.token, now + 1, Some(profile))?;
                        bump(&mut tally.dismissals, i, 1);
                    }
                }
            }
        }
    }
    *tally.weekly_impressions.entry(seen.impressions_this_week).or_default() += 1;
    tally.customers += 1;
    if !decided {
        return Ok(());
    }
    tally.visited += 1;
    tally.holdout_customers += u64::from(seen.holdout);
    let mut every = true;
    for s in arm.covered_segments() {
        if seen.segment_shown.get(s).copied().unwrap_or(false) {
            bump(&mut tally.segment_shown, s, 1);
        } else {
            every = false;
            let rules = seen.segment_rules.get(s * RULES..(s + 1) * RULES).unwrap_or(&[]);
            // The rule that removed the segment's propositions most often (the first in funnel
            // order on a tie); none at all: its propositions never came up (another channel).
            if let Some((rule, _)) = rules.iter().enumerate().filter(|(_, n)| **n > 0).max_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(&a.0))) {
                bump(&mut tally.segment_without, s * RULES + rule, 1);
            }
        }
        if seen.segment_eligible.get(s).copied().unwrap_or(false) {
            bump(&mut tally.segment_eligible, s, 1);
        }
    }
    tally.every_segment += u64::from(every);
    for (rule, hit) in seen.rules.iter().enumerate() {
        bump(&mut tally.rule_customers, rule, u64::from(*hit));
    }
    for i in 0..arm.propositions {
        let exposed = seen.exposed.get(i).copied().unwrap_or(false);
        bump(&mut tally.exposed, i, u64::from(exposed));
        bump(&mut tally.exposed_converted, i, u64::from(exposed && seen.converted.get(i).copied().unwrap_or(false)));
        bump(&mut tally.control, i, u64::from(seen.control.get(i).copied().unwrap_or(false)));
    }
    Ok(())
}
