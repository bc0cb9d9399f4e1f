//! The holdout control group: a catalogue-wide share of customers who do not get the ranked
//! propositions, so that what the propositions add (uplift, incrementality) can be measured
//! against them.
//!
//! Membership is GrowthBook's hash (version 2) of the profile's pseudonymous id with the
//! catalogue's `holdout.salt` as seed: a customer is held out when it falls below
//! `percent / 100`. It is sticky without storage, the same on every host, reproducible with
//! GrowthBook's SDKs, and a new salt (say monthly) draws a new group. A profile without an id
//! (an anonymous visitor) is never held out: there is nothing to keep the choice stable on.
//!
//! What a held-out customer gets (`holdout.mode`):
//! * `no_sales`: service propositions only; sales and loyalty leave with rule `holdout`;
//! * `fallbacks`: the segments' fallback propositions only;
//! * `random`: one of the propositions that passed selection, picked at random (seeded by the
//!   decision id, so a replay picks the same), instead of the ranked ones.
//!
//! The decision says `holdout: true`, and so does every measurement event of the customer.

use std::borrow::Cow;

use super::rules::Rule;
use super::prioritise::{Funnel, Status};
use crate::bundle::model::Holdout;
use crate::condition::hash;

/// The GrowthBook hash version used for membership.
const HASH_VERSION: u32 = 2;

/// Is the customer with this pseudonymous id in the holdout group?
pub fn is_member(holdout: Option<&Holdout>, profile_id: Option<&str>) -> bool {
    match (holdout, profile_id) {
        (Some(h), Some(id)) if h.percent > 0.0 => {
            hash(&h.salt, id, HASH_VERSION).is_some_and(|n| n < h.percent / 100.0)
        }
        _ => false,
    }
}

/// Index of the one candidate a `random`-mode member gets, from `candidates` ≥ 1 of them.
pub fn random_pick(decision_id: &str, candidates: usize) -> usize {
    let n = hash(decision_id, "holdout-random", HASH_VERSION).unwrap_or(0.0);
    ((n * candidates as f64) as usize).min(candidates.saturating_sub(1))
}

/// A `random`-mode holdout member gets one of the propositions that passed selection, picked
/// at random; every other candidate leaves with rule `holdout`.
pub(crate) fn keep_one_at_random(funnel: &mut Funnel, decision_id: &str) {
    let candidates: Vec<usize> = funnel
        .statuses
        .iter()
        .enumerate()
        .filter(|(_, s)| matches!(s, Status::Candidate { .. }))
        .map(|(i, _)| i)
        .collect();
    let keep = (!candidates.is_empty()).then(|| candidates.get(random_pick(decision_id, candidates.len())).copied()).flatten();
    for (i, status) in funnel.statuses.iter_mut().enumerate() {
        if Some(i) != keep && matches!(status, Status::Candidate { .. } | Status::Fallback { .. }) {
            *status = Status::Out {
                rule: Rule::Holdout,
                detail: Cow::Borrowed("in the holdout control group: one proposition that passed selection, picked at random, is shown instead of the ranked ones"),
            };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bundle::model::HoldoutMode;

    fn holdout(percent: f64, salt: &str) -> Holdout {
        Holdout { percent, salt: salt.into(), mode: HoldoutMode::NoSales }
    }

    #[test]
    fn the_group_has_the_configured_size_and_rotates_with_the_salt() {
        // 100,000 ids at 2%: the count is Binomial(100000, 0.02), σ ≈ 44; allow ±5σ.
        let ids: Vec<String> = (0..100_000).map(|i| format!("p-{i}")).collect();
        let members = |h: &Holdout| ids.iter().filter(|id| is_member(Some(h), Some(id))).count();
        let november = holdout(2.0, "2026-11");
        let december = holdout(2.0, "2026-12");
        let (nov, dec) = (members(&november), members(&december));
        for count in [nov, dec] {
            assert!((2000usize.abs_diff(count)) < 5 * 44, "{count} members");
        }
        // A new salt draws a new group: the overlap is about 2% of 2%, not the whole group.
        let both = ids.iter().filter(|id| is_member(Some(&november), Some(id)) && is_member(Some(&december), Some(id))).count();
        assert!(both < 100, "{both} customers in both months' groups");
        assert!(!is_member(Some(&holdout(100.0, "x")), None), "no id, no holdout");
        assert!(ids.iter().all(|id| !is_member(Some(&holdout(0.0, "x")), Some(id))));
        assert!(ids.iter().take(1000).all(|id| is_member(Some(&holdout(100.0, "x")), Some(id))));
    }

    #[test]
    fn the_random_pick_is_in_range_and_stable() {
        for n in 1..20 {
            assert!(random_pick("0123456789abcdef", n) < n);
        }
        assert_eq!(random_pick("0123456789abcdef", 7), random_pick("0123456789abcdef", 7));
    }
}
