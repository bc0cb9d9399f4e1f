//! Thompson sampling for `bandit` propositions: each treatment carries Beta(α, β) in the bundle
//! (what `opmaat learn` made of its clicks and impressions); a decision draws one sample from
//! each and shows the treatment with the highest draw.
//!
//! The draws are seeded from the pseudonymous id, the day (UTC) and the proposition, so a
//! customer sees the same treatment on every page view of a day (no flicker between reloads)
//! and a decision replays exactly; the next day may explore again. The decision records the
//! probability that Thompson sampling picks the shown treatment — `P(draw_i is the largest)`,
//! computed by numerical integration — which is what off-policy evaluation needs.

use crate::bundle::model::Treatment;
use crate::time::{Timestamp, DAY};

/// Mixed into the seed of a sampled propensity, so it is another stream than the treatment draw.
const PROPENSITY_STREAM: u64 = 0x005e_ed0f_9709_e115;

/// Grid points of the numerical integration over [0, 1].
const GRID: usize = 400;

/// A small, seeded generator (SplitMix64): deterministic on every host.
pub struct Rng(u64);

impl Rng {
    /// A generator seeded from the customer, the day and the proposition.
    pub fn for_draw(profile_id: &str, now: Timestamp, proposition: &str) -> Rng {
        let day = now.div_euclid(DAY);
        let mut h: u64 = 0xcbf2_9ce4_8422_2325; // FNV-1a 64 offset basis
        for byte in profile_id.bytes().chain([0]).chain(day.to_le_bytes()).chain(proposition.bytes()) {
            h = (h ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01b3);
        }
        Rng(h)
    }

