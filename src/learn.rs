//! Learning from measurement: the collector's events (JSON Lines of [`Measurement`]) folded back
//! into the catalogue, so the next bundle decides better. Authoring side (`opmaat learn`).
//!
//! Per proposition × treatment the events are counted (each distinct event once: the same
//! decision, proposition, treatment, event and customer is one event however often it arrived),
//! weighted by age — an event `a` days old counts `0.5^(a / halfLifeDays)` — so old evidence
//! fades. Then, for customers outside the holdout group:
//!
//! * **Beta parameters** of every treatment (what bandits sample from; a click is a success):
//!   `α' = 1 + decay · (α − 1) + clicks`, `β' = 1 + decay · (β − 1) + (impressions − clicks)`.
//!   `decay` (default 0.8) shrinks what earlier runs learned each time `learn` runs again.
//! * **Default propensity** of every proposition, the click rate shrunk towards its current
//!   value: `p' = (k · p + clicks) / (k + impressions)` with `k` = `priorStrength` (default 20).
//! * **Uplift against the holdout group**: the share of treated customers (shown the
//!   proposition) who converted on it, minus the share of held-out customers who converted on it
//!   (the bank's server reports such conversions), with a 95% confidence interval (normal
//!   approximation of the difference of two proportions). Unweighted: customers, not events.
//!
//! The catalogue's version goes up by one, so the bundle built from it replaces the old one.

use std::collections::{BTreeMap, BTreeSet};

use crate::bundle::catalogue::Catalogue;
use crate::ledger::EventKind;
use crate::measure::Measurement;
use crate::time::{parse_rfc3339, Timestamp, DAY};
use crate::{Error, Result};

/// z for a two-sided 95% interval.
const Z_95: f64 = 1.959_963_985;

/// How `learn` weighs evidence.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    /// The moment ages are measured from.
    pub now: Timestamp,
    /// An event this many days old counts half.
    pub half_life_days: f64,
    /// Share of earlier runs' evidence (α − 1, β − 1) kept.
    pub decay: f64,
    /// Pseudo-impressions of the current default propensity.
    pub prior_strength: f64,
}

impl Options {
    pub const DEFAULT_HALF_LIFE_DAYS: f64 = 30.0;
    pub const DEFAULT_DECAY: f64 = 0.8;
    pub const DEFAULT_PRIOR_STRENGTH: f64 = 20.0;
}

/// What `learn` found for one treatment.
#[derive(Debug, Clone, PartialEq)]
pub struct TreatmentRow {
    pub proposition: String,
    pub treatment: String,
    pub segment: String,
    pub impressions: usize,
    pub clicks: usize,
    pub conversions: usize,
    pub alpha: f64,
    pub beta: f64,
}

/// Uplift of one proposition against the holdout group.
#[derive(Debug, Clone, PartialEq)]
pub struct Uplift {
    pub proposition: String,
    pub treated: usize,
    pub treated_rate: f64,
    pub held_out: usize,
    pub holdout_rate: f64,
    pub uplift: f64,
    pub low: f64,
    pub high: f64,
}

/// The outcome of a `learn` run.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    pub treatments: Vec<TreatmentRow>,
    pub propensities: BTreeMap<String, (f64, f64)>,
    pub uplift: Vec<Uplift>,
    /// Events naming a proposition or treatment the catalogue does not have.
    pub unknown_events: usize,
    pub version: u64,
}

/// Reads the collector's JSON Lines; an unreadable line is an error naming it.
pub fn parse_events(text: &str, path: &str) -> Result<Vec<Measurement>> {
    text.lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty())
        .map(|(i, line)| {
            serde_json::from_str(line).map_err(|e| Error::argument(format!("{path}:{}", i + 1), format!("not a measurement event: {e}")))
        })
        .collect()
}

