//! Property tests: random catalogues, profiles and contexts, and what must hold for every
//! decision. Never a panic or an error for valid inputs; never a duplicate; never more than N
//! slots; every proposition in a slot or in the trace, once; the sales maximum and the service
//! reservation; one per segment; consent; fallbacks only from fallback propositions; the
//! priority is its parts' product; determinism. And: no input, however malformed, makes
//! profile or context parsing panic.

use proptest::prelude::*;
use proptest::sample::subsequence;
use serde_json::{json, Map, Value};

use super::tests::{at, engine_for};
use super::*;
use crate::bundle::compile::compile_json;

const SEGMENTS: [&str; 4] = ["savings", "payments", "loans", "service"];
const CHANNELS: [&str; 2] = ["web", "app"];
const HOLDINGS: [&str; 4] = ["savings", "payment_account", "mortgage", "green_savings"];

/// A condition from a small grammar over the attributes profiles carry and the context.
fn clause() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        (0i64..90).prop_map(|n| json!({"age": {"$gte": n}})),
        subsequence(HOLDINGS.to_vec(), 1..3).prop_map(|h| json!({"holdings": {"$in": h}})),
        subsequence(HOLDINGS.to_vec(), 1..3).prop_map(|h| json!({"holdings": {"$nin": h}})),
        Just(json!({"in_arrears": {"$ne": true}})),
        Just(json!({"segments": "student"})),
        (0i64..5000).prop_map(|n| json!({"income": {"$lt": n}})),
        Just(json!({"app_user": true})),
        Just(json!({"age": {"$exists": false}})),
        Just(json!({"context.page": {"$regex": "^/sparen"}})),
        Just(json!({"context.formFactor": "small"})),
        Just(json!({"context.loggedIn": true})),
    ];
    leaf.prop_recursive(2, 6, 3, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 1..4).prop_map(|cs| json!({"$or": cs})),
            prop::collection::vec(inner, 1..4).prop_map(|cs| json!({"$and": cs})),
        ]
    })
}

fn creative(title: &str) -> Value {
    json!({"title": title, "body": "b", "cta": "c", "href": "/x"})
}

prop_compose! {
    fn treatment()(
        weight in prop_oneof![Just(0.0), 0.1f64..3.0],
        beta in (0.5f64..20.0, 0.5f64..20.0),
        en in any::<bool>(),
        compact_nl in prop::bool::weighted(0.7),
        compact_en in any::<bool>(),
    ) -> Value {
        let mut creative_map = Map::new();
        creative_map.insert("nl".into(), creative("nl"));
        if en {
            creative_map.insert("en".into(), creative("en"));
        }
        let mut compact = Map::new();
        if compact_nl {
            compact.insert("nl".into(), creative("nl compact"));
        }
        if compact_en {
            compact.insert("en".into(), creative("en compact"));
        }
        json!({"id": "t", "weight": weight, "beta": [beta.0, beta.1], "creative": creative_map, "compact": compact})
    }
}

prop_compose! {
    fn proposition(i: usize)(
        segment in 0..SEGMENTS.len(),
        kind in prop_oneof![3 => Just("sales"), 3 => Just("service"), 1 => Just("loyalty")],
        channels in prop_oneof![2 => Just(CHANNELS.to_vec()), 1 => subsequence(CHANNELS.to_vec(), 1)],
        window in prop::option::weighted(0.25, (0i64..200, 1i64..200)),
        conditions in (prop::option::weighted(0.4, clause()), prop::option::weighted(0.4, clause()), prop::option::weighted(0.3, clause())),
        weights in prop::collection::vec((clause(), -150.0f64..150.0), 0..3),
        value in (0.0f64..20.0, 0.0f64..20.0),
        model in prop::option::of(prop_oneof![Just("m1"), Just("m2"), Just("m3")]),
        default in prop_oneof![1 => Just(0.0), 6 => 0.0f64..=1.0],
        lever in -120.0f64..60.0,
        flags in (any::<bool>(), any::<bool>()),
        treatments in prop::collection::vec(treatment(), 1..4),
    ) -> Value {
        let (eligibility, applicability, suitability) = conditions;
        let (fallback, bandit) = flags;
        let mut treatments = treatments;
        for (t, treatment) in treatments.iter_mut().enumerate() {
            treatment["id"] = json!(format!("t{t}"));
        }
        // A compiled catalogue needs one treatment with a weight.
        treatments[0]["weight"] = json!(1.0);
        let mut p = json!({
            "id": format!("p{i}"), "segment": SEGMENTS[segment], "kind": kind, "channels": channels,
            "value": {"bank": value.0, "customer": value.1},
            "propensity": {"default": default},
            "lever": lever, "fallback": fallback,
            "assignment": if bandit { "bandit" } else { "split" },
            "contextWeights": weights.into_iter().map(|(when, weight)| json!({"when": when, "weight": weight})).collect::<Vec<_>>(),
            "treatments": treatments,
        });
        if let Some(m) = model {
            p["propensity"]["model"] = json!(m);
        }
        for (field, c) in [("eligibility", eligibility), ("applicability", applicability), ("suitability", suitability)] {
            if let Some(c) = c {
                p[field] = c;
            }
        }
        if let Some((start, length)) = window {
            let from = at("2026-11-01T00:00:00Z") + start * 86_400;
            p["valid"] = json!({"from": crate::time::format_rfc3339(from), "until": crate::time::format_rfc3339(from + length * 86_400)});
        }
        p
    }
}

