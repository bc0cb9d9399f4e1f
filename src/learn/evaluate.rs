//! Off-policy evaluation: what a candidate bundle's treatments (its split weights, or its
//! bandit's Beta parameters) would have earned on the traffic that was logged, before it is
//! published. `opmaat learn --evaluate candidate.opb`.
//!
//! Each logged impression `i` outside the holdout group carries the probability `pᵢ` with which
//! the logging decision picked its treatment `aᵢ`, and a reward `rᵢ` (1 when the customer
//! clicked, as bandits count success). With the candidate's probability `π(a)` of that treatment
//! (its weight share, or Thompson sampling's win probability) the weight is `wᵢ = π(aᵢ) / pᵢ`, and
//! per proposition:
//!
//! * **IPS** `V = Σ wᵢ rᵢ / N`, unbiased when every treatment the candidate picks was logged
//!   with `p > 0`; 95% interval from the variance of `wᵢ rᵢ`;
//! * **self-normalised IPS** `V = Σ wᵢ rᵢ / Σ wᵢ`, a little biased, far less variable; interval
//!   by the delta method, `Σ wᵢ² (rᵢ − V)² / (Σ wᵢ)²`;
//! * the **effective sample size** `(Σ wᵢ)² / Σ wᵢ²`: how many impressions the estimate is worth.
//!
//! Only sums are needed (`Σ 1/p`, `Σ 1/p²` per proposition × treatment × clicked: the `logged`
//! rows of [`super::counts`]), because `π` depends on the treatment alone. It evaluates the choice
//! of treatment for the propositions that were shown, not a different ranking of propositions.

use std::collections::BTreeMap;

use super::counts::{Counts, Measure};
use super::Z_95;
use crate::bundle::model::Catalogue;
use crate::decide::treatment::probabilities;

/// A policy to evaluate: per proposition, the probability of each treatment.
pub type Policy = BTreeMap<String, BTreeMap<String, f64>>;

/// The treatment probabilities of every proposition of a compiled catalogue.
pub fn policy_of(catalogue: &Catalogue) -> Policy {
    catalogue
        .propositions
        .iter()
        .map(|p| (p.id.clone(), p.treatments.iter().map(|t| t.id.clone()).zip(probabilities(p)).collect()))
        .collect()
}

/// An estimate with its 95% interval.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Interval {
    pub value: f64,
    pub low: f64,
    pub high: f64,
}

impl Interval {
    fn of(value: f64, variance: f64) -> Interval {
        let half = Z_95 * variance.max(0.0).sqrt();
        Interval { value, low: value - half, high: value + half }
    }
}

/// The evaluation of one proposition.
#[derive(Debug, Clone, PartialEq)]
pub struct Evaluation {
    pub proposition: String,
    /// Logged impressions, and their click rate under the logging policy.
    pub impressions: u64,
    pub logged_rate: f64,
    pub ips: Interval,
    pub snips: Interval,
    pub effective_sample_size: f64,
    /// Treatments the candidate would pick that were never logged: the estimate cannot see
    /// what they earn (it counts them as earning nothing), so it is too low by up to their share.
    pub unlogged: Vec<(String, f64)>,
}

/// Evaluates `candidate` on the logged impressions in `counts`, per proposition the candidate has
/// and the log shows.
pub fn evaluate(counts: &Counts, candidate: &Policy) -> Vec<Evaluation> {
    // Per proposition × treatment: [n, Σ1/p, Σ1/p²] of all impressions, and of clicked ones.
    let mut sums: BTreeMap<&str, BTreeMap<&str, [[f64; 3]; 2]>> = BTreeMap::new();
    for r in counts.of(Measure::Logged) {
        let clicked = r.event == "click";
        let cell = sums.entry(&r.proposition).or_default().entry(&r.treatment).or_default();
        let add = |s: &mut [f64; 3]| {
            s[0] += r.n as f64;
            s[1] += r.inverse_sum;
            s[2] += r.inverse_square_sum;
        };
        add(&mut cell[0]);
        if clicked {
            add(&mut cell[1]);
        }
    }
    let mut out = Vec::new();
    for (proposition, treatments) in sums {
        let Some(pi) = candidate.get(proposition) else { continue };
        let (mut n, mut clicks, mut w, mut wr, mut w2, mut wr2) = (0.0, 0.0, 0.0, 0.0, 0.0, 0.0);
        for (treatment, [all, clicked]) in &treatments {
            let p = pi.get(*treatment).copied().unwrap_or(0.0);
            n += all[0];
            clicks += clicked[0];
            w += p * all[1];
            w2 += p * p * all[2];
            wr += p * clicked[1];
            wr2 += p * p * clicked[2];
        }
        if n == 0.0 {
            continue;
        }
        let ips = wr / n;
        let snips = if w > 0.0 { wr / w } else { 0.0 };
        let snips_variance = if w > 0.0 { ((1.0 - 2.0 * snips) * wr2 + snips * snips * w2) / (w * w) } else { 0.0 };
        out.push(Evaluation {
            proposition: proposition.to_string(),
            impressions: n as u64,
            logged_rate: clicks / n,
            ips: Interval::of(ips, (wr2 / n - ips * ips) / n),
            snips: Interval::of(snips, snips_variance),
            effective_sample_size: if w2 > 0.0 { w * w / w2 } else { 0.0 },
            unlogged: pi.iter().filter(|(t, &p)| p > 0.0 && !treatments.contains_key(t.as_str())).map(|(t, &p)| (t.clone(), p)).collect(),
        });
    }
    out
}