/// Folds the events into the catalogue (Beta parameters, default propensities, version) and
/// reports what it learned.
pub fn learn(catalogue: &mut Catalogue, events: &[Measurement], options: &Options) -> Result<Report> {
    if !(options.half_life_days > 0.0 && (0.0..=1.0).contains(&options.decay) && options.prior_strength >= 0.0) {
        return Err(Error::argument("learn", "half-life must be above 0, decay between 0 and 1, prior strength 0 or more"));
    }
    let mut distinct = BTreeSet::new();
    let mut weighted: BTreeMap<(String, String), [f64; 3]> = BTreeMap::new();
    let mut counted: BTreeMap<(String, String), [usize; 3]> = BTreeMap::new();
    let mut unknown_events = 0;
    let mut exposed: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    let mut converted: BTreeMap<(&str, bool), BTreeSet<&str>> = BTreeMap::new();
    let mut held_out: BTreeSet<&str> = BTreeSet::new();
    for e in events {
        if !distinct.insert((&e.decision_id, &e.proposition, &e.treatment, e.event, &e.subject)) {
            continue;
        }
        let known = catalogue
            .propositions
            .iter()
            .find(|p| p.id == e.proposition)
            .is_some_and(|p| p.treatments.iter().any(|t| t.id == e.treatment));
        if !known {
            unknown_events += 1;
            continue;
        }
        if e.holdout {
            held_out.insert(&e.subject);
            if e.event == EventKind::Convert {
                converted.entry((&e.proposition, true)).or_default().insert(&e.subject);
            }
            continue;
        }
        let at = parse_rfc3339(&e.time, "event.time")?;
        let age_days = ((options.now - at) as f64 / DAY as f64).max(0.0);
        let weight = 0.5f64.powf(age_days / options.half_life_days);
        let slot = match e.event {
            EventKind::Impression => 0,
            EventKind::Click => 1,
            EventKind::Convert => 2,
            EventKind::Dismiss => continue,
        };
        let key = (e.proposition.clone(), e.treatment.clone());
        if let Some(w) = weighted.entry(key.clone()).or_default().get_mut(slot) {
            *w += weight;
        }
        if let Some(c) = counted.entry(key).or_default().get_mut(slot) {
            *c += 1;
        }
        match e.event {
            EventKind::Impression => {
                exposed.entry(&e.proposition).or_default().insert(&e.subject);
            }
            EventKind::Convert => {
                converted.entry((&e.proposition, false)).or_default().insert(&e.subject);
            }
            _ => {}
        }
    }

    let mut treatments = Vec::new();
    let mut propensities = BTreeMap::new();
    let mut uplift = Vec::new();
    for p in &mut catalogue.propositions {
        let (mut impressions, mut clicks) = (0.0, 0.0);
        for t in &mut p.treatments {
            let key = (p.id.clone(), t.id.clone());
            let [imp, clk, _] = weighted.get(&key).copied().unwrap_or_default();
            let clk = clk.min(imp.max(clk));
            impressions += imp;
            clicks += clk;
            t.beta = [
                1.0 + options.decay * (t.beta[0] - 1.0).max(0.0) + clk,
                1.0 + options.decay * (t.beta[1] - 1.0).max(0.0) + (imp - clk).max(0.0),
            ];
            let [n_imp, n_clk, n_conv] = counted.get(&key).copied().unwrap_or_default();
            treatments.push(TreatmentRow {
                proposition: p.id.clone(),
                treatment: t.id.clone(),
                segment: p.segment.clone(),
                impressions: n_imp,
                clicks: n_clk,
                conversions: n_conv,
                alpha: t.beta[0],
                beta: t.beta[1],
            });
        }
        let before = p.propensity.default;
        if impressions > 0.0 {
            let k = options.prior_strength;
            p.propensity.default = ((k * before + clicks) / (k + impressions)).clamp(0.0, 1.0);
        }
        propensities.insert(p.id.clone(), (before, p.propensity.default));
        let treated = exposed.get(p.id.as_str()).map_or(0, BTreeSet::len);
        let treated_conv = converted.get(&(p.id.as_str(), false)).map_or(0, |s| exposed.get(p.id.as_str()).map_or(0, |e| s.intersection(e).count()));
        let held_conv = converted.get(&(p.id.as_str(), true)).map_or(0, BTreeSet::len);
        if treated > 0 && !held_out.is_empty() {
            let (r1, n1) = (treated_conv as f64 / treated as f64, treated as f64);
            let (r0, n0) = (held_conv as f64 / held_out.len() as f64, held_out.len() as f64);
            let se = (r1 * (1.0 - r1) / n1 + r0 * (1.0 - r0) / n0).sqrt();
            let diff = r1 - r0;
            uplift.push(Uplift {
                proposition: p.id.clone(),
                treated,
                treated_rate: r1,
                held_out: held_out.len(),
                holdout_rate: r0,
                uplift: diff,
                low: diff - Z_95 * se,
                high: diff + Z_95 * se,
            });
        }
    }
    catalogue.version += 1;
    Ok(Report { treatments, propensities, uplift, unknown_events, version: catalogue.version })
}