    /// A generator from a plain seed.
    pub fn seeded(seed: u64) -> Rng {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in (0, 1).
    pub(crate) fn uniform(&mut self) -> f64 {
        ((self.next_u64() >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    }

    fn normal(&mut self) -> f64 {
        let (u, v) = (self.uniform(), self.uniform());
        (-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos()
    }

    /// Gamma(shape, 1) by Marsaglia and Tsang's method (boosted for shape < 1).
    fn gamma(&mut self, shape: f64) -> f64 {
        if shape < 1.0 {
            return self.gamma(shape + 1.0) * self.uniform().powf(1.0 / shape);
        }
        let d = shape - 1.0 / 3.0;
        let c = 1.0 / (9.0 * d).sqrt();
        loop {
            let x = self.normal();
            let v = (1.0 + c * x).powi(3);
            if v <= 0.0 {
                continue;
            }
            let u = self.uniform();
            if u.ln() < 0.5 * x * x + d - d * v + d * v.ln() {
                return d * v;
            }
        }
    }

    /// A draw from Beta(α, β).
    pub fn beta(&mut self, alpha: f64, beta: f64) -> f64 {
        let x = self.gamma(alpha);
        let y = self.gamma(beta);
        if x + y > 0.0 { x / (x + y) } else { 0.5 }
    }
}

/// The treatment with the highest Beta draw (ties to the first), among those with a weight; `None`
/// when none can be shown.
pub fn thompson(treatments: &[Treatment], rng: &mut Rng) -> Option<usize> {
    let mut best: Option<(usize, f64)> = None;
    for (i, t) in treatments.iter().enumerate() {
        if !usable(t) {
            continue;
        }
        let draw = rng.beta(t.alpha, t.beta);
        if best.is_none_or(|(_, b)| draw > b) {
            best = Some((i, draw));
        }
    }
    best.map(|(i, _)| i)
}

/// A propensity drawn from a treatment's Beta(α, β) for `sampledPropensities`: seeded like the
/// treatment draw (customer, day, proposition) but from a stream of its own.
pub fn sampled_propensity(t: &Treatment, profile_id: &str, now: Timestamp, proposition: &str) -> f64 {
    let mut rng = Rng::for_draw(profile_id, now, proposition);
    rng.0 ^= PROPENSITY_STREAM;
    rng.beta(t.alpha, t.beta).clamp(0.0, 1.0)
}

fn usable(t: &Treatment) -> bool {
    t.weight.is_finite() && t.weight > 0.0 && t.alpha > 0.0 && t.beta > 0.0
}

/// `P(draw of treatment `chosen` is the largest)` under Thompson sampling:
/// `∫ f_chosen(x) · Π_{j≠chosen} F_j(x) dx` on a midpoint grid, each Beta density normalised
/// numerically on the same grid (so no special functions are needed).
pub fn selection_probability(treatments: &[Treatment], chosen: usize) -> f64 {
    let arms: Vec<&Treatment> = treatments.iter().filter(|t| usable(t)).collect();
    let Some(me) = treatments.get(chosen).filter(|t| usable(t)) else { return 0.0 };
    if arms.len() == 1 {
        return 1.0;
    }
    let xs: Vec<f64> = (0..GRID).map(|k| (k as f64 + 0.5) / GRID as f64).collect();
    // Densities as probability masses per grid cell.
    let masses = |t: &Treatment| -> Vec<f64> {
        let raw: Vec<f64> = xs.iter().map(|&x| ((t.alpha - 1.0) * x.ln() + (t.beta - 1.0) * (1.0 - x).ln()).exp()).collect();
        let total: f64 = raw.iter().sum();
        raw.iter().map(|m| if total > 0.0 { m / total } else { 0.0 }).collect()
    };
    let mine = masses(me);
    // For every other arm: the probability its draw is below each grid point (half the cell's
    // own mass counts, for draws in the same cell).
    let mut below_all = vec![1.0; GRID];
    for (i, t) in treatments.iter().enumerate() {
        if i == chosen || !usable(t) {
            continue;
        }
        let m = masses(t);
        let mut cumulative = 0.0;
        for (below, mass) in below_all.iter_mut().zip(&m) {
            *below *= cumulative + mass / 2.0;
            cumulative += mass;
        }
    }
    mine.iter().zip(&below_all).map(|(a, b)| a * b).sum::<f64>().clamp(0.0, 1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn arm(alpha: f64, beta: f64) -> Treatment {
        Treatment { id: "t".into(), weight: 1.0, alpha, beta, creatives: Vec::new() }
    }

    #[test]
    fn draws_are_stable_per_customer_and_day() {
        let arms = [arm(5.0, 95.0), arm(6.0, 94.0)];
        let day = 1_796_083_200;
        let pick = |id: &str, t| thompson(&arms, &mut Rng::for_draw(id, t, "green-savings"));
        assert_eq!(pick("pz-1", day), pick("pz-1", day + 3600), "a reload the same day shows the same");
        let over_days: std::collections::BTreeSet<_> = (0..40).map(|d| pick("pz-1", day + d * DAY)).collect();
        assert_eq!(over_days.len(), 2, "over many days both arms are explored");
    }

    #[test]
    fn beta_draws_have_the_right_mean() {
        // Beta(3, 9): mean α/(α+β) = 0.25, sd = sqrt(αβ/((α+β)²(α+β+1))) ≈ 0.120; the mean of
        // 20,000 draws lies within 5 · sd/√n of it. Beta(0.5, 0.5) exercises shapes below 1.
        let mut rng = Rng(7);
        let n = 20_000;
        let mean = (0..n).map(|_| rng.beta(3.0, 9.0)).sum::<f64>() / n as f64;
        assert!((mean - 0.25).abs() < 5.0 * 0.120 / (n as f64).sqrt(), "{mean}");
        let small = (0..n).map(|_| rng.beta(0.5, 0.5)).sum::<f64>() / n as f64;
        assert!((small - 0.5).abs() < 0.02, "{small}");
    }

    #[test]
    fn selection_probabilities_match_the_sampler() {
        let arms = [arm(12.0, 88.0), arm(20.0, 80.0), arm(2.0, 8.0)];
        let p: Vec<f64> = (0..3).map(|i| selection_probability(&arms, i)).collect();
        assert!((p.iter().sum::<f64>() - 1.0).abs() < 0.01, "{p:?}");
        // Against 20,000 seeded Thompson draws: within 5 binomial standard deviations.
        let n = 20_000;
        let mut counts = [0usize; 3];
        let mut rng = Rng(11);
        for _ in 0..n {
            counts[thompson(&arms, &mut rng).unwrap()] += 1;
        }
        for (c, q) in counts.iter().zip(&p) {
            let sd = (n as f64 * q * (1.0 - q)).sqrt().max(1.0);
            assert!((*c as f64 - n as f64 * q).abs() < 5.0 * sd + 0.01 * n as f64, "{counts:?} vs {p:?}");
        }
        assert_eq!(selection_probability(&[arm(1.0, 1.0)], 0), 1.0);
    }
}
