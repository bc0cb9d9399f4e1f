//! Synthetic catalogues, profiles and contexts of any size, for benchmarks (native and Wasm) and
//! load tests. Deterministic: the same size and seed give the same catalogue.
//!
//! A synthetic catalogue looks like a large bank's: eight product segments, sales, service and
//! loyalty propositions in the web and app channels, each with 3 to 6 targeting clauses spread
//! over eligibility, applicability, suitability and a context weight (ages, holdings, income
//! bands, customer segments, arrears, regions, tenure, app use, page patterns and screen size),
//! one or two treatments with Dutch and English creatives (mostly with compact ones), levers
//! and a strategic knob. Its placements are `overview` (web, logged in, 3 slots, at most 2
//! sales, 1 reserved for service, one per segment), `app-home` (app, 3 slots) and `homepage`
//! (web, anyone, 3 slots). `opmaat synth` writes one as JSON.
// Every index here comes from this module's own generator, below the length of one of its own
// constant tables: nothing from outside reaches them.
#![allow(clippy::indexing_slicing)]

use std::collections::BTreeMap;

use serde_json::{json, Map, Value};

use crate::bundle::catalogue::*;

pub mod events;

/// Product segments of a synthetic catalogue.
pub const SEGMENTS: [&str; 8] =
    ["savings", "payments", "mortgages", "loans", "investments", "insurance", "service", "pensions"];
const HOLDINGS: [&str; 10] = [
    "payment_account", "debit_card", "credit_card", "savings", "green_savings", "kids_savings",
    "mortgage", "personal_loan", "investments", "insurance",
];
const BANDS: [&str; 5] = ["low", "lower_middle", "middle", "upper_middle", "high"];
const GROUPS: [&str; 6] = ["student", "young_professional", "family", "private_banking", "senior", "entrepreneur"];
const REGIONS: [&str; 6] = ["north", "east", "south", "west", "randstad", "abroad"];
const PAGES: [&str; 8] = ["/overzicht", "/sparen", "/sparen/groen", "/betalen", "/hypotheek", "/beleggen", "/en/savings", "/verzekeren"];
/// Model keys propensities are scored under.
pub const MODELS: usize = 20;

/// The synthetic data's generator: the decision code's own seeded generator, with helpers.
struct Rng(crate::decide::bandit::Rng);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(crate::decide::bandit::Rng::seeded(seed))
    }

    fn next(&mut self) -> u64 {
        self.0.next_u64()
    }

    /// In `0..n` (n > 0).
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    /// In `[0, 1)`.
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }

    fn some<'a>(&mut self, items: &[&'a str], max: usize) -> Vec<&'a str> {
        let n = 1 + self.below(max);
        let mut out: Vec<&str> = Vec::with_capacity(n);
        while out.len() < n {
            let item = self.pick(items);
            if !out.contains(&item) {
                out.push(item);
            }
        }
        out
    }

    /// Two decimals, in `[lo, hi)`.
    fn amount(&mut self, lo: f64, hi: f64) -> f64 {
        ((lo + self.unit() * (hi - lo)) * 100.0).round() / 100.0
    }
}

/// One targeting clause on the profile.
fn profile_clause(rng: &mut Rng) -> Value {
    match rng.below(10) {
        0 => json!({"age": {"$gte": 16 + rng.below(40)}}),
        1 => json!({"age": {"$lt": 30 + rng.below(60)}}),
        2 => json!({"holdings": {"$in": rng.some(&HOLDINGS, 3)}}),
        3 => json!({"holdings": {"$nin": rng.some(&HOLDINGS, 2)}}),
        4 => json!({"income_band": {"$in": rng.some(&BANDS, 3)}}),
        5 => json!({"segments": {"$in": rng.some(&GROUPS, 2)}}),
        6 => json!({"in_arrears": {"$ne": true}}),
        7 => json!({"region": {"$nin": [rng.pick(&REGIONS)]}}),
        8 => json!({"tenure_years": {"$gte": rng.below(10)}}),
        _ => json!({"app_user": rng.chance(0.5)}),
    }
}

