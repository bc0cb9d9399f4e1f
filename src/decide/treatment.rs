//! Which treatment (variant) of a proposition a customer sees, and which of its creatives.
//!
//! * `split` propositions: GrowthBook's weighted split. The hash of the proposition id (seed)
//!   and the profile's pseudonymous id (value), version 2, falls in one treatment's bucket
//!   range (`get_bucket_range` over the treatments' weights, normalised to sum to 1). The same
//!   customer therefore always sees the same treatment without anything being stored, and a
//!   bank can reproduce the split with GrowthBook's own SDKs. A profile without an id (an
//!   anonymous visitor) gets the first treatment with a weight above 0 (`first`).
//! * `bandit` propositions: Thompson sampling from each treatment's Beta(α, β), seeded from the
//!   pseudonymous id, the day and the proposition (`thompson`; see [`super::bandit`]). A profile
//!   without an id gets the treatment with the highest Beta mean α / (α + β) (`bandit_mean`).
//!
//! Every choice comes with the probability that the logging policy shows that treatment to
//! this customer (the split's weight share, Thompson's win probability, 1 when deterministic):
//! what off-policy evaluation of a new policy needs.
//!
//! Creatives: the treatment's creative for the first locale of the fallback chain (the requested
//! locale, its language, the catalogue's default locale; compared case-insensitively) in the
//! screen's form — `compact` on a small screen, the large creative otherwise. A small screen
//! never falls back to a large creative: without a compact one the proposition is not shown.

use serde::Serialize;

use super::context::Screen;
use super::rules::Rule;
use crate::bundle::model::{Assignment as Method, FormFactor, Proposition, Treatment};
use super::bandit;
use crate::condition::{choose_variation, get_bucket_range, hash};
use crate::time::Timestamp;

/// How the shown treatment was picked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Assignment {
    /// GrowthBook weighted split on the profile id.
    Split,
    /// Thompson sampling of a bandit proposition.
    Thompson,
    /// The highest Beta mean of a bandit proposition (no profile id to seed the draw).
    BanditMean,
    /// No profile id to split on: the first treatment with a weight.
    First,
}

/// The treatment index and how it was picked; `None` when no treatment can be shown (every
/// split weight 0, which a compiled catalogue never has).
pub(crate) fn choose(p: &Proposition, profile_id: Option<&str>, now: Timestamp) -> Option<(usize, Assignment, f64)> {
    match (p.assignment, profile_id) {
        (Method::Bandit, Some(id)) => {
            // The win probability is an integral: the slot computes it, for shown propositions only.
            let chosen = bandit::thompson(&p.treatments, &mut bandit::Rng::for_draw(id, now, &p.id))?;
            Some((chosen, Assignment::Thompson, f64::NAN))
        }
        (Method::Bandit, None) => {
            let mean = |t: &Treatment| {
                let m = t.alpha / (t.alpha + t.beta);
                if m.is_finite() { m } else { 0.0 }
            };
            let mut best: Option<(usize, f64)> = None;
            for (i, t) in p.treatments.iter().enumerate() {
                let m = mean(t);
                if best.is_none_or(|(_, b)| m > b) {
                    best = Some((i, m));
                }
            }
            best.map(|(i, _)| (i, Assignment::BanditMean, 1.0))
        }
        (Method::Split, _) => {
            let (chosen, how) = split(&p.treatments, &p.id, profile_id)?;
            let share = |t: &Treatment| if t.weight.is_finite() && t.weight > 0.0 { t.weight } else { 0.0 };
            let total: f64 = p.treatments.iter().map(share).sum();
            let probability = match how {
                Assignment::Split if total > 0.0 => p.treatments.get(chosen).map_or(0.0, share) / total,
                _ => 1.0,
            };
            Some((chosen, how, probability))
        }
    }
}

/// The probability of each treatment of `p` for a customer with a pseudonymous id: the split's
/// weight shares, or Thompson sampling's win probabilities. What off-policy evaluation of `p`
/// as a candidate policy needs.
pub fn probabilities(p: &Proposition) -> Vec<f64> {
    match p.assignment {
        Method::Bandit => (0..p.treatments.len()).map(|i| bandit::selection_probability(&p.treatments, i)).collect(),
        Method::Split => {
            let share = |t: &Treatment| if t.weight.is_finite() && t.weight > 0.0 { t.weight } else { 0.0 };
            let total: f64 = p.treatments.iter().map(share).sum();
            p.treatments.iter().map(|t| if total > 0.0 { share(t) / total } else { 0.0 }).collect()
        }
    }
}

