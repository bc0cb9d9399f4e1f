//! The simulation's figures against values computed independently from the decisions it made,
//! its determinism (threads, file forms), bad rows, and the HTML page.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::Mutex;

use serde_json::json;

use super::population::{self, Entry};
use super::*;
use crate::bundle::tests::{dev_key, sample_payload};
use crate::decide::Decision;

const DAYS: u32 = 14;
const CUSTOMERS: u64 = 400;

/// A fresh directory (tests run in parallel: each gets its own).
fn dir(name: &str) -> PathBuf {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("opmaat-simulate-{name}-{}-{n}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The sample catalogue as a signed bundle, with the key it verifies with and its first day.
fn sample() -> (Vec<u8>, TrustedKeys, Timestamp) {
    let payload = sample_payload();
    let key = dev_key(1);
    let mut trusted = TrustedKeys::new();
    trusted.add(&key.public_key()).unwrap();
    let start = payload.not_before.div_euclid(DAY) * DAY + DAY;
    (seal(&payload, &key).unwrap(), trusted, start)
}

fn options(start: Timestamp) -> Options {
    Options {
        seed: 7,
        days: DAYS,
        start,
        visits: VisitModel { visits_per_day: 0.4, placements_per_visit: 2, placements: Vec::new(), contexts: Vec::new() },
        responses: ResponseModel { convert_after_click: 0.2, dismiss_rate: 0.05 },
        strict: false,
        decisions_per_year: None,
    }
}

/// Synthetic customers, a tenth of them logged off (so the homepage is decided too).
fn people() -> Vec<Entry> {
    (0..CUSTOMERS)
        .map(|i| {
            let mut profile = crate::synthetic::profile(i);
            if i % 10 == 9 {
                profile = json!({"loggedIn": false, "consent": {"analytics": true}});
            }
            Entry { profile, context: Some(crate::synthetic::context(i)) }
        })
        .collect()
}

fn population_file(name: &str, entries: Vec<Entry>) -> (PathBuf, PathBuf) {
    let dir = dir(name);
    let path = dir.join(name);
    population::write(&path, entries.into_iter()).unwrap();
    (dir, path)
}

fn simulate_file(path: &std::path::Path, options: &Options) -> Result<report::Report> {
    let (bundle, trusted, start) = sample();
    let arms = Arms::new(&bundle, &trusted, start, None)?;
    let tallies = run(population::open(path)?, "people", &arms, options, &|_| {})?;
    Ok(report::report(&arms, &tallies, options))
}

#[test]
fn the_figures_are_those_of_the_decisions_made() {
    let (dir, path) = population_file("people.jsonl", people());
    let (bundle, trusted, start) = sample();
    let options = options(start);
    let arms = Arms::new(&bundle, &trusted, start, None).unwrap();
    let seen: Mutex<Vec<Decision>> = Mutex::new(Vec::new());
    let observe = |d: &Decision| seen.lock().unwrap().push(d.clone());
    let tallies = run_observed(population::open(&path).unwrap(), "people", &arms, &options, &|_| {}, Some(&observe)).unwrap();
    let report = report::report(&arms, &tallies, &options);
    let decisions = seen.into_inner().unwrap();

    // Pinned for this seed and population (a change in the funnel or the visit model moves them;
    // then check the other assertions still hold, and pin the new figures).
    assert_eq!((report.population.customers, report.population.visited), (400, 398));
    assert_eq!(report.decisions.total, decisions.len() as u64);
    assert_eq!((report.decisions.total, report.share_of_voice.last().unwrap().impressions), (4_221, 6_622));

    // The knob's cost is the sum of every decision's own `withoutKnob.knobCost`.
    let knob_cost: f64 = decisions.iter().map(|d| d.without_knob.knob_cost).sum();
    assert!((report.knob.cost - knob_cost).abs() < 1e-6, "{} vs {knob_cost}", report.knob.cost);
    let with: f64 = decisions.iter().map(|d| d.expected_value).sum();
    let without: f64 = decisions.iter().map(|d| d.without_knob.expected_value).sum();
    assert!((report.knob.with_knob.expected_value - with).abs() < 1e-6);
    assert!((report.knob.without_knob.expected_value - without).abs() < 1e-6);
    assert!((report.knob.cost - (without - with)).abs() < 1e-6);
    let daily: f64 = report.knob.daily.iter().map(|d| d.with_knob).sum();
    assert!((daily - with).abs() < 1e-6);
    assert!((report.knob.cost_per_1000_decisions - knob_cost * 1000.0 / decisions.len() as f64).abs() < 1e-9);
    let bank: f64 = decisions.iter().flat_map(|d| &d.slots).map(|s| s.parts.p * s.parts.bank_value).sum();
    assert!((report.knob.with_knob.bank - bank).abs() < 1e-6);

    // Share of voice: the slots of the decisions, per placement and proposition.
    let mut slots: BTreeMap<(String, String), u64> = BTreeMap::new();
    for d in &decisions {
        for s in &d.slots {
            *slots.entry((d.placement.id.clone(), s.proposition.clone())).or_default() += 1;
        }
    }
    for voice in report.share_of_voice.iter().filter(|v| v.placement != "all") {
        for share in &voice.propositions {
            assert_eq!(share.impressions, slots.get(&(voice.placement.clone(), share.name.clone())).copied().unwrap_or(0), "{} {}", voice.placement, share.name);
        }
        let total: f64 = voice.propositions.iter().map(|s| s.share).sum();
        assert!(voice.impressions == 0 || (total - 1.0).abs() < 1e-9);
    }
    let all = report.share_of_voice.last().unwrap();
    assert_eq!(all.placement, "all");
    assert_eq!(all.impressions, slots.values().sum::<u64>());
    assert!(report.share_of_voice.iter().any(|v| v.placement == "homepage" && v.impressions > 0));

    // Never shown: exactly the propositions no decision showed, each with the rule its trace
    // entries name most.
    let shown: BTreeSet<&str> = decisions.iter().flat_map(|d| &d.slots).map(|s| s.proposition.as_str()).collect();
    let never: BTreeSet<&str> = report.never_shown.iter().map(|n| n.proposition.as_str()).collect();
    let all_ids: BTreeSet<&str> = arms.catalogue.engine.bundle().payload.catalogue.propositions.iter().map(|p| p.id.as_str()).collect();
    assert_eq!(never, all_ids.difference(&shown).copied().collect());
    for n in &report.never_shown {
        let mut rules: BTreeMap<&str, u64> = BTreeMap::new();
        for e in decisions.iter().flat_map(|d| &d.trace).filter(|e| e.proposition == n.proposition) {
            *rules.entry(e.rule.as_str()).or_default() += 1;
        }
        let most = rules.values().max().copied().unwrap_or(0);
        assert_eq!(n.removals, rules.values().sum::<u64>());
        assert_eq!(rules.get(n.rule.unwrap().as_str()).copied(), Some(most), "{}", n.proposition);
    }

    // Coverage: customers (by pseudonymous id; logged-off visitors have none) shown a segment.
    let mut by_segment: BTreeMap<&str, BTreeSet<String>> = BTreeMap::new();
    for d in &decisions {
        let customer = d.profile_id.clone().unwrap_or_else(|| format!("anonymous {}", d.decision_id));
        for s in &d.slots {
            by_segment.entry(s.segment.as_str()).or_default().insert(customer.clone());
        }
    }
    let anonymous = CUSTOMERS / 10;
    for s in &report.coverage.segments {
        let named = by_segment.get(s.segment.as_str()).map_or(0, |c| c.iter().filter(|c| !c.starts_with("anonymous")).count()) as u64;
        assert!(s.shown >= named && s.shown <= named + anonymous, "{}: {} vs {named}", s.segment, s.shown);
        let without: u64 = s.without.iter().map(|w| w.count).sum();
        assert_eq!(s.shown + without, report.coverage.customers, "{}", s.segment);
    }

    // Service and sales: the kinds of the slots.
    let service = decisions.iter().flat_map(|d| &d.slots).filter(|s| s.kind == crate::bundle::model::Kind::Service).count() as u64;
    assert_eq!(report.balance.last().unwrap().service, service);

    // Holdout: the customers whose decisions say so; withheld exposures are theirs alone.
    let held: BTreeSet<&str> = decisions.iter().filter(|d| d.holdout).filter_map(|d| d.profile_id.as_deref()).collect();
    assert_eq!(report.measurement.holdout_customers, held.len() as u64);
    assert!(held.len() > 0, "a 2 % holdout of 360 logged-in customers has members");
    for p in &report.measurement.propositions {
        let control: BTreeSet<&str> =
            decisions.iter().filter(|d| d.withheld.iter().any(|w| w.proposition == p.proposition)).filter_map(|d| d.profile_id.as_deref()).collect();
        assert_eq!(p.control, control.len() as u64, "{}", p.proposition);
    }

    // Contact pressure: every impression lands in one customer-week; policy removals are trace entries.
    let weeks = u64::from(DAYS.div_ceil(customer::DAYS_PER_WEEK));
    assert_eq!(report.pressure.customer_weeks, CUSTOMERS * weeks);
    let impressions: u64 = report.pressure.distribution.iter().map(|b| u64::from(b.impressions) * b.customer_weeks).sum();
    assert_eq!(impressions, all.impressions);
    for policy in &report.pressure.policies {
        let n = decisions.iter().flat_map(|d| &d.trace).filter(|e| e.rule == policy.rule).count() as u64;
        assert_eq!(policy.removals, n, "{:?}", policy.rule);
    }
    assert!(report.pressure.policies.iter().any(|p| p.removals > 0), "two weeks of visits meet the caps");

    // The customer-centric run decides the same visits; what it shows differs.
    let cc = &report.customer_centric;
    assert_eq!(cc.decisions, report.decisions.total);
    assert!(cc.propositions.iter().any(|p| p.impressions != p.other), "bankValueWeight 0 changes what is shown");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn the_report_is_the_same_on_one_thread_and_from_every_file_form() {
    let (bundle, trusted, start) = sample();
    let options = options(start);
    let mut reports = Vec::new();
    for name in ["people.jsonl", "people.parquet", "people.json"] {
        let (dir, path) = population_file(name, people());
        reports.push(simulate_file(&path, &options).unwrap());
        if name == "people.jsonl" {
            let arms = Arms::new(&bundle, &trusted, start, None).unwrap();
            let pool = rayon::ThreadPoolBuilder::new().num_threads(1).build().unwrap();
            let tallies = pool.install(|| run(population::open(&path).unwrap(), "people", &arms, &options, &|_| {})).unwrap();
            assert_eq!(report::report(&arms, &tallies, &options), reports[0], "one thread");
        }
        std::fs::remove_dir_all(dir).unwrap();
    }
    assert_eq!(reports[0], reports[1], "JSON Lines and Parquet");
    assert_eq!(reports[0], reports[2], "JSON Lines and the people file");
    let (dir, path) = population_file("again.jsonl", people());
    let other = simulate_file(&path, &Options { seed: 8, ..options.clone() }).unwrap();
    assert_ne!(other.decisions.total, reports[0].decisions.total, "another seed, other visits");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn bad_rows_are_named_and_skipped_or_refused_when_strict() {
    let dir = dir("bad");
    let path = dir.join("people.jsonl");
    let mut lines: Vec<String> = people().into_iter().take(20).map(|e| json!({"profile": e.profile, "context": e.context}).to_string()).collect();
    lines[4] = "{\"profile\": {\"id\": \"p-4\"".into();
    lines[9] = json!({"id": "p-9", "loggedIn": true, "attributes": {"contact": "jan.jansen@example.nl"}}).to_string();
    lines[14] = json!({"profile": {"id": "p-14"}, "context": {"formFactor": "tiny"}}).to_string();
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();
    let (_, _, start) = sample();
    let report = simulate_file(&path, &options(start)).unwrap();
    assert_eq!((report.population.rows, report.population.customers, report.population.skipped), (20, 17, 3));
    let skipped: Vec<(u64, &str)> = report.population.skipped_rows.iter().map(|s| (s.row, s.code.as_str())).collect();
    assert_eq!(skipped, [(5, UNREADABLE_ROW), (10, "personal_data"), (15, "invalid_argument")]);
    assert!(report.population.skipped_rows[0].message.contains("people: row 5"), "{:?}", report.population.skipped_rows[0]);

    let strict = simulate_file(&path, &Options { strict: true, ..options(start) }).unwrap_err();
    assert!(strict.to_string().contains("row 5"), "{strict}");
    lines[4] = lines[3].clone();
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();
    let strict = simulate_file(&path, &Options { strict: true, ..options(start) }).unwrap_err();
    assert!(strict.to_string().contains("people: row 10") && strict.to_string().contains("personal_data"), "{strict}");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn settings_outside_the_catalogue_are_refused_up_front() {
    let (dir, path) = population_file("few.jsonl", people().into_iter().take(5).collect());
    let (_, _, start) = sample();
    let late = simulate_file(&path, &Options { start: start + 400 * DAY, ..options(start) }).unwrap_err();
    assert!(late.to_string().contains("outside the validity of bank-nl-web"), "{late}");
    let mut visits = options(start);
    visits.visits.placements = vec!["nowhere".into()];
    assert!(simulate_file(&path, &visits).unwrap_err().to_string().contains("no placement \"nowhere\""));
    for bad in [Options { days: 0, ..options(start) }, Options { responses: ResponseModel { convert_after_click: 1.5, dismiss_rate: 0.0 }, ..options(start) }] {
        assert_eq!(simulate_file(&path, &bad).unwrap_err().code(), "invalid_argument");
    }
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn a_context_mix_decides_every_visit_in_one_of_its_contexts() {
    let (dir, path) = population_file("mix.jsonl", people().into_iter().take(100).collect());
    let (_, _, start) = sample();
    let mut mixed = options(start);
    mixed.visits.contexts = vec![(3.0, json!({"page": "/sparen", "formFactor": "small"})), (1.0, json!({"page": "/hypotheek"}))];
    mixed.visits.placements = vec!["overview".into()];
    let report = simulate_file(&path, &mixed).unwrap();
    assert!(report.decisions.per_placement.iter().all(|p| (p.name == "overview") == (p.count > 0)), "{:?}", report.decisions.per_placement);
    assert_eq!(report.visit_model.contexts, 2);
    mixed.visits.contexts = vec![(1.0, json!({"formFactor": "tiny"}))];
    assert!(simulate_file(&path, &mixed).unwrap_err().to_string().contains("contexts[0]"));
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn the_page_is_self_contained_and_has_its_charts() {
    let (dir, path) = population_file("page.jsonl", people().into_iter().take(100).collect());
    let (_, _, start) = sample();
    let report = simulate_file(&path, &options(start)).unwrap();
    let page = html::render(&report).unwrap();
    assert!(page.starts_with("<!DOCTYPE html>"));
    assert!(page.matches("<svg").count() >= 4, "share of voice per placement, pressure, knob");
    for outside in ["src=\"http", "href=\"http", "<script", "@import", "url("] {
        assert!(!page.contains(outside), "{outside}");
    }
    for heading in ["Share of voice", "Coverage per product segment", "Service and sales", "What the strategic knob costs", "Bank value and customer value", "Contact pressure", "Measurement"] {
        assert!(page.contains(heading), "{heading}");
    }
    std::fs::remove_dir_all(dir).unwrap();
}
