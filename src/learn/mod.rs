//! Learning from measurement: the collector's events (and the bank's server-side conversions)
//! folded back into the catalogue, so the next bundle decides better. Authoring side
//! (`opmaat learn`).
//!
//! The heavy part is an aggregation ([`counts`]): distinct events per proposition × treatment
//! × holdout × event × day, and customers exposed and converted per proposition and group. It
//! is computed in memory from JSON Lines, or by one SQL query on DataFusion over Parquet
//! (`warehouse`), or by the bank's own cluster (`--print-sql`, then `--counts`). From the counts:
//!
//! * events are weighted by age — an event `a` whole days old counts `0.5^(a / halfLifeDays)` —
//!   so old evidence fades; only customers outside the holdout group teach the treatments;
//! * **Beta parameters** of every treatment (what bandits sample from; a click is a success):
//!   `α' = 1 + decay · (α − 1) + clicks`, `β' = 1 + decay · (β − 1) + (impressions − clicks)`.
//!   `decay` (default 0.8) shrinks what earlier runs learned each time `learn` runs again;
//! * **default propensity** of every proposition, the click rate shrunk towards its current
//!   value: `p' = (k · p + clicks) / (k + impressions)` with `k` = `priorStrength` (default 20);
//! * **uplift against the holdout group**: the share of exposed customers outside the group who
//!   converted, minus the share of held-out customers the decision withheld the proposition from
//!   who converted, with a 95% confidence interval (normal approximation of the difference of
//!   two proportions). Only where there is evidence: the catalogue has a holdout group, it was
//!   withheld from held-out customers (so not a service proposition the group is shown too),
//!   and server-side conversions were read — held-out customers convert only there. Otherwise
//!   the report says "no holdout evidence" and why.
//!
//! The catalogue's version goes up by one, so the bundle built from it replaces the old one.
//! [`evaluate`] estimates off the same counts what a candidate bundle's treatments would earn.

pub mod counts;
pub mod evaluate;
pub mod events;
#[cfg(feature = "warehouse")]
pub mod warehouse;

use std::collections::BTreeMap;
use std::path::Path;

use crate::bundle::catalogue::{Catalogue, HoldoutMode, Kind};
use crate::time::{parse_rfc3339, Timestamp, DAY};
use crate::{Error, Result};
pub use counts::{aggregate, sql, CountRow, Counts, Measure};
pub use events::{parse_conversions, parse_events, Conversion};

/// Fewest customers in each group for an uplift interval (the normal approximation needs them).
pub const MIN_GROUP: u64 = 30;

/// z for a two-sided 95% interval.
pub const Z_95: f64 = 1.959_963_985;

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
    pub impressions: u64,
    pub clicks: u64,
    pub conversions: u64,
    pub alpha: f64,
    pub beta: f64,
}

/// Uplift of one proposition against the holdout group, or why there is no evidence of it.
#[derive(Debug, Clone, PartialEq)]
pub struct Uplift {
    pub proposition: String,
    /// Customers outside the holdout group shown the proposition, and of them converted.
    pub treated: u64,
    pub treated_converted: u64,
    /// Held-out customers it was withheld from, and of them converted.
    pub held_out: u64,
    pub held_out_converted: u64,
    /// The estimate, or `Err(why there is no holdout evidence)`.
    pub estimate: std::result::Result<Estimate, String>,
}

/// An uplift estimate with its 95% interval.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Estimate {
    pub treated_rate: f64,
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
    pub unknown_events: u64,
    pub server_conversions: u64,
    pub version: u64,
}

/// Where the aggregation runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Aggregator {
    /// In memory, from JSON Lines: the embedded default, for logs that fit in memory.
    Memory,
    /// DataFusion over Parquet (JSON Lines converted first): all cores, spilling to disk.
    #[cfg(feature = "warehouse")]
    DataFusion(warehouse::Limits),
}

