//! Stage 2: the marketing score, `priority = P × C × V × L`.
//!
//! * **P**, propensity: the profile's score for the proposition's model key, else the
//!   proposition's default. Without personalisation consent always the default.
//! * **C**, context fit: `1 + Σ weights of the matching context conditions / 100`.
//! * **V**, value: `bankValueWeight × bank value + customerValueWeight × customer value`. A
//!   catalogue with `bankValueWeight` 0 ranks by what the customer gains alone.
//! * **L**, levers: `1 + (segment lever + proposition lever + low-stock lever + strategic knob)
//!   / 100`, where the strategic knob is the segment's plus the proposition's strategic setting
//!   and the low-stock lever is the loyalty deal's own while its remaining stock is low (see
//!   [`crate::bundle::overlay::low_stock_lever`]).
//!
//! C and L are never below 0 (a lever of -150 % gives L = 0, not a negative priority). A
//! priority of 0 (a propensity of 0, no value, levers at -100 %) removes the proposition: it has
//! nothing to offer. Every part is kept for the decision's output, with `P × V` (the expected
//! value that the strategic knob's cost is measured in) and the priority the proposition would
//! have without the knob.
//!
//! [`prioritise_all`] runs the stage over selection's verdicts and makes the [`Funnel`] the later
//! stages read: every proposition's [`Status`], with the parts of those still in the running.

use std::borrow::Cow;
use std::collections::BTreeMap;

use serde::Serialize;

use super::bandit;
use super::context::View;
use super::rules::Rule;
use super::select::{Choice, Verdict};
use crate::bundle::model::{Arbitration, Catalogue, Proposition, Segment};
use crate::bundle::overlay::{availability, low_stock_lever, Overlay};
use crate::condition::Session;
use crate::time::Timestamp;
use crate::{Error, Result};

/// Where P came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PropensitySource {
    /// The profile's score for the model key.
    Profile,
    /// The proposition's default (no score, no model key, or no personalisation consent).
    Default,
    /// A draw from the shown treatment's Beta(α, β) (`sampledPropensities`).
    Sampled,
}

/// A priority and everything it is made of.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Parts {
    /// `P × C × V × L` (serialised beside the parts, as the slot's or trace entry's `priority`).
    #[serde(skip)]
    pub priority: f64,
    pub p: f64,
    pub c: f64,
    pub v: f64,
    pub l: f64,
    pub propensity_source: PropensitySource,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub propensity_model: Option<String>,
    /// The weights of the context conditions that matched (their sum / 100 is C - 1).
    pub context_weights: Vec<f64>,
    pub bank_value: f64,
    pub customer_value: f64,
    pub bank_value_weight: f64,
    pub customer_value_weight: f64,
    pub segment_lever: f64,
    pub proposition_lever: f64,
    /// The loyalty deal's low-stock lever, while its stock is low (else 0), in percent.
    pub stock_lever: f64,
    /// The strategic knob on this proposition: its segment's setting plus its own, in percent.
    pub strategic: f64,
    /// `P × V`: what showing it is expected to be worth.
    pub expected_value: f64,
    /// `P × C × V × L` with the strategic knob at 0.
    pub priority_without_knob: f64,
}

/// One proposition on its way through the funnel, as the stages hand it on. Small: a large catalogue has one per
/// proposition, most of them `Out`; the parts live in [`Funnel::parts`].
pub(crate) enum Status {
    /// Removed in selection.
    Out { rule: Rule, detail: Cow<'static, str> },
    /// Passed selection; `parts` indexes [`Funnel::parts`].
    Candidate { choice: Choice, parts: usize },
    /// A segment fallback that failed applicability only.
    Fallback { choice: Choice, parts: usize, detail: Cow<'static, str> },
}

/// A decision in the making.
pub(crate) struct Funnel {
    /// One per proposition, in catalogue order.
    pub statuses: Vec<Status>,
    /// The priority parts of the candidates and fallbacks.
    pub parts: Vec<Parts>,
}

impl Funnel {
    /// The choice and parts of proposition `i`, if it is a candidate or a fallback.
    pub fn chosen(&self, i: usize) -> Option<(&Choice, &Parts)> {
        match self.statuses.get(i)? {
            Status::Candidate { choice, parts } | Status::Fallback { choice, parts, .. } => Some((choice, self.parts.get(*parts)?)),
            Status::Out { .. } => None,
        }
    }
}

/// The segment a proposition belongs to.
pub(crate) fn segment_of<'c>(segments: &'c [Segment], p: &Proposition) -> Result<&'c Segment> {
    segments
        .get(usize::from(p.segment))
        .ok_or_else(|| Error::malformed(format!("proposition {} names a missing segment", p.id)))
}