/// The evaluation as the CLI prints it.
pub fn table(evaluations: &[Evaluation]) -> String {
    let mut out = String::from("off-policy evaluation of the candidate (click rate per impression, 95% interval)\n");
    out.push_str(&format!("{:<22} {:>11} {:>7} {:>26} {:>26} {:>9}\n", "proposition", "impressions", "logged", "IPS", "self-normalised IPS", "ESS"));
    for e in evaluations {
        let interval = |i: &Interval| format!("{:.4} [{:.4}, {:.4}]", i.value, i.low, i.high);
        out.push_str(&format!(
            "{:<22} {:>11} {:>7.4} {:>26} {:>26} {:>9.0}\n",
            e.proposition, e.impressions, e.logged_rate, interval(&e.ips), interval(&e.snips), e.effective_sample_size
        ));
        for (t, p) in &e.unlogged {
            out.push_str(&format!("{:<22} treatment {t} (candidate share {p:.2}) was never logged: the estimate cannot see it\n", ""));
        }
    }
    if evaluations.is_empty() {
        out.push_str("(no logged impressions of the candidate's propositions)\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decide::bandit::Rng;
    use crate::learn::counts::CountRow;

    /// Logged impressions of one proposition with two treatments: `a` clicked at 2%, `b` at 6%;
    /// the logging policy shows `b` with a probability that varies per impression (as a bandit
    /// does), between 0.2 and 0.8.
    fn log(n: usize) -> Counts {
        let mut rng = Rng::seeded(7);
        let mut cells: BTreeMap<(&str, bool), (u64, f64, f64)> = BTreeMap::new();
        for _ in 0..n {
            let p_b = 0.2 + 0.6 * rng.uniform();
            let (treatment, p, rate) = if rng.uniform() < p_b { ("b", p_b, 0.06) } else { ("a", 1.0 - p_b, 0.02) };
            let clicked = rng.uniform() < rate;
            let cell = cells.entry((treatment, clicked)).or_default();
            cell.0 += 1;
            cell.1 += 1.0 / p;
            cell.2 += 1.0 / (p * p);
        }
        Counts::new(
            cells
                .into_iter()
                .map(|((treatment, clicked), (n, s1, s2))| CountRow {
                    measure: Measure::Logged,
                    proposition: "green-savings".into(),
                    treatment: treatment.into(),
                    holdout: false,
                    event: if clicked { "click".into() } else { String::new() },
                    day: String::new(),
                    n,
                    inverse_sum: s1,
                    inverse_square_sum: s2,
                })
                .collect(),
        )
    }

    fn candidate(b: f64) -> Policy {
        BTreeMap::from([("green-savings".to_string(), BTreeMap::from([("a".to_string(), 1.0 - b), ("b".to_string(), b)]))])
    }

    #[test]
    fn the_estimates_cover_the_true_value_of_a_candidate() {
        let counts = log(200_000);
        for b in [0.0, 0.5, 0.9, 1.0] {
            let truth = 0.02 * (1.0 - b) + 0.06 * b;
            let [e] = evaluate(&counts, &candidate(b)).try_into().unwrap();
            assert_eq!(e.impressions, 200_000);
            for (name, i) in [("IPS", e.ips), ("SNIPS", e.snips)] {
                assert!(i.low < truth && truth < i.high, "{name} for b = {b}: {i:?}, truth {truth}");
                assert!(i.high - i.low < 0.006, "{name} for b = {b} is precise: {i:?}");
            }
            assert!(e.effective_sample_size > 40_000.0 && e.effective_sample_size <= 200_000.0, "{}", e.effective_sample_size);
            assert!(e.unlogged.is_empty());
        }
        // The logging policy itself (b at 0.5 on average) earns about what was logged.
        let [e] = evaluate(&counts, &candidate(0.5)).try_into().unwrap();
        assert!((e.snips.value - e.logged_rate).abs() < 0.002, "{e:?}");
    }

    #[test]
    fn a_treatment_never_logged_is_named() {
        let mut policy = candidate(0.5);
        policy.get_mut("green-savings").unwrap().insert("c".into(), 0.2);
        let [e] = evaluate(&log(1_000), &policy).try_into().unwrap();
        assert_eq!(e.unlogged, vec![("c".to_string(), 0.2)]);
        assert!(table(&[e]).contains("treatment c (candidate share 0.20) was never logged"));
        assert!(evaluate(&log(1_000), &Policy::new()).is_empty(), "propositions the candidate lacks are left out");
    }
}