fn split(treatments: &[Treatment], seed: &str, profile_id: Option<&str>) -> Option<(usize, Assignment)> {
    let usable = |t: &Treatment| t.weight.is_finite() && t.weight > 0.0;
    let first = treatments.iter().position(usable)?;
    let Some(id) = profile_id else {
        return Some((first, Assignment::First));
    };
    if treatments.len() == 1 {
        return Some((0, Assignment::Split));
    }
    let total: f64 = treatments.iter().filter(|t| usable(t)).map(|t| t.weight).sum();
    let weights: Vec<f64> = treatments.iter().map(|t| if usable(t) { t.weight / total } else { 0.0 }).collect();
    let n = hash(seed, id, 2).unwrap_or(0.0);
    let ranges = get_bucket_range(weights.len() as u32, 1.0, Some(&weights));
    let chosen = usize::try_from(choose_variation(n, &ranges))
        .ok()
        .filter(|&i| treatments.get(i).is_some_and(usable))
        // Rounding can leave the top of the range uncovered: the last usable treatment takes it.
        .or_else(|| treatments.iter().rposition(usable))?;
    Some((chosen, Assignment::Split))
}

/// The index of the creative to show, or the rule that keeps the proposition off the screen.
pub(crate) fn creative(t: &Treatment, locales: &[&str], screen: Screen) -> Result<usize, (Rule, String)> {
    let form = match screen {
        Screen::Small => FormFactor::Compact,
        Screen::Large => FormFactor::Large,
    };
    for locale in locales {
        if let Some(i) = t.creatives.iter().position(|c| c.form == form && c.locale.eq_ignore_ascii_case(locale)) {
            return Ok(i);
        }
    }
    let chain = locales.join(", ");
    if form == FormFactor::Compact && !t.creatives.iter().any(|c| c.form == FormFactor::Compact) {
        return Err((
            Rule::NoCompactCreative,
            format!("treatment {} has no compact creative for small screens", t.id),
        ));
    }
    let what = if form == FormFactor::Compact { "compact creative" } else { "creative" };
    Err((Rule::NoLocaleCreative, format!("treatment {} has no {what} for {chain}", t.id)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bundle::model::Creative;

    fn treatment(id: &str, weight: f64, alpha: f64, beta: f64, creatives: &[(&str, FormFactor)]) -> Treatment {
        Treatment {
            id: id.into(),
            weight,
            alpha,
            beta,
            creatives: creatives
                .iter()
                .map(|&(locale, form)| Creative {
                    locale: locale.into(),
                    form,
                    title: format!("{id} {locale}"),
                    body: String::new(),
                    cta: String::new(),
                    href: "/".into(),
                    image: None,
                })
                .collect(),
        }
    }

    #[test]
    fn split_follows_growthbook_buckets() {
        let ts = vec![treatment("a", 1.0, 1.0, 1.0, &[]), treatment("b", 3.0, 1.0, 1.0, &[])];
        let mut counts = [0; 2];
        for i in 0..2000 {
            let id = format!("p-{i}");
            let (chosen, how) = split(&ts, "prop", Some(&id)).unwrap();
            assert_eq!(how, Assignment::Split);
            // The bucket is exactly GrowthBook's: [0, 0.25) is a, [0.25, 1) is b.
            let n = hash("prop", &id, 2).unwrap();
            assert_eq!(chosen, usize::from(n >= 0.25), "{id}");
            counts[chosen] += 1;
            assert_eq!(split(&ts, "prop", Some(&id)).unwrap().0, chosen, "sticky");
        }
        assert!((400..600).contains(&counts[0]), "{counts:?}");
        assert_eq!(split(&ts, "prop", None), Some((0, Assignment::First)));
        let zero_first = vec![treatment("a", 0.0, 1.0, 1.0, &[]), treatment("b", 1.0, 1.0, 1.0, &[])];
        for i in 0..50 {
            assert_eq!(split(&zero_first, "prop", Some(&format!("p-{i}"))).unwrap().0, 1);
        }
        assert_eq!(split(&zero_first, "prop", None), Some((1, Assignment::First)));
        assert_eq!(split(&[treatment("a", 0.0, 1.0, 1.0, &[])], "prop", Some("p")), None);
    }

    #[test]
    fn bandit_shows_the_highest_mean() {
        let mut p = crate::bundle::tests::sample_payload().catalogue.propositions[0].clone();
        p.assignment = Method::Bandit;
        p.treatments = vec![treatment("a", 1.0, 2.0, 8.0, &[]), treatment("b", 1.0, 3.0, 7.0, &[]), treatment("c", 1.0, 0.0, 0.0, &[])];
        assert_eq!(choose(&p, None, 0), Some((1, Assignment::BanditMean, 1.0)));
        let (chosen, how, _) = choose(&p, Some("x"), 0).unwrap();
        assert_eq!(how, Assignment::Thompson);
        let probability = bandit::selection_probability(&p.treatments, chosen);
        assert!(probability > 0.0 && probability < 1.0);
    }

    /// The README says what `bandit_shows_the_highest_mean` checks; should the behaviour change,
    /// this fails until the README says the new truth.
    #[test]
    fn the_readme_says_how_bandits_choose() {
        let readme = include_str!("../../README.md").split_whitespace().collect::<Vec<_>>().join(" ");
        for statement in [
            "`bandit` propositions draw their treatment by Thompson sampling for every profile with an id",
            "without an id they show the treatment with the highest Beta mean",
        ] {
            assert!(readme.contains(statement), "the README no longer says {statement:?}");
        }
        for stale in ["until Thompson sampling arrives"] {
            assert!(!readme.contains(stale), "the README still says {stale:?}");
        }
    }

    #[test]
    fn creatives_follow_the_locale_chain_and_the_screen() {
        let t = treatment("a", 1.0, 1.0, 1.0, &[("nl", FormFactor::Large), ("en", FormFactor::Large), ("nl", FormFactor::Compact)]);
        assert_eq!(creative(&t, &["en-GB", "en", "nl"], Screen::Large), Ok(1));
        assert_eq!(creative(&t, &["EN"], Screen::Large), Ok(1));
        assert_eq!(creative(&t, &["en-GB", "en", "nl"], Screen::Small), Ok(2));
        assert_eq!(creative(&t, &["de-DE", "de", "nl"], Screen::Large), Ok(0));
        let err = creative(&t, &["de-DE", "de"], Screen::Small).unwrap_err();
        assert_eq!(err, (Rule::NoLocaleCreative, "treatment a has no compact creative for de-DE, de".into()));
        let large_only = treatment("a", 1.0, 1.0, 1.0, &[("nl", FormFactor::Large)]);
        assert_eq!(creative(&large_only, &["nl"], Screen::Small).unwrap_err().0, Rule::NoCompactCreative);
        assert_eq!(creative(&large_only, &["en"], Screen::Large).unwrap_err().0, Rule::NoLocaleCreative);
    }

    #[test]
    fn the_split_holds_its_weights_over_100_000_customers() {
        // Weights 0.5 / 0.3 / 0.2. Each count is Binomial(n, w): its standard deviation is
        // sqrt(n · w · (1 − w)); a correct split stays within 5 of them (p < 1e-6 per count).
        const N: usize = 100_000;
        const SIGMAS: f64 = 5.0;
        let weights = [0.5, 0.3, 0.2];
        let treatments: Vec<Treatment> =
            weights.iter().enumerate().map(|(i, &w)| treatment(&format!("t{i}"), w, 1.0, 1.0, &[])).collect();
        let mut counts = [0usize; 3];
        for i in 0..N {
            let (index, how) = split(&treatments, "green-savings", Some(&format!("pz-{i:06}"))).unwrap();
            assert_eq!(how, Assignment::Split);
            counts[index] += 1;
        }
        for (count, w) in counts.iter().zip(weights) {
            let expected = N as f64 * w;
            let sigma = (N as f64 * w * (1.0 - w)).sqrt();
            assert!((*count as f64 - expected).abs() < SIGMAS * sigma, "{counts:?} for weights {weights:?}");
        }
        // Sticky: the same customer, the same treatment, every time.
        assert_eq!(split(&treatments, "green-savings", Some("pz-000042")), split(&treatments, "green-savings", Some("pz-000042")));
        // Independent across propositions: another seed splits the same customers differently.
        let moved = (0..1000)
            .filter(|i| {
                let id = format!("pz-{i:06}");
                split(&treatments, "green-savings", Some(&id)) != split(&treatments, "kids-savings", Some(&id))
            })
            .count();
        assert!(moved > 400, "only {moved} of 1000 customers differ between two propositions");
    }
}