prop_compose! {
    fn placement(i: usize)(
        channel in 0..CHANNELS.len(),
        audience in prop_oneof![1 => Just("logged_in"), 1 => Just("logged_off"), 2 => Just("any")],
        slots in 1u8..=5,
        one_per_segment in any::<bool>(),
        limits in (0u8..=5, 0u8..=5, any::<bool>()),
    ) -> Value {
        let mut p = json!({"id": format!("pl{i}"), "channel": CHANNELS[channel], "audience": audience,
                           "slots": slots, "onePerSegment": one_per_segment, "minService": limits.0.min(slots)});
        if limits.2 {
            p["maxSales"] = json!(limits.1.min(slots));
        }
        p
    }
}

prop_compose! {
    /// A catalogue that compiles: 0 to 39 propositions, 1 to 3 placements, levers and knobs on
    /// the segments in use.
    fn catalogue()(n in prop_oneof![1 => 0usize..3, 4 => 5usize..40], placements in 1usize..4)(
        propositions in (0..n).map(proposition).collect::<Vec<_>>(),
        placements in (0..placements).map(placement).collect::<Vec<_>>(),
        weights in (0.0f64..2.0, 0.1f64..2.0),
        levers in prop::collection::vec(-50.0f64..50.0, SEGMENTS.len()),
        knobs in prop::collection::vec(prop_oneof![Just(0.0), -40.0f64..80.0], SEGMENTS.len()),
        proposition_knob in prop::option::of((0usize..40, -50.0f64..120.0)),
    ) -> Value {
        let mut propositions = propositions;
        // At most one fallback per segment.
        let mut seen = Vec::new();
        for p in &mut propositions {
            if p["fallback"] == true {
                let segment = p["segment"].clone();
                if seen.contains(&segment) {
                    p["fallback"] = json!(false);
                } else {
                    seen.push(segment);
                }
            }
        }
        let used: Vec<usize> = (0..SEGMENTS.len()).filter(|&s| propositions.iter().any(|p| p["segment"] == SEGMENTS[s])).collect();
        let levers: Map<String, Value> = used.iter().map(|&s| (SEGMENTS[s].to_string(), json!(levers[s]))).collect();
        let knobs: Map<String, Value> = used.iter().map(|&s| (SEGMENTS[s].to_string(), json!(knobs[s]))).collect();
        let mut by_proposition = Map::new();
        if let Some((i, knob)) = proposition_knob.filter(|(i, _)| *i < propositions.len()) {
            by_proposition.insert(format!("p{i}"), json!(knob));
        }
        json!({
            "catalogue": "random", "version": 1,
            "valid": {"from": "2026-11-01T00:00:00Z", "until": "2027-06-01T00:00:00Z"},
            "defaultLocale": "nl",
            "arbitration": {"bankValueWeight": weights.0, "customerValueWeight": weights.1, "levers": levers,
                            "strategic": {"segments": knobs, "propositions": by_proposition}},
            "placements": placements, "propositions": propositions,
        })
    }
}