/// Stage 2 for every proposition selection let through (and every segment fallback it kept
/// aside): the priority and its parts. With `sampledPropensities`, P is a draw from the shown
/// treatment's Beta (seeded like the bandit's draws), as adaptive models do; otherwise the
/// profile's score or the default.
pub(crate) fn prioritise_all(
    catalogue: &Catalogue,
    overlay: Option<&Overlay>,
    verdicts: impl Iterator<Item = Verdict>,
    propensities: Option<&BTreeMap<String, f64>>,
    profile_id: Option<&str>,
    now: Timestamp,
    session: &Session<'_, View<'_>>,
) -> Result<Funnel> {
    let mut funnel = Funnel { statuses: Vec::with_capacity(catalogue.propositions.len()), parts: Vec::new() };
    for ((i, p), verdict) in catalogue.propositions.iter().enumerate().zip(verdicts) {
        let mut score = |choice: &Choice| -> Result<usize> {
            let segment = segment_of(&catalogue.segments, p)?;
            let sampled = match (catalogue.arbitration.sampled_propensities, profile_id, p.treatments.get(choice.treatment)) {
                (true, Some(id), Some(t)) => Some(bandit::sampled_propensity(t, id, now, &p.id)),
                _ => None,
            };
            // Only a deal with a low-stock setting looks its availability up.
            let stock_lever = match &p.loyalty {
                Some(l) if l.low_stock.is_some() => low_stock_lever(p, &availability(p, overlay.and_then(|o| o.entry(i)))),
                _ => 0.0,
            };
            funnel.parts.push(prioritise(p, segment, &catalogue.arbitration, propensities, sampled, stock_lever, session));
            Ok(funnel.parts.len() - 1)
        };
        let status = match verdict {
            Verdict::Pass(choice) => Status::Candidate { parts: score(&choice)?, choice },
            // Selection only keeps a fallback aside when applicability was its one failure.
            Verdict::Fail { detail, fallback: Some(choice), .. } => Status::Fallback { parts: score(&choice)?, choice, detail },
            Verdict::Fail { rule, detail, fallback: None } => Status::Out { rule, detail },
        };
        funnel.statuses.push(status);
    }
    Ok(funnel)
}

/// Computes the priority of a proposition that passed selection.
pub(crate) fn prioritise(
    p: &Proposition,
    segment: &Segment,
    arbitration: &Arbitration,
    propensities: Option<&BTreeMap<String, f64>>,
    sampled: Option<f64>,
    stock_lever: f64,
    session: &Session<'_, View<'_>>,
) -> Parts {
    let score = p
        .propensity_model
        .as_deref()
        .and_then(|model| propensities?.get(model))
        .copied()
        .filter(|x| (0.0..=1.0).contains(x));
    let (propensity, source) = match (sampled, score) {
        (Some(x), _) => (x, PropensitySource::Sampled),
        (None, Some(x)) => (x, PropensitySource::Profile),
        (None, None) => (p.default_propensity, PropensitySource::Default),
    };
    let weights: f64 = p.context_weights.iter().filter(|w| session.eval(w.when)).map(|w| w.weight).sum();
    let c = (1.0 + weights / 100.0).max(0.0);
    let v = arbitration.bank_value_weight * p.bank_value + arbitration.customer_value_weight * p.customer_value;
    let strategic = segment.strategic + p.strategic;
    let levers = segment.lever + p.lever + stock_lever;
    let l = (1.0 + (levers + strategic) / 100.0).max(0.0);
    let l_without_knob = (1.0 + levers / 100.0).max(0.0);
    Parts {
        priority: finite(propensity * c * v * l),
        p: propensity,
        c: finite(c),
        v: finite(v),
        l: finite(l),
        propensity_source: source,
        // Filled by `described` for the few propositions whose parts are shown: no allocation
        // per candidate.
        propensity_model: None,
        context_weights: Vec::new(),
        bank_value: p.bank_value,
        customer_value: p.customer_value,
        bank_value_weight: arbitration.bank_value_weight,
        customer_value_weight: arbitration.customer_value_weight,
        segment_lever: segment.lever,
        proposition_lever: p.lever,
        stock_lever,
        strategic,
        expected_value: finite(propensity * v),
        priority_without_knob: finite(propensity * c * v * l_without_knob),
    }
}

/// NaN (from ∞ × 0 in a hand-made bundle) becomes 0, infinities the largest finite numbers, so
/// ordering and JSON output stay well-defined.
fn finite(x: f64) -> f64 {
    if x.is_nan() {
        0.0
    } else {
        x.clamp(f64::MIN, f64::MAX)
    }
}

/// The parts as a decision shows them: with the propensity's model key and the weights of the
/// context conditions that held (evaluated again from the session's memo).
pub(crate) fn described(parts: &Parts, p: &Proposition, session: &Session<'_, View<'_>>) -> Parts {
    Parts {
        propensity_model: p.propensity_model.clone(),
        context_weights: p.context_weights.iter().filter(|w| session.eval(w.when)).map(|w| w.weight).collect(),
        ..parts.clone()
    }
}

/// Why a priority is 0, for the trace.
pub(crate) fn why_zero(parts: &Parts) -> String {
    let factor = if parts.p <= 0.0 {
        "P is 0: the propensity is 0"
    } else if parts.c <= 0.0 {
        "C is 0: negative context weights"
    } else if parts.v <= 0.0 {
        "V is 0: no value with these value weights"
    } else if parts.l <= 0.0 {
        "L is 0: levers at -100 % or below"
    } else {
        "the product is 0"
    };
    format!("priority P × C × V × L is 0 ({factor})")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finite_keeps_ordering_defined() {
        assert_eq!(finite(f64::NAN), 0.0);
        assert_eq!(finite(f64::INFINITY), f64::MAX);
        assert_eq!(finite(-f64::INFINITY), f64::MIN);
        assert_eq!(finite(1.5), 1.5);
    }
}