/// One clause on the contact's context.
fn context_clause(rng: &mut Rng) -> Value {
    match rng.below(3) {
        0 => json!({"context.page": {"$regex": format!("^{}", rng.pick(&PAGES))}}),
        1 => json!({"context.formFactor": if rng.chance(0.5) { "small" } else { "large" }}),
        _ => json!({"context.topic": {"$in": rng.some(&SEGMENTS, 2)}}),
    }
}

fn all_of(clauses: Vec<Value>) -> Option<Value> {
    match clauses.len() {
        0 => None,
        1 => clauses.into_iter().next(),
        _ => Some(json!({"$and": clauses})),
    }
}

fn creative(id: &str, locale: &str, compact: bool) -> Creative {
    let (title, cta) = match locale {
        "nl" => (format!("Aanbod {id}"), "Meer informatie"),
        _ => (format!("Offer {id}"), "Learn more"),
    };
    Creative {
        title,
        body: if compact { "Kort.".into() } else { "Een voorstel op maat.".into() },
        cta: cta.into(),
        href: format!("/aanbod/{id}"),
        image: None,
    }
}

fn proposition(rng: &mut Rng, i: usize, fallback_taken: &mut [bool; SEGMENTS.len()]) -> Proposition {
    let id = format!("syn-{i:05}");
    let segment_index = rng.below(SEGMENTS.len());
    let kind = match rng.below(20) {
        0..=10 => Kind::Sales,
        11..=17 => Kind::Service,
        _ => Kind::Loyalty,
    };
    let channels = match rng.below(5) {
        0 => vec!["web".to_string()],
        1 => vec!["app".to_string()],
        _ => vec!["web".to_string(), "app".to_string()],
    };
    // 3 to 6 clauses: at least one eligibility clause, the rest spread.
    let clauses = 3 + rng.below(4);
    let (mut eligibility, mut applicability, mut suitability, mut weights) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for c in 0..clauses {
        match if c == 0 { 0 } else { rng.below(4) } {
            0 => eligibility.push(profile_clause(rng)),
            1 => applicability.push(profile_clause(rng)),
            2 => suitability.push(profile_clause(rng)),
            _ => weights.push(ContextWeight { when: context_clause(rng), weight: (10 + rng.below(91)) as f64 }),
        }
    }
    let fallback = !fallback_taken[segment_index] && rng.chance(0.2);
    fallback_taken[segment_index] |= fallback;
    let treatments = (0..1 + usize::from(rng.chance(0.2)))
        .map(|t| {
            let compact = rng.chance(0.8);
            let mut large = BTreeMap::new();
            let mut small = BTreeMap::new();
            for locale in ["nl", "en"] {
                large.insert(locale.to_string(), creative(&id, locale, false));
                if compact {
                    small.insert(locale.to_string(), creative(&id, locale, true));
                }
            }
            Treatment { id: ["a", "b"][t].into(), weight: 1.0, beta: [1.0, 1.0], creative: large, compact: small }
        })
        .collect();
    Proposition {
        product: (kind != Kind::Service).then(|| format!("PRD-{i:05}")),
        id,
        segment: SEGMENTS[segment_index].into(),
        kind,
        channels,
        valid: rng.chance(0.1).then(|| Window { from: "2026-06-01T00:00:00Z".into(), until: "2027-06-01T00:00:00Z".into() }),
        eligibility: all_of(eligibility),
        applicability: all_of(applicability),
        suitability: all_of(suitability),
        context_weights: weights,
        value: Values { bank: rng.amount(0.0, 30.0), customer: rng.amount(0.0, 30.0) },
        propensity: Propensity { model: Some(format!("m{}", rng.below(MODELS))), default: rng.amount(0.01, 0.2) },
        lever: if rng.chance(0.2) { rng.amount(-20.0, 30.0) } else { 0.0 },
        fallback,
        contact_policy: None,
        assignment: Assignment::Split,
        treatments,
        loyalty: None,
    }
}