/// The counts of an events file and, optionally, a server-side conversions file.
pub fn counts_of_files(events: &Path, conversions: Option<&Path>, catalogue: &Catalogue, aggregator: Aggregator) -> Result<Counts> {
    match aggregator {
        Aggregator::Memory => {
            let parquet = |p: &Path| p.extension().is_some_and(|e| e.eq_ignore_ascii_case("parquet"));
            if let Some(p) = std::iter::once(events).chain(conversions).find(|p| parquet(p)) {
                return Err(Error::argument(p.display(), "Parquet is read by the DataFusion aggregation: build opmaat with `--features warehouse`"));
            }
            let open = |p: &Path| std::fs::File::open(p).map(std::io::BufReader::new).map_err(|e| Error::argument(p.display(), format!("cannot be opened: {e}")));
            let mut measured = Vec::new();
            events::read_lines(open(events)?, &events.display().to_string(), "measurement event", events::check_event, |e| measured.push(e))?;
            let mut converted = Vec::new();
            if let Some(path) = conversions {
                events::read_lines(open(path)?, &path.display().to_string(), "server-side conversion", events::check_conversion, |c| converted.push(c))?;
            }
            Ok(aggregate(&measured, &converted, catalogue))
        }
        #[cfg(feature = "warehouse")]
        Aggregator::DataFusion(limits) => warehouse::counts(events, conversions, catalogue, limits),
    }
}

/// Reads counts the query made elsewhere: Parquet (feature `warehouse`) or JSON Lines of
/// [`CountRow`].
pub fn read_counts(path: &Path) -> Result<Counts> {
    if path.extension().is_some_and(|e| e.eq_ignore_ascii_case("parquet")) {
        #[cfg(feature = "warehouse")]
        return warehouse::read_counts(path);
        #[cfg(not(feature = "warehouse"))]
        return Err(Error::argument(path.display(), "Parquet counts are read with `--features warehouse`; or pass them as JSON Lines"));
    }
    let file = std::fs::File::open(path).map_err(|e| Error::argument(path.display(), format!("cannot be opened: {e}")))?;
    let mut rows = Vec::new();
    events::read_lines(std::io::BufReader::new(file), &path.display().to_string(), "row of counts", |_: &CountRow| Ok(()), |r| rows.push(r))?;
    Ok(Counts::new(rows))
}