prop_compose! {
    fn profile()(
        id in prop::option::of("[a-z]{1,6}-[0-9]{1,4}"),
        logged_in in prop::option::of(prop::bool::weighted(0.7)),
        age in prop::option::of(10i64..95),
        holdings in subsequence(HOLDINGS.to_vec(), 0..=4),
        flags in (any::<bool>(), any::<bool>(), any::<bool>()),
        income in prop::option::of(0i64..8000),
        scores in prop::collection::vec(prop::option::of(0.0f64..=1.0), 3),
        consent in (prop::bool::weighted(0.8), prop::bool::weighted(0.8), any::<bool>()),
        opt_outs in prop_oneof![4 => Just(Vec::new()), 1 => subsequence(CHANNELS.to_vec(), 1..=2)],
    ) -> Value {
        let mut attributes = json!({"holdings": holdings, "in_arrears": flags.0, "app_user": flags.1});
        if flags.2 {
            attributes["segments"] = json!(["student"]);
        }
        if let Some(age) = age {
            attributes["age"] = json!(age);
        }
        if let Some(income) = income {
            attributes["income"] = json!(income);
        }
        let propensities: Map<String, Value> = scores.iter().enumerate()
            .filter_map(|(i, s)| s.map(|s| (format!("m{}", i + 1), json!(s)))).collect();
        let mut p = json!({"attributes": attributes, "propensities": propensities,
            "consent": {"personalisation": consent.0, "marketing": consent.1, "analytics": consent.2, "channelOptOuts": opt_outs}});
        if let Some(id) = id {
            p["id"] = json!(id);
        }
        if let Some(logged_in) = logged_in {
            p["loggedIn"] = json!(logged_in);
        }
        p
    }
}

prop_compose! {
    fn context()(
        page in prop::option::of(prop_oneof![Just("/sparen"), Just("/overzicht"), Just("/en/savings")]),
        locale in prop::option::of(prop_oneof![Just("nl"), Just("nl-NL"), Just("en-GB"), Just("de")]),
        small in any::<bool>(),
    ) -> Value {
        let mut c = json!({"formFactor": if small { "small" } else { "large" }});
        if let Some(page) = page {
            c["page"] = json!(page);
        }
        if let Some(locale) = locale {
            c["locale"] = json!(locale);
        }
        c
    }
}