/// Impressions, clicks and conversions per product segment.
pub fn segment_totals(report: &Report) -> BTreeMap<&str, [usize; 3]> {
    let mut totals: BTreeMap<&str, [usize; 3]> = BTreeMap::new();
    for r in &report.treatments {
        let t = totals.entry(r.segment.as_str()).or_default();
        t[0] += r.impressions;
        t[1] += r.clicks;
        t[2] += r.conversions;
    }
    totals
}

/// The report as the CLI prints it.
pub fn table(report: &Report) -> String {
    let mut out = format!("catalogue version {} learned\n\n", report.version);
    out.push_str(&format!("{:<22} {:<10} {:<11} {:>11} {:>7} {:>11} {:>9} {:>9}\n", "proposition", "treatment", "segment", "impressions", "clicks", "conversions", "alpha", "beta"));
    for r in &report.treatments {
        out.push_str(&format!("{:<22} {:<10} {:<11} {:>11} {:>7} {:>11} {:>9.2} {:>9.2}\n", r.proposition, r.treatment, r.segment, r.impressions, r.clicks, r.conversions, r.alpha, r.beta));
    }
    out.push_str(&format!("\n{:<22} {:>11} {:>7} {:>11} {:>9}\n", "segment", "impressions", "clicks", "conversions", "click rate"));
    for (segment, [imp, clk, conv]) in segment_totals(report) {
        let rate = if imp > 0 { clk as f64 / imp as f64 } else { 0.0 };
        out.push_str(&format!("{segment:<22} {imp:>11} {clk:>7} {conv:>11} {rate:>9.4}\n"));
    }
    out.push_str("\ndefault propensities\n");
    for (id, (before, after)) in &report.propensities {
        if before != after {
            out.push_str(&format!("{id:<22} {before:.4} -> {after:.4}\n"));
        }
    }
    out.push_str("\nuplift against the holdout group (conversion rate, 95% interval)\n");
    if report.uplift.is_empty() {
        out.push_str("(no events of held-out customers: no uplift to report)\n");
    }
    for u in &report.uplift {
        out.push_str(&format!(
            "{:<22} treated {:.4} (n={}) holdout {:.4} (n={}) uplift {:+.4} [{:+.4}, {:+.4}]\n",
            u.proposition, u.treated_rate, u.treated, u.holdout_rate, u.held_out, u.uplift, u.low, u.high
        ));
    }
    if report.unknown_events > 0 {
        out.push_str(&format!("\n{} events named a proposition or treatment this catalogue does not have; they were left out\n", report.unknown_events));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bundle::compile::{compile, parse_catalogue, read_catalogue_file};
    use crate::bundle::envelope::seal;
    use crate::bundle::tests::dev_key;
    use crate::bundle::{LoadOptions, TrustedKeys};
    use crate::decide::bandit::Rng;
    use crate::decide::{Context, DecideRequest};
    use crate::ledger::Ledger;
    use crate::Engine;
    use serde_json::json;

    const NOW: &str = "2026-12-05T09:30:00Z";

    fn sample() -> Catalogue {
        parse_catalogue(&read_catalogue_file(concat!(env!("CARGO_MANIFEST_DIR"), "/www/catalogue.json")).unwrap()).unwrap()
    }

    fn options() -> Options {
        Options {
            now: parse_rfc3339(NOW, "now").unwrap(),
            half_life_days: Options::DEFAULT_HALF_LIFE_DAYS,
            decay: Options::DEFAULT_DECAY,
            prior_strength: Options::DEFAULT_PRIOR_STRENGTH,
        }
    }

    fn event(subject: &str, proposition: &str, treatment: &str, kind: EventKind, holdout: bool, time: &str) -> Measurement {
        Measurement {
            decision_id: format!("d-{subject}"),
            proposition: proposition.into(),
            treatment: treatment.into(),
            holdout,
            event: kind,
            time: time.into(),
            bundle: "bank-nl-web".into(),
            bundle_version: 1,
            subject: subject.into(),
        }
    }

    #[test]
    fn uplift_is_found_on_data_with_a_known_effect() {
        // Treated customers convert with 6%, held-out ones with 2%: the true uplift is 0.04.
        let mut rng = Rng::for_draw("uplift", 0, "green-savings");
        let mut events = Vec::new();
        for i in 0..20_000 {
            let s = format!("t{i}");
            events.push(event(&s, "green-savings", "a", EventKind::Impression, false, NOW));
            if rng.uniform() < 0.06 {
                events.push(event(&s, "green-savings", "a", EventKind::Convert, false, NOW));
            }
        }
        for i in 0..5_000 {
            let s = format!("h{i}");
            events.push(event(&s, "phishing-tips", "a", EventKind::Impression, true, NOW));
            if rng.uniform() < 0.02 {
                events.push(event(&s, "green-savings", "a", EventKind::Convert, true, NOW));
            }
        }
        let report = learn(&mut sample(), &events, &options()).unwrap();
        let u = report.uplift.iter().find(|u| u.proposition == "green-savings").unwrap();
        assert_eq!((u.treated, u.held_out), (20_000, 5_000));
        assert!(u.low < 0.04 && 0.04 < u.high, "{u:?}");
        assert!(u.low > 0.0, "the effect is significant: {u:?}");
        // The interval's half-width is what the normal approximation says (≈ 1.96 · 0.0026).
        assert!((u.high - u.low) / 2.0 < 0.0065 && (u.high - u.low) / 2.0 > 0.0035, "{u:?}");
    }

    #[test]
    fn evidence_updates_beta_and_propensity_and_old_evidence_fades() {
        let mut c = sample();
        let fresh: Vec<Measurement> = (0..100)
            .flat_map(|i| {
                let s = format!("s{i}");
                let mut v = vec![event(&s, "afloswijzer", "a", EventKind::Impression, false, NOW)];
                if i < 10 {
                    v.push(event(&s, "afloswijzer", "a", EventKind::Click, false, NOW));
                }
                v
            })
            .collect();
        let doubled: Vec<Measurement> = fresh.iter().chain(&fresh).cloned().collect();
        let report = learn(&mut c, &doubled, &options()).unwrap();
        let row = report.treatments.iter().find(|r| r.proposition == "afloswijzer").unwrap();
        assert_eq!((row.impressions, row.clicks), (100, 10), "duplicates count once");
        assert!((row.alpha - 11.0).abs() < 1e-9 && (row.beta - 91.0).abs() < 1e-9, "{row:?}");
        let (before, after) = report.propensities["afloswijzer"];
        assert!((after - (20.0 * before + 10.0) / 120.0).abs() < 1e-12);
        assert_eq!(report.version, 2);
        // The same evidence 60 days old (two half-lives) counts a quarter.
        let old: Vec<Measurement> = fresh.iter().map(|e| Measurement { time: "2026-10-06T09:30:00Z".into(), ..e.clone() }).collect();
        let report = learn(&mut sample(), &old, &options()).unwrap();
        let row = report.treatments.iter().find(|r| r.proposition == "afloswijzer").unwrap();
        assert!((row.alpha - 3.5).abs() < 1e-9 && (row.beta - 23.5).abs() < 1e-9, "{row:?}");
    }

    #[test]
    fn bad_event_lines_are_named() {
        let err = parse_events("\n{\"decisionId\": 1}\n", "events.jsonl").unwrap_err();
        assert_eq!(err.code(), "invalid_argument");
        assert!(err.to_string().starts_with("events.jsonl:2: not a measurement event"), "{err}");
        let stray = [event("s", "no-such", "a", EventKind::Click, false, NOW)];
        assert_eq!(learn(&mut sample(), &stray, &options()).unwrap().unknown_events, 1);
    }

    /// Decides the overview for `n` customers with the catalogue, shows green savings, and lets
    /// them click with the treatment's true rate; returns the events and treatment b's share.
    fn run_round(catalogue: &Catalogue, round: usize, n: usize, rng: &mut Rng) -> (Vec<Measurement>, f64) {
        let now = parse_rfc3339(NOW, "now").unwrap();
        let key = dev_key(9);
        let bytes = seal(&compile(catalogue, now).unwrap(), &key).unwrap();
        let mut trusted = TrustedKeys::new();
        trusted.add(&key.public_key()).unwrap();
        let engine = Engine::load(&bytes, &LoadOptions { trusted_keys: &trusted, now, min_version: None }).unwrap();
        let context = Context::from_value(&json!({"page": "/sparen"})).unwrap();
        let (mut events, mut shown, mut shown_b) = (Vec::new(), 0, 0);
        for i in 0..n {
            let profile = engine
                .profile_from_value(&json!({
                    "id": format!("sim-{round}-{i}"),
                    "attributes": {"age": 30, "holdings": ["payment_account"]},
                    "propensities": {"savings": 0.5},
                    "consent": {"personalisation": true, "marketing": true, "analytics": true}
                }))
                .unwrap();
            let d = engine.decide(&DecideRequest { placement: "overview", profile: &profile, context: &context, ledger: None, now }).unwrap();
            let Some(slot) = d.slots.iter().find(|s| s.proposition == "green-savings") else { continue };
            assert_eq!(slot.assignment, crate::decide::Assignment::Thompson);
            assert!(slot.selection_probability > 0.0 && slot.selection_probability <= 1.0, "{}", slot.selection_probability);
            let mut ledger = Ledger::new("bank-nl-web");
            let mut respond = |kind| engine.record(&mut ledger, kind, &slot.token, now, Some(&profile)).unwrap().measurement;
            events.extend(respond(EventKind::Impression));
            shown += 1;
            let rate = if slot.treatment == "b" { 0.10 } else { 0.02 };
            shown_b += usize::from(slot.treatment == "b");
            if rng.uniform() < rate {
                events.extend(respond(EventKind::Click));
            }
        }
        assert!(shown > n / 2, "green savings was shown to {shown} of {n}");
        (events, shown_b as f64 / shown as f64)
    }

    #[test]
    fn a_simulated_loop_moves_traffic_to_the_better_treatment() {
        let mut catalogue = sample();
        let green = catalogue.propositions.iter_mut().find(|p| p.id == "green-savings").unwrap();
        green.assignment = crate::bundle::catalogue::Assignment::Bandit;
        let mut b = green.treatments[0].clone();
        b.id = "b".into();
        green.treatments.push(b);
        let mut rng = Rng::for_draw("loop", 0, "clicks");
        let (events, first_share) = run_round(&catalogue, 0, 400, &mut rng);
        assert!((0.3..0.7).contains(&first_share), "with flat priors the split starts even: {first_share}");
        let mut all = events;
        let mut share = first_share;
        for round in 1..=3 {
            learn(&mut catalogue, &all, &options()).unwrap();
            let (events, s) = run_round(&catalogue, round, 400, &mut rng);
            all = events;
            share = s;
        }
        assert!(share > 0.8, "treatment b, which converts five times better, gets {share} of the traffic");
        assert_eq!(catalogue.version, 4);
    }
}