/// Folds the counts into the catalogue (Beta parameters, default propensities, version) and
/// reports what it learned.
pub fn learn(catalogue: &mut Catalogue, counts: &Counts, options: &Options) -> Result<Report> {
    if !(options.half_life_days > 0.0 && (0.0..=1.0).contains(&options.decay) && options.prior_strength >= 0.0) {
        return Err(Error::argument("learn", "half-life must be above 0, decay between 0 and 1, prior strength 0 or more"));
    }
    let today = options.now.div_euclid(DAY);
    let mut weighted: BTreeMap<(&str, &str), [f64; 2]> = BTreeMap::new();
    let mut counted: BTreeMap<(&str, &str), [u64; 3]> = BTreeMap::new();
    let mut unknown_events = 0;
    for r in counts.of(Measure::Events) {
        let known = catalogue
            .propositions
            .iter()
            .find(|p| p.id == r.proposition)
            .is_some_and(|p| p.treatments.iter().any(|t| t.id == r.treatment));
        if !known {
            unknown_events += r.n;
            continue;
        }
        if r.holdout {
            continue;
        }
        let day = parse_rfc3339(&format!("{}T00:00:00Z", r.day), "counts.day")?.div_euclid(DAY);
        let weight = 0.5f64.powf((today - day).max(0) as f64 / options.half_life_days);
        let slot = match r.event.as_str() {
            "impression" => 0,
            "click" => 1,
            "convert" => 2,
            _ => continue,
        };
        let key = (r.proposition.as_str(), r.treatment.as_str());
        if let Some(w) = weighted.entry(key).or_default().get_mut(slot) {
            *w += weight * r.n as f64;
        }
        if let Some(c) = counted.entry(key).or_default().get_mut(slot) {
            *c += r.n;
        }
    }
    let group = |measure: Measure, proposition: &str, holdout: bool| {
        counts.of(measure).filter(|r| r.proposition == proposition && r.holdout == holdout).map(|r| r.n).sum::<u64>()
    };
    let server_conversions: u64 = counts.of(Measure::ServerConversions).map(|r| r.n).sum();

    let mut treatments = Vec::new();
    let mut propensities = BTreeMap::new();
    let mut uplift = Vec::new();
    for p in &mut catalogue.propositions {
        let (mut impressions, mut clicks) = (0.0, 0.0);
        for t in &mut p.treatments {
            let key = (p.id.as_str(), t.id.as_str());
            let [imp, clk] = weighted.get(&key).copied().unwrap_or_default();
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

        let (treated, treated_converted) = (group(Measure::Exposed, &p.id, false), group(Measure::Converted, &p.id, false));
        let (held_out, held_out_converted) = (group(Measure::Exposed, &p.id, true), group(Measure::Converted, &p.id, true));
        if treated == 0 && held_out == 0 {
            continue;
        }
        let seen_by_holdout = match catalogue.holdout.as_ref().map(|h| h.mode) {
            Some(HoldoutMode::NoSales) => p.kind == Kind::Service,
            Some(HoldoutMode::Fallbacks) => p.fallback,
            _ => false,
        };
        let estimate = if catalogue.holdout.is_none() {
            Err("the catalogue has no holdout group".to_string())
        } else if seen_by_holdout {
            Err("the holdout group is shown it too, so it has no control group".to_string())
        } else if held_out == 0 {
            Err("it was withheld from no held-out customer (no `withheld` events)".to_string())
        } else if treated == 0 {
            Err("no customer outside the holdout group was shown it".to_string())
        } else if held_out < MIN_GROUP || treated < MIN_GROUP {
            Err(format!("too few customers for an interval (treated {treated}, held out {held_out}; at least {MIN_GROUP} each)"))
        } else if server_conversions == 0 {
            Err("no server-side conversions were read (--conversions): held-out customers convert only there".to_string())
        } else {
            Ok(estimate(treated_converted, treated, held_out_converted, held_out))
        };
        uplift.push(Uplift { proposition: p.id.clone(), treated, treated_converted, held_out, held_out_converted, estimate });
    }
    catalogue.version += 1;
    Ok(Report { treatments, propensities, uplift, unknown_events, server_conversions, version: catalogue.version })
}

/// The difference of two proportions with its 95% interval (normal approximation).
fn estimate(converted_1: u64, n1: u64, converted_0: u64, n0: u64) -> Estimate {
    let (n1, n0) = (n1 as f64, n0 as f64);
    let (r1, r0) = (converted_1 as f64 / n1, converted_0 as f64 / n0);
    let se = (r1 * (1.0 - r1) / n1 + r0 * (1.0 - r0) / n0).sqrt();
    let uplift = r1 - r0;
    Estimate { treated_rate: r1, holdout_rate: r0, uplift, low: uplift - Z_95 * se, high: uplift + Z_95 * se }
}

/// Impressions, clicks and conversions per product segment.
pub fn segment_totals(report: &Report) -> BTreeMap<&str, [u64; 3]> {
    let mut totals: BTreeMap<&str, [u64; 3]> = BTreeMap::new();
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
        out.push_str("(no exposures: no uplift to report)\n");
    }
    for u in &report.uplift {
        match &u.estimate {
            Ok(e) => out.push_str(&format!(
                "{:<22} treated {:.4} (n={}) holdout {:.4} (n={}) uplift {:+.4} [{:+.4}, {:+.4}]\n",
                u.proposition, e.treated_rate, u.treated, e.holdout_rate, u.held_out, e.uplift, e.low, e.high
            )),
            Err(why) => out.push_str(&format!("{:<22} no holdout evidence: {why}\n", u.proposition)),
        }
    }
    out.push_str(&format!("({} server-side conversions read)\n", report.server_conversions));
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
    use crate::ledger::{EventKind, Ledger};
    use crate::measure::{Measured, Measurement};
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

    /// One event of decision `d-{subject}`, picked with probability 1 (also the warehouse tests').
    pub(super) fn event(subject: &str, proposition: &str, treatment: &str, kind: Measured, holdout: bool, time: &str) -> Measurement {
        Measurement {
            decision_id: format!("d-{subject}"),
            proposition: proposition.into(),
            treatment: treatment.into(),
            holdout,
            event: kind,
            time: time.into(),
            bundle: "bank-nl-web".into(),
            bundle_version: 1,
            placement: "overview".into(),
            position: if kind == Measured::Withheld { 0 } else { 1 },
            selection_probability: 1.0,
            subject: subject.into(),
        }
    }

    fn learned(catalogue: &mut Catalogue, events: &[Measurement], conversions: &[Conversion]) -> Report {
        let counts = aggregate(events, conversions, catalogue);
        learn(catalogue, &counts, &options()).unwrap()
    }

    fn server(subject: &str, proposition: &str) -> Conversion {
        Conversion { subject: subject.into(), proposition: Some(proposition.into()), product: None, time: NOW.into(), token: None }
    }

    /// Treated customers convert with 6%, held-out ones (the proposition withheld) with 2%: the
    /// true uplift is 0.04. `server` says whether the bank's server reported the conversions.
    fn known_effect(server_side: bool) -> (Vec<Measurement>, Vec<Conversion>) {
        let mut rng = Rng::for_draw("uplift", 0, "green-savings");
        let (mut events, mut conversions) = (Vec::new(), Vec::new());
        for i in 0..20_000 {
            let s = format!("t{i}");
            events.push(event(&s, "green-savings", "a", Measured::Impression, false, NOW));
            if rng.uniform() < 0.06 {
                events.push(event(&s, "green-savings", "a", Measured::Convert, false, NOW));
                conversions.push(server(&s, "green-savings"));
            }
        }
        for i in 0..5_000 {
            let s = format!("h{i}");
            events.push(event(&s, "phishing-tips", "a", Measured::Impression, true, NOW));
            events.push(event(&s, "green-savings", "a", Measured::Withheld, true, NOW));
            if rng.uniform() < 0.02 {
                conversions.push(server(&s, "green-savings"));
            }
        }
        if !server_side {
            conversions.clear();
        }
        (events, conversions)
    }

    #[test]
    fn uplift_is_found_on_data_with_a_known_effect() {
        let (events, conversions) = known_effect(true);
        let report = learned(&mut sample(), &events, &conversions);
        let u = report.uplift.iter().find(|u| u.proposition == "green-savings").unwrap();
        assert_eq!((u.treated, u.held_out), (20_000, 5_000));
        let e = u.estimate.as_ref().unwrap();
        assert!(e.low < 0.04 && 0.04 < e.high, "{u:?}");
        assert!(e.low > 0.0, "the effect is significant: {u:?}");
        // The interval's half-width is what the normal approximation says (≈ 1.96 · 0.0026).
        assert!((e.high - e.low) / 2.0 < 0.0065 && (e.high - e.low) / 2.0 > 0.0035, "{u:?}");
    }

    #[test]
    fn without_server_side_conversions_there_is_no_holdout_evidence() {
        // Before: the held-out group's conversion rate was 0 (no opmaat interface records their
        // conversions) and the uplift came out "significant". Now it is not reported at all.
        let (events, conversions) = known_effect(false);
        let report = learned(&mut sample(), &events, &conversions);
        let u = report.uplift.iter().find(|u| u.proposition == "green-savings").unwrap();
        assert_eq!(u.estimate, Err("no server-side conversions were read (--conversions): held-out customers convert only there".into()));
        assert!(table(&report).contains("green-savings          no holdout evidence: no server-side conversions were read"), "{}", table(&report));
        // A service proposition the held-out customers are shown too has no control group.
        let p = report.uplift.iter().find(|u| u.proposition == "phishing-tips");
        assert!(p.is_none_or(|p| p.estimate.is_err()), "{p:?}");
        let (events, conversions) = known_effect(true);
        let held_impressions: Vec<Measurement> = events.iter().filter(|e| e.holdout && e.event == Measured::Impression).map(|e| Measurement { proposition: "green-savings".into(), ..e.clone() }).collect();
        let only_shown: Vec<Measurement> = events.iter().filter(|e| e.event != Measured::Withheld).cloned().chain(held_impressions).collect();
        let report = learned(&mut sample(), &only_shown, &conversions);
        let u = report.uplift.iter().find(|u| u.proposition == "green-savings").unwrap();
        assert_eq!(u.estimate, Err("it was withheld from no held-out customer (no `withheld` events)".into()), "held-out impressions are not exposures of the control arm");
        let mut without_holdout = sample();
        without_holdout.holdout = None;
        let report = learned(&mut without_holdout, &events, &conversions);
        assert_eq!(report.uplift.iter().find(|u| u.proposition == "green-savings").unwrap().estimate, Err("the catalogue has no holdout group".into()));
    }

    #[test]
    fn a_conversion_before_the_exposure_does_not_count_and_products_map_to_propositions() {
        let mut c = sample();
        c.propositions.iter_mut().find(|p| p.id == "green-savings").unwrap().product = Some("SAV-GREEN".into());
        let events = [event("t1", "green-savings", "a", Measured::Impression, false, NOW), event("t2", "green-savings", "a", Measured::Impression, false, NOW)];
        let by_product = |subject: &str, time: &str| Conversion { subject: subject.into(), proposition: None, product: Some("SAV-GREEN".into()), time: time.into(), token: None };
        let counts = aggregate(&events, &[by_product("t1", "2026-12-05T09:30:05Z"), by_product("t2", "2026-12-05T09:29:59Z")], &c);
        let converted: Vec<_> = counts.of(Measure::Converted).map(|r| (r.proposition.as_str(), r.holdout, r.n)).collect();
        assert_eq!(converted, vec![("green-savings", false, 1)], "t2 took the product before it was shown");
        assert_eq!(counts.of(Measure::ServerConversions).map(|r| r.n).sum::<u64>(), 2);
    }

    #[test]
    fn evidence_updates_beta_and_propensity_and_old_evidence_fades() {
        let mut c = sample();
        let fresh: Vec<Measurement> = (0..100)
            .flat_map(|i| {
                let s = format!("s{i}");
                let mut v = vec![event(&s, "afloswijzer", "a", Measured::Impression, false, NOW)];
                if i < 10 {
                    v.push(event(&s, "afloswijzer", "a", Measured::Click, false, NOW));
                }
                v
            })
            .collect();
        let doubled: Vec<Measurement> = fresh.iter().chain(&fresh).cloned().collect();
        let report = learned(&mut c, &doubled, &[]);
        let row = report.treatments.iter().find(|r| r.proposition == "afloswijzer").unwrap();
        assert_eq!((row.impressions, row.clicks), (100, 10), "duplicates count once");
        assert!((row.alpha - 11.0).abs() < 1e-9 && (row.beta - 91.0).abs() < 1e-9, "{row:?}");
        let (before, after) = report.propensities["afloswijzer"];
        assert!((after - (20.0 * before + 10.0) / 120.0).abs() < 1e-12);
        assert_eq!(report.version, 2);
        // The same evidence 60 days old (two half-lives) counts a quarter.
        let old: Vec<Measurement> = fresh.iter().map(|e| Measurement { time: "2026-10-06T09:30:00Z".into(), ..e.clone() }).collect();
        let report = learned(&mut sample(), &old, &[]);
        let row = report.treatments.iter().find(|r| r.proposition == "afloswijzer").unwrap();
        assert!((row.alpha - 3.5).abs() < 1e-9 && (row.beta - 23.5).abs() < 1e-9, "{row:?}");
    }

    #[test]
    fn events_of_unknown_propositions_are_counted_and_left_out() {
        let stray = [event("s", "no-such", "a", Measured::Click, false, NOW)];
        assert_eq!(learned(&mut sample(), &stray, &[]).unknown_events, 1);
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
            learned(&mut catalogue, &all, &[]);
            let (events, s) = run_round(&catalogue, round, 400, &mut rng);
            all = events;
            share = s;
        }
        assert!(share > 0.8, "treatment b, which converts five times better, gets {share} of the traffic");
        assert_eq!(catalogue.version, 4);
    }
}