/// Checks every property of one decision.
fn check(catalogue: &Value, profile_json: &Value, d: &Decision) -> Result<(), TestCaseError> {
    let propositions = catalogue["propositions"].as_array().unwrap();
    let source = |id: &str| propositions.iter().find(|p| p["id"] == id).unwrap();
    let n = usize::from(d.placement.slots);
    prop_assert!(d.slots.len() <= n);
    let mut ids: Vec<&str> = d.slots.iter().map(|s| s.proposition.as_str()).chain(d.trace.iter().map(|t| t.proposition.as_str())).collect();
    prop_assert_eq!(ids.len(), propositions.len(), "every proposition is in a slot or in the trace");
    ids.sort_unstable();
    ids.dedup();
    prop_assert_eq!(ids.len(), propositions.len(), "no proposition twice");

    let service = d.slots.iter().filter(|s| s.kind == Kind::Service).count();
    let sales = d.slots.len() - service;
    let min_service = usize::from(d.placement.min_service);
    prop_assert!(sales <= usize::from(d.placement.max_sales), "maxSales");
    prop_assert!(sales <= n - min_service, "the service minimum is reserved");
    if service < min_service {
        // The reserved slots stayed empty because no service proposition could take them.
        for t in d.trace.iter().filter(|t| t.kind == Kind::Service && t.stage == Stage::Arbitrate) {
            prop_assert_eq!(t.rule, Rule::OnePerSegment, "{} lost a reserved slot", t.proposition);
        }
    }
    if d.placement.one_per_segment {
        let mut segments: Vec<&str> = d.slots.iter().map(|s| s.segment.as_str()).collect();
        segments.sort_unstable();
        segments.dedup();
        prop_assert_eq!(segments.len(), d.slots.len(), "one per segment");
    }

    let consent = &profile_json["consent"];
    if consent["marketing"] == false || d.consent.channel_opted_out {
        prop_assert!(d.slots.iter().all(|s| s.kind == Kind::Service), "only service without marketing consent or in an opted-out channel");
    }
    if consent["personalisation"] == false {
        prop_assert!(d.slots.iter().all(|s| s.parts.propensity_source == PropensitySource::Default));
    }
    prop_assert_eq!(d.consent.analytics, consent["analytics"] == true);
    for s in &d.slots {
        let token = parse_token(&s.token).unwrap();
        prop_assert_eq!((&token.decision, &token.proposition), (&d.decision_id, &s.proposition));
    }

    let mut seen_fallback = false;
    let mut last = f64::INFINITY;
    for s in &d.slots {
        let p = &s.parts;
        prop_assert!(s.priority > 0.0 && p.c >= 0.0 && p.l >= 0.0);
        prop_assert!((p.p * p.c * p.v * p.l - s.priority).abs() <= 1e-9 * s.priority.max(1.0));
        if s.fallback {
            prop_assert!(source(&s.proposition)["fallback"] == true, "only fallback propositions fill as fallbacks");
            seen_fallback = true;
        } else {
            prop_assert!(!seen_fallback, "fallbacks come after the ranked slots");
            prop_assert!(s.priority <= last, "slots in order of priority");
            last = s.priority;
        }
        let form = if d.form_factor == Screen::Small { FormFactor::Compact } else { FormFactor::Large };
        prop_assert_eq!(s.creative.form_factor, form);
    }
    for t in &d.trace {
        let stage = match t.rule {
            Rule::ZeroPriority => Stage::Prioritise,
            Rule::Outranked | Rule::OnePerSegment | Rule::MaxSales | Rule::ReservedForService => Stage::Arbitrate,
            _ => Stage::Select,
        };
        prop_assert_eq!(t.stage, stage);
    }
    let knobs_off = catalogue["arbitration"]["strategic"]["segments"].as_object().unwrap().values().all(|v| v == 0.0)
        && catalogue["arbitration"]["strategic"]["propositions"].as_object().unwrap().is_empty();
    if knobs_off {
        let shown: Vec<&String> = d.slots.iter().map(|s| &s.proposition).collect();
        prop_assert_eq!(d.without_knob.propositions.iter().collect::<Vec<_>>(), shown);
        prop_assert_eq!(d.without_knob.knob_cost, 0.0);
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn every_decision_keeps_the_rules(
        catalogue in catalogue(),
        cases in prop::collection::vec((profile(), context(), 0i64..212), 1..5),
    ) {
        let payload = compile_json(&catalogue.to_string(), 0).map_err(|e| TestCaseError::fail(format!("generator made an invalid catalogue: {e}")))?;
        let engine = engine_for(&payload);
        let placements: Vec<String> = engine.placement_ids().map(str::to_string).collect();
        for (profile_json, context_json, day) in &cases {
            let profile = engine.profile_from_value(profile_json).unwrap();
            let context = Context::from_value(context_json).unwrap();
            let now = at("2026-11-01T00:00:00Z") + day * 86_400 + 3_600;
            for placement in &placements {
                let request = DecideRequest { placement, profile: &profile, context: &context, ledger: None, now };
                let d = engine.decide(&request);
                prop_assert!(d.is_ok(), "{:?}", d);
                let d = d.unwrap();
                check(&catalogue, profile_json, &d)?;
                prop_assert_eq!(&engine.decide(&request).unwrap(), &d, "deterministic");
                if profile_json["consent"]["personalisation"] == false {
                    let mut bare = profile_json.clone();
                    bare["attributes"] = json!({});
                    bare["propensities"] = json!({});
                    let bare = engine.profile_from_value(&bare).unwrap();
                    let same = engine.decide(&DecideRequest { profile: &bare, ..request }).unwrap();
                    prop_assert_eq!(same, d, "without personalisation consent the profile's attributes and scores change nothing");
                }
            }
        }
    }

    #[test]
    fn parsing_never_panics(value in arbitrary_json(), text in ".{0,64}") {
        let _ = crate::Profile::from_value(&value);
        let _ = Context::from_value(&value);
        let _ = crate::Profile::parse(&text);
        let _ = Context::parse(&text);
        let _ = crate::ProfilePolicy::default().from_value(&value);
        let _ = parse_token(&text);
        let wrapped = json!({"attributes": value, "propensities": {}, "consent": {}});
        let _ = crate::Profile::from_value(&wrapped);
    }

    #[test]
    fn e_mail_addresses_never_pass(local in "[a-z][a-z0-9.]{0,8}", host in "[a-z]{1,8}", tld in "[a-z]{2,4}", before in "[a-z ]{0,6}", after in "[ ,;]{0,2}[a-z ]{0,6}") {
        let text = format!("{before}{local}@{host}.{tld}{after}");
        let err = crate::Profile::from_value(&json!({"attributes": {"note": text}})).unwrap_err();
        prop_assert_eq!(err.code(), "personal_data");
    }
}

/// Any JSON value, a few levels deep.
fn arbitrary_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_filter("finite", |x| x.is_finite()).prop_map(Value::from),
        ".{0,20}".prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 32, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::from),
            prop::collection::vec((prop_oneof![Just("id".to_string()), Just("attributes".to_string()), Just("consent".to_string()), Just("page".to_string()), "[a-zA-Z]{1,8}"], inner), 0..6)
                .prop_map(|kv| Value::Object(kv.into_iter().collect())),
        ]
    })
}