/// A catalogue of `propositions` propositions.
pub fn catalogue(propositions: usize, seed: u64) -> Catalogue {
    let mut rng = Rng::new(seed);
    let mut fallback_taken = [false; SEGMENTS.len()];
    let propositions: Vec<Proposition> = (0..propositions).map(|i| proposition(&mut rng, i, &mut fallback_taken)).collect();
    let used: Vec<&str> = SEGMENTS.iter().copied().filter(|s| propositions.iter().any(|p| p.segment == *s)).collect();
    let levers = used.iter().map(|s| (s.to_string(), if *s == "service" { 10.0 } else { 0.0 })).collect();
    let strategic = used.iter().filter(|s| **s == "savings").map(|s| (s.to_string(), 20.0)).collect();
    let placement = |id: &str, channel: &str, audience, max_sales, min_service, one_per_segment| Placement {
        id: id.into(),
        channel: channel.into(),
        audience,
        slots: 3,
        max_sales,
        min_service,
        one_per_segment,
    };
    Catalogue {
        schema: None,
        catalogue: format!("synthetic-{}", propositions.len()),
        version: 1,
        valid: Window { from: "2026-01-01T00:00:00Z".into(), until: "2028-01-01T00:00:00Z".into() },
        default_locale: "nl".into(),
        allowed_link_hosts: Vec::new(),
        arbitration: Arbitration {
            levers,
            strategic: Strategic { segments: strategic, propositions: BTreeMap::new() },
            ..Arbitration::default()
        },
        contact_policies: ContactPolicies::default(),
        holdout: None,
        saved_groups: Map::new(),
        placements: vec![
            placement("overview", "web", Audience::LoggedIn, Some(2), 1, true),
            placement("app-home", "app", Audience::LoggedIn, Some(2), 0, false),
            placement("homepage", "web", Audience::Any, None, 0, true),
        ],
        propositions,
    }
}

/// A logged-in customer's profile snapshot with every consent, as JSON.
pub fn profile(seed: u64) -> Value {
    let mut rng = Rng::new(seed ^ 0x5EED_0FC0_FFEE);
    let propensities: Map<String, Value> =
        (0..MODELS).map(|m| (format!("m{m}"), json!(rng.amount(0.0, 0.6)))).collect();
    json!({
        "id": format!("syn-p-{seed}"),
        "loggedIn": true,
        "attributes": {
            "age": 16 + rng.below(70),
            "holdings": rng.some(&HOLDINGS, 5),
            "income_band": rng.pick(&BANDS),
            "segments": rng.some(&GROUPS, 2),
            "in_arrears": rng.chance(0.08),
            "region": rng.pick(&REGIONS),
            "tenure_years": rng.below(30),
            "app_user": rng.chance(0.6),
        },
        "propensities": propensities,
        "consent": {"personalisation": true, "marketing": true, "analytics": true},
    })
}

/// A contact's context, as JSON.
pub fn context(seed: u64) -> Value {
    let mut rng = Rng::new(seed ^ 0xC0_47E7);
    json!({
        "page": rng.pick(&PAGES),
        "topic": rng.pick(&SEGMENTS),
        "locale": if rng.chance(0.8) { "nl-NL" } else { "en-GB" },
        "formFactor": if rng.chance(0.4) { "small" } else { "large" },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bundle::compile::compile;

    #[test]
    fn synthetic_catalogues_compile_and_are_deterministic() {
        for n in [0, 1, 100] {
            let c = catalogue(n, 7);
            assert_eq!(c.propositions.len(), n);
            let payload = compile(&c, 0).unwrap();
            assert_eq!(payload.catalogue.propositions.len(), n);
            assert_eq!(serde_json::to_string(&c).unwrap(), serde_json::to_string(&catalogue(n, 7)).unwrap());
        }
        assert_ne!(serde_json::to_string(&catalogue(10, 1)).unwrap(), serde_json::to_string(&catalogue(10, 2)).unwrap());
        for p in &catalogue(200, 3).propositions {
            let count = |v: &Option<Value>| v.as_ref().map_or(0, |v| v.get("$and").and_then(Value::as_array).map_or(1, Vec::len));
            let clauses = count(&p.eligibility) + count(&p.applicability) + count(&p.suitability) + p.context_weights.len();
            assert!((3..=6).contains(&clauses), "{}: {clauses} clauses", p.id);
        }
        assert!(crate::Profile::from_value(&profile(1)).is_ok());
        assert!(crate::Context::from_value(&context(1)).is_ok());
    }
}
