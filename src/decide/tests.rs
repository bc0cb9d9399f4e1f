//! Tests of the funnel on the sample catalogue: the rules of every stage, consent, signed
//! profiles, the knob's cost, determinism, and the errors a decision can end in.

use serde_json::{json, Value};

use super::*;
use crate::bundle::envelope::seal;
use crate::bundle::tests::{dev_key, sample_payload};
use crate::bundle::{LoadOptions, Payload, TrustedKeys};
use crate::profile::signed;
use crate::time::parse_rfc3339;
use crate::bundle::model::{HoldoutMode, Kind};
use crate::ledger::{EventKind, Ledger};
use crate::Engine;

pub(crate) const NOW: &str = "2026-12-05T09:30:00Z";

pub(crate) fn at(text: &str) -> Timestamp {
    parse_rfc3339(text, "test").unwrap()
}

/// An engine for a payload, signed with a development key and loaded at its `notBefore`.
pub(crate) fn engine_for(payload: &Payload) -> Engine {
    let key = dev_key(1);
    let mut trusted = TrustedKeys::new();
    trusted.add(&key.public_key()).unwrap();
    let bytes = seal(payload, &key).unwrap();
    Engine::load(&bytes, &LoadOptions { trusted_keys: &trusted, now: payload.not_before, min_version: None }).unwrap()
}

/// A token of the sample bundle's overview for `proposition`, treatment a, as a decision with
/// id `[n; 8]` would make it.
pub(crate) fn token_for(n: u8, proposition: &str) -> String {
    let facts = crate::decide::Token {
        decision: String::new(),
        bundle: "bank-nl-web".into(),
        bundle_version: 1,
        placement: "overview".into(),
        position: 1,
        holdout: false,
        withheld: false,
        selection_probability: 1.0,
        proposition: proposition.into(),
        treatment: "a".into(),
    };
    crate::measure::token::tracking_token(crate::decide::DecisionId([n; 8]), &facts)
}

pub(crate) fn sample_engine() -> Engine {
    engine_for(&sample_payload())
}

pub(crate) fn decide_json(engine: &Engine, placement: &str, profile: Value, context: Value, now: &str) -> Result<Decision> {
    let profile = engine.profile_from_value(&profile)?;
    let context = Context::from_value(&context)?;
    engine.decide(&DecideRequest { placement, profile: &profile, context: &context, ledger: None, now: at(now) })
}

/// The student persona's profile, with all consent.
pub(crate) fn student() -> Value {
    json!({
        "id": "p-student-01",
        "attributes": {"age": 21, "segments": ["student"], "holdings": ["payment_account", "debit_card"], "app_user": true},
        "propensities": {"student_credit": 0.35, "savings": 0.05, "cards": 0.10, "loyalty": 0.08},
        "consent": {"personalisation": true, "marketing": true, "analytics": true}
    })
}

fn overview(engine: &Engine, profile: Value) -> Decision {
    decide_json(engine, "overview", profile, json!({"page": "/overzicht"}), NOW).unwrap()
}

fn shown(d: &Decision) -> Vec<&str> {
    d.slots.iter().map(|s| s.proposition.as_str()).collect()
}

fn rule_of<'d>(d: &'d Decision, proposition: &str) -> Option<&'d TraceEntry> {
    d.trace.iter().find(|t| t.proposition == proposition)
}

fn rules(d: &Decision) -> Vec<Rule> {
    d.trace.iter().map(|t| t.rule).collect()
}

/// The payload with a change made to one proposition.
pub(crate) fn with_proposition(id: &str, change: impl FnOnce(&mut crate::bundle::model::Proposition)) -> Payload {
    let mut payload = sample_payload();
    let p = payload.catalogue.propositions.iter_mut().find(|p| p.id == id).unwrap();
    change(p);
    payload
}

#[test]
fn the_readme_worked_example() {
    // The pensioner on a savings page: Spaar Spektakel's priority, part by part.
    let engine = sample_engine();
    let pensioner = json!({
        "id": "p-pension-42",
        "attributes": {"age": 68, "holdings": ["payment_account", "debit_card", "savings", "mortgage"], "app_user": false},
        "propensities": {"mortgage_payoff": 0.25, "savings": 0.06, "loyalty": 0.09},
        "consent": {"personalisation": true, "marketing": true, "analytics": true}
    });
    let d = decide_json(&engine, "overview", pensioner, json!({"page": "/sparen", "locale": "nl-NL"}), NOW).unwrap();
    let spaar = d.slots.iter().find(|s| s.proposition == "spaar-spektakel").unwrap();
    let p = &spaar.parts;
    assert_eq!((p.p, p.propensity_source), (0.06, PropensitySource::Profile));
    assert_eq!((p.c, p.context_weights.as_slice()), (1.5, &[50.0][..]));
    assert_eq!((p.v, p.bank_value, p.customer_value), (25.0, 15.0, 10.0));
    assert_eq!((p.l, p.segment_lever, p.proposition_lever, p.strategic), (1.2, 0.0, 0.0, 20.0));
    assert!((spaar.priority - 2.7).abs() < 1e-12, "{}", spaar.priority);
    assert!((p.priority_without_knob - 2.25).abs() < 1e-12);
    assert!((p.expected_value - 1.5).abs() < 1e-12);
    let phishing = rule_of(&d, "phishing-tips").unwrap().parts.clone().unwrap();
    assert_eq!((phishing.segment_lever, phishing.l), (10.0, 1.1), "the service segment's lever");
    assert_eq!(shown(&d), ["afloswijzer", "spaar-spektakel", "rijksmuseum"]);
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    // The README's JSON example is this decision.
    assert_eq!(d.decision_id, "80d5f1863a635886");
    assert!(readme.contains(&format!("\"decisionId\": \"{}\"", d.decision_id)));
    assert!(readme.contains(&format!("\"token\": \"{}\"", spaar.token)), "README's token is {}", spaar.token);
    for line in ["P = 0.06", "C = 1 + 50 / 100 = 1.5", "V = 1 × 15 + 1 × 10 = 25", "L = 1 + (0 + 0 + 20) / 100 = 1.2", "priority = 0.06 × 1.5 × 25 × 1.2 = 2.7"] {
        assert!(readme.contains(line), "README's worked example lacks {line:?}");
    }
}

#[test]
fn every_rule_is_reached() {
    let engine = sample_engine();
    let mut reached: Vec<Rule> = Vec::new();
    // The sample catalogue with the personas' kind of profiles.
    reached.extend(rules(&overview(&engine, student())));
    let anonymous = json!({"consent": {"marketing": true}});
    reached.extend(rules(&overview(&engine, anonymous)));
    reached.extend(rules(&decide_json(&engine, "agent", student(), json!({}), NOW).unwrap()));
    reached.extend(rules(&decide_json(&engine, "overview", student(), json!({}), "2027-03-15T00:00:00Z").unwrap()));
    let mut no_marketing = student();
    no_marketing["consent"]["marketing"] = json!(false);
    reached.extend(rules(&overview(&engine, no_marketing)));
    let mut opted_out = student();
    opted_out["consent"]["channelOptOuts"] = json!(["web"]);
    reached.extend(rules(&overview(&engine, opted_out)));
    let mut arrears = student();
    arrears["attributes"]["in_arrears"] = json!(true);
    reached.extend(rules(&overview(&engine, arrears)));
    reached.extend(rules(&decide_json(&engine, "overview", student(), json!({"formFactor": "small"}), NOW).unwrap()));
    let mut zero = student();
    zero["propensities"]["cards"] = json!(0);
    reached.extend(rules(&overview(&engine, zero)));
    // Hand-made bundles for what a compiled catalogue never holds.
    let no_weight = with_proposition("can-we-help", |p| p.treatments[0].weight = 0.0);
    reached.extend(rules(&overview(&engine_for(&no_weight), student())));
    let no_dutch = with_proposition("phishing-tips", |p| p.treatments[0].creatives.retain(|c| c.locale != "nl"));
    reached.extend(rules(&overview(&engine_for(&no_dutch), student())));
    // Room for three sales: the service minimum is what keeps the third out.
    let mut roomy = sample_payload();
    roomy.catalogue.placements[0].max_sales = None;
    reached.extend(rules(&overview(&engine_for(&roomy), student())));
    // The holdout group.
    reached.extend(holdout_decisions().into_iter().flat_map(|(_, d)| rules(&d)));
    // The contact policies, through a ledger.
    reached.extend(remembered_rules(&engine));
    // Sold out by the catalogue's stock; paused by an availability overlay.
    let sold_out = with_proposition("rijksmuseum", |p| p.loyalty.as_mut().unwrap().stock = Some(0));
    reached.extend(rules(&overview(&engine_for(&sold_out), student())));
    let mut paused = sample_engine();
    let source = crate::bundle::overlay::parse_source(r#"{"bundle": "bank-nl-web", "propositions": {"phishing-tips": {"paused": "outdated advice"}}}"#).unwrap();
    let overlay = crate::bundle::overlay::build(&source, at(NOW), 60).unwrap();
    paused.apply_overlay(&crate::bundle::envelope::seal_as(&crate::bundle::overlay::OVERLAY, &overlay, &dev_key(1)).unwrap(), at(NOW)).unwrap();
    reached.extend(rules(&overview(&paused, student())));
    for rule in Rule::ALL {
        assert!(reached.contains(&rule), "no test reaches rule {}", rule.as_str());
    }
}

#[test]
fn the_service_minimum_is_reserved_not_suggested() {
    let mut roomy = sample_payload();
    roomy.catalogue.placements[0].max_sales = None;
    let d = overview(&engine_for(&roomy), student());
    assert_eq!(shown(&d), ["student-13th-month", "rijksmuseum", "phishing-tips"]);
    let green = rule_of(&d, "green-savings").unwrap();
    assert_eq!((green.stage, green.rule), (Stage::Arbitrate, Rule::ReservedForService));
    assert!(green.priority.unwrap() > d.slots[2].priority, "it outranks the service proposition that got the slot");
    assert_eq!(green.detail, "taking it would leave no room for the 1 service proposition(s) this placement reserves (minService)");
}

#[test]
fn creatives_that_do_not_exist_keep_a_proposition_off_the_screen() {
    let no_dutch = with_proposition("phishing-tips", |p| p.treatments[0].creatives.retain(|c| c.locale != "nl"));
    let d = decide_json(&engine_for(&no_dutch), "overview", student(), json!({"locale": "nl-BE"}), NOW).unwrap();
    let t = rule_of(&d, "phishing-tips").unwrap();
    assert_eq!((t.rule, &*t.detail), (Rule::NoLocaleCreative, "treatment a has no creative for nl-BE, nl"));
    // The same bundle in English: the chain reaches the English creative.
    let d = decide_json(&engine_for(&no_dutch), "overview", student(), json!({"locale": "en"}), NOW).unwrap();
    assert!(shown(&d).contains(&"phishing-tips"));
    let d = decide_json(&sample_engine(), "overview", student(), json!({"formFactor": "small"}), NOW).unwrap();
    let t = rule_of(&d, "rijksmuseum").unwrap();
    assert_eq!((t.rule, &*t.detail), (Rule::NoCompactCreative, "treatment a has no compact creative for small screens"));
    assert!(d.slots.iter().all(|s| s.creative.form_factor == FormFactor::Compact));
}

#[test]
fn consent_rules() {
    let engine = sample_engine();
    // Analytics consent changes no slot: tokens name impressions for the ledger on the device
    // too; the decision says whether measurement events may be sent.
    let mut quiet = student();
    quiet["consent"]["analytics"] = json!(false);
    let (with, without) = (overview(&engine, student()), overview(&engine, quiet));
    assert_eq!(with.slots, without.slots);
    assert!(with.consent.analytics && !without.consent.analytics);

    // A channel opt-out removes commercial propositions from that channel only.
    let mut opted_out = student();
    opted_out["consent"]["channelOptOuts"] = json!(["web"]);
    let web = overview(&engine, opted_out.clone());
    assert!(web.slots.iter().all(|s| s.kind == Kind::Service), "{:?}", shown(&web));
    assert!(web.consent.channel_opted_out);
    assert_eq!(rule_of(&web, "student-13th-month").unwrap().rule, Rule::ChannelOptOut);
    let app = decide_json(&engine, "app-home", opted_out, json!({}), NOW).unwrap();
    assert_eq!(shown(&app), ["student-13th-month", "phishing-tips"]);

    // Without personalisation the attributes and scores in the snapshot change nothing.
    let mut blind = student();
    blind["consent"]["personalisation"] = json!(false);
    let mut empty = blind.clone();
    empty["attributes"] = json!({});
    empty["propensities"] = json!({});
    let (a, b) = (overview(&engine, blind), overview(&engine, empty));
    assert_eq!(a, b);
    assert!(a.slots.iter().all(|s| s.parts.propensity_source == PropensitySource::Default));
}

#[test]
fn customer_centric_mode_and_levers() {
    let mut payload = sample_payload();
    payload.catalogue.arbitration.bank_value_weight = 0.0;
    let d = overview(&engine_for(&payload), student());
    for s in &d.slots {
        assert_eq!(s.parts.v, s.parts.customer_value, "{}: V is the customer's value alone", s.proposition);
    }
    // A lever below -100 % clamps L at 0, and a priority of 0 removes the proposition.
    let sunk = with_proposition("student-13th-month", |p| p.lever = -150.0);
    let d = overview(&engine_for(&sunk), student());
    let t = rule_of(&d, "student-13th-month").unwrap();
    assert_eq!((t.stage, t.rule), (Stage::Prioritise, Rule::ZeroPriority));
    assert_eq!(t.parts.as_ref().unwrap().l, 0.0);
    assert_eq!(t.detail, "priority P × C × V × L is 0 (L is 0: levers at -100 % or below)");
}

#[test]
fn the_knob_s_cost_is_reported() {
    // Push design-your-card hard with the knob: it displaces the Rijksmuseum deal.
    let mut payload = sample_payload();
    let design = payload.catalogue.propositions.iter().position(|p| p.id == "design-your-card").unwrap();
    payload.catalogue.propositions[design].strategic = 100.0;
    let d = overview(&engine_for(&payload), student());
    assert_eq!(shown(&d), ["student-13th-month", "design-your-card", "phishing-tips"]);
    assert_eq!(d.without_knob.propositions, ["student-13th-month", "rijksmuseum", "phishing-tips"]);
    // Σ P × V: 6.3 + 0.9 + 0.36 with the knob, 6.3 + 1.44 + 0.36 without.
    assert!((d.expected_value - 7.56).abs() < 1e-9, "{}", d.expected_value);
    assert!((d.without_knob.expected_value - 8.1).abs() < 1e-9);
    assert!((d.without_knob.knob_cost - 0.54).abs() < 1e-9);
    let table = explain::table(&d);
    assert!(table.contains("without the strategic knob: 8.100 (student-13th-month, rijksmuseum, phishing-tips); the knob costs 0.540"), "{table}");
}

#[test]
fn decisions_are_deterministic_and_replayable() {
    let engine = sample_engine();
    let a = overview(&engine, student());
    let b = overview(&sample_engine(), student());
    assert_eq!(a, b);
    assert_eq!(serde_json::to_string(&a).unwrap(), serde_json::to_string(&b).unwrap());
    let later = decide_json(&engine, "overview", student(), json!({"page": "/overzicht"}), "2026-12-05T09:30:01Z").unwrap();
    assert_ne!(a.decision_id, later.decision_id, "the decision id depends on now");
    let token = parse_token(&a.slots[0].token).unwrap();
    let slot = &a.slots[0];
    assert_eq!(
        token,
        Token {
            decision: a.decision_id.clone(),
            bundle: a.bundle_id.clone(),
            bundle_version: a.bundle_version,
            placement: "overview".into(),
            position: 1,
            holdout: false,
            withheld: false,
            selection_probability: slot.selection_probability,
            proposition: "student-13th-month".into(),
            treatment: "a".into(),
        },
        "the token carries the decision's facts"
    );
}

#[test]
fn one_profile_many_placements() {
    let engine = sample_engine();
    let profile = engine.profile_from_value(&student()).unwrap();
    let context = Context::default();
    let now = at(NOW);
    let ids: Vec<String> = engine
        .placement_ids()
        .map(|placement| engine.decide(&DecideRequest { placement, profile: &profile, context: &context, ledger: None, now }).unwrap().decision_id)
        .collect();
    assert_eq!(ids.len(), 4);
    assert!(ids.iter().enumerate().all(|(i, id)| !ids[..i].contains(id)), "one decision id per placement");
}

#[test]
fn the_json_shape() {
    let d = overview(&sample_engine(), student());
    let v = serde_json::to_value(&d).unwrap();
    for key in ["decisionId", "bundleId", "bundleVersion", "placement", "profileId", "loggedIn", "consent", "locale", "formFactor", "now", "slots", "expectedValue", "withoutKnob", "trace"] {
        assert!(v.get(key).is_some(), "decision JSON lacks {key}");
    }
    let slot = &v["slots"][0];
    assert_eq!(slot["position"], 1);
    assert_eq!(slot["kind"], "sales");
    assert_eq!(slot["creative"]["formFactor"], "large");
    for key in ["p", "c", "v", "l", "propensitySource", "contextWeights", "bankValue", "customerValue", "bankValueWeight", "customerValueWeight", "segmentLever", "propositionLever", "strategic", "expectedValue", "priorityWithoutKnob"] {
        assert!(slot["parts"].get(key).is_some(), "parts lack {key}");
    }
    assert!(slot.get("note").is_none() && slot["fallback"] == false);
    let entry = v["trace"].as_array().unwrap().iter().find(|t| t["proposition"] == "kids-savings").unwrap();
    assert_eq!(entry["stage"], "select");
    assert_eq!(entry["rule"], "eligibility");
    assert!(entry.get("priority").is_none());
    assert_eq!(v["placement"]["audience"], "logged_in");
    assert_eq!(v["withoutKnob"]["knobCost"], 0.0);
}

#[test]
fn the_explain_table() {
    let table = explain::table(&overview(&sample_engine(), student()));
    let lines: Vec<&str> = table.lines().collect();
    assert!(lines[0].starts_with("decision ") && lines[0].ends_with("bank-nl-web v1  at 2026-12-05T09:30:00Z"), "{table}");
    assert_eq!(lines[1], "placement overview: channel web, logged-in, 3 slot(s), at most 2 sales/loyalty, 1 reserved for service, one per segment");
    assert!(lines[4].starts_with("#  proposition"), "{table}");
    assert!(lines[5].starts_with("1  student-13th-month  sales    loans         6.300  0.350  1.00  18.0  1.00  shown: treatment a (split), nl large"), "{table}");
    assert!(table.contains("-  green-savings       sales    savings       1.200  0.050  1.00  20.0  1.20  arbitrate / max_sales: at most 2 sales and loyalty propositions (maxSales), all taken"), "{table}");
    assert!(table.contains("-  kids-savings        sales    savings           -      -     -     -     -  select / eligibility:"), "{table}");
    assert_eq!(lines.len(), 4 + 1 + 11 + 1 + 2, "{table}");
}

#[test]
fn errors_a_decision_can_end_in() {
    let engine = sample_engine();
    let code = |r: Result<Decision>| r.unwrap_err();
    let e = code(decide_json(&engine, "sidebar", student(), json!({}), NOW));
    assert_eq!(e.to_string(), "placement: no placement \"sidebar\" in this bundle (placements: overview, homepage, app-home, agent)");
    let e = code(decide_json(&engine, "overview", student(), json!({"channel": "app"}), NOW));
    assert_eq!(e.to_string(), "context.channel: placement overview is in channel web, not app");
    assert!(decide_json(&engine, "overview", student(), json!({"channel": "web", "placement": "overview"}), NOW).is_ok());
    let e = code(decide_json(&engine, "overview", student(), json!({"placement": "homepage"}), NOW));
    assert_eq!(e.code(), "invalid_argument");
    assert_eq!(code(decide_json(&engine, "overview", student(), json!({}), "2027-06-01T00:00:00Z")).code(), "expired");
    assert_eq!(code(decide_json(&engine, "overview", student(), json!({}), "2026-10-01T00:00:00Z")).code(), "not_yet_valid");

    let mut stale = student();
    stale["issuedAt"] = json!("2026-12-04T09:00:00Z");
    stale["expiresAt"] = json!("2026-12-05T09:00:00Z");
    let e = code(decide_json(&engine, "overview", stale, json!({}), NOW));
    assert_eq!(e, Error::ProfileExpired { expires_at: "2026-12-05T09:00:00Z".into(), now: NOW.into() });
    let mut early = student();
    early["issuedAt"] = json!("2026-12-05T09:36:00Z");
    let e = code(decide_json(&engine, "overview", early.clone(), json!({}), NOW));
    assert!(e.to_string().starts_with("profile.issuedAt: issued in the future"), "{e}");
    early["issuedAt"] = json!("2026-12-05T09:34:00Z");
    assert!(decide_json(&engine, "overview", early, json!({}), NOW).is_ok(), "five minutes of clock skew are tolerated");

    // A context built in Rust is checked as well.
    let profile = engine.profile_from_value(&student()).unwrap();
    let context = Context { page: Some("/x?mail=jan@example.nl".into()), ..Context::default() };
    let e = engine.decide(&DecideRequest { placement: "overview", profile: &profile, context: &context, ledger: None, now: at(NOW) }).unwrap_err();
    assert_eq!(e.code(), "personal_data");
}

#[test]
fn signed_profiles_when_the_engine_requires_them() {
    let mut engine = sample_engine();
    let bank = dev_key(9);
    let mut keys = TrustedKeys::new();
    keys.add(&bank.public_key()).unwrap();
    let snapshot = serde_json::to_string(&student()).unwrap();
    let wrapper = signed::sign(snapshot.as_bytes(), &bank).unwrap();

    // Not required: both forms are accepted, a signed one only with a trusted key.
    assert!(engine.parse_profile(&snapshot).is_ok());
    assert_eq!(engine.parse_profile(&wrapper).unwrap_err().code(), "bad_profile_signature");

    engine.set_profile_policy(ProfilePolicy { trusted_keys: keys, require_signed: true });
    let profile = engine.parse_profile(&wrapper).unwrap();
    assert_eq!(profile.signed_by(), Some(bank.key_id()));
    let context = Context::default();
    let request = |profile| DecideRequest { placement: "overview", profile, context: &context, ledger: None, now: at(NOW) };
    assert_eq!(shown(&engine.decide(&request(&profile)).unwrap()), ["student-13th-month", "rijksmuseum", "phishing-tips"]);

    // Unsigned: refused when parsed, and when a profile parsed elsewhere reaches decide.
    let err = engine.parse_profile(&snapshot).unwrap_err();
    assert_eq!(err.code(), "unsigned_profile");
    let bare = Profile::parse(&snapshot).unwrap();
    assert_eq!(engine.decide(&request(&bare)).unwrap_err().code(), "unsigned_profile");

    // Tampered: one attribute changed inside the signed bytes.
    let mut tampered: Value = serde_json::from_str(&wrapper).unwrap();
    let altered = snapshot.replace("\"age\":21", "\"age\":12");
    assert_ne!(altered, snapshot);
    tampered["snapshot"] = json!(base64::Engine::encode(&base64::engine::general_purpose::STANDARD, altered));
    assert_eq!(engine.profile_from_value(&tampered).unwrap_err().code(), "bad_profile_signature");

    // Signed by a key the engine stopped trusting.
    let other = dev_key(10);
    let mut old_keys = TrustedKeys::new();
    old_keys.add(&other.public_key()).unwrap();
    let by_other = ProfilePolicy { trusted_keys: old_keys, require_signed: true }
        .parse(&signed::sign(snapshot.as_bytes(), &other).unwrap())
        .unwrap();
    let err = engine.decide(&request(&by_other)).unwrap_err();
    assert_eq!(err.code(), "bad_profile_signature");
}


/// Decides the student's overview with a ledger.
fn overview_with(engine: &Engine, ledger: &Ledger, now: &str) -> Decision {
    let profile = engine.profile_from_value(&student()).unwrap();
    let context = Context::from_value(&json!({"page": "/overzicht"})).unwrap();
    engine.decide(&DecideRequest { placement: "overview", profile: &profile, context: &context, ledger: Some(ledger), now: at(now) }).unwrap()
}

/// Records `kind` for the slot of `proposition` in decision `d`.
fn respond(engine: &Engine, ledger: &mut Ledger, d: &Decision, proposition: &str, kind: EventKind, now: &str) {
    let slot = d.slots.iter().find(|s| s.proposition == proposition).expect("shown");
    engine.record(ledger, kind, &slot.token, at(now), None).unwrap();
}

/// Each contact-policy rule, reached through what the customer did.
fn remembered_rules(engine: &Engine) -> Vec<Rule> {
    let mut reached = Vec::new();
    let first = overview_with(engine, &Ledger::new("bank-nl-web"), NOW);
    for (kind, proposition) in [(EventKind::Dismiss, "student-13th-month"), (EventKind::Convert, "rijksmuseum")] {
        let mut ledger = Ledger::new("bank-nl-web");
        respond(engine, &mut ledger, &first, proposition, kind, NOW);
        reached.extend(rules(&overview_with(engine, &ledger, "2026-12-05T10:00:00Z")));
    }
    // Shown on seven days without a click: the 5-in-7-days cap, then the rest after 8 ignored.
    let mut ledger = Ledger::new("bank-nl-web");
    for day in 0..8 {
        let now = format!("2026-12-{:02}T09:30:00Z", 5 + day);
        let d = overview_with(engine, &ledger, &now);
        for slot in &d.slots {
            engine.record(&mut ledger, EventKind::Impression, &slot.token, at(&now), None).unwrap();
        }
        reached.extend(rules(&d));
    }
    reached.extend(rules(&overview_with(engine, &ledger, "2026-12-20T09:30:00Z")));
    // Six sales impressions today: the daily sales cap.
    let mut ledger = Ledger::new("bank-nl-web");
    for (i, p) in ["green-savings", "kids-savings", "design-your-card", "spaar-spektakel", "student-13th-month", "rijksmuseum"].iter().enumerate() {
        let token = token_for(i as u8, p);
        engine.record(&mut ledger, EventKind::Impression, &token, at(NOW), None).unwrap();
    }
    reached.extend(rules(&overview_with(engine, &ledger, "2026-12-05T10:00:00Z")));
    reached
}

#[test]
fn a_dismissed_banner_does_not_come_back() {
    let engine = sample_engine();
    let mut ledger = Ledger::new("bank-nl-web");
    let before = overview_with(&engine, &ledger, NOW);
    assert_eq!(shown(&before), ["student-13th-month", "rijksmuseum", "phishing-tips"]);
    respond(&engine, &mut ledger, &before, "student-13th-month", EventKind::Dismiss, NOW);
    // Re-sending the same dismissal (a double click, a retry) changes nothing.
    respond(&engine, &mut ledger, &before, "student-13th-month", EventKind::Dismiss, NOW);
    let after = overview_with(&engine, &ledger, "2026-12-05T09:31:00Z");
    assert!(!shown(&after).contains(&"student-13th-month"), "{:?}", shown(&after));
    let t = rule_of(&after, "student-13th-month").unwrap();
    assert_eq!((t.stage, t.rule), (Stage::Select, Rule::DismissCooldown));
    assert_eq!(t.detail, "not interested at 2026-12-05T09:30:00Z; cool-down until 2027-01-04T09:30:00Z");
    // After the 30-day cool-down it may come back.
    let later = overview_with(&engine, &ledger, "2027-01-04T09:30:00Z");
    assert!(shown(&later).contains(&"student-13th-month"), "{:?}", shown(&later));
}

#[test]
fn an_accepted_offer_stops_being_offered() {
    let engine = sample_engine();
    let mut ledger = Ledger::new("bank-nl-web");
    let before = overview_with(&engine, &ledger, NOW);
    respond(&engine, &mut ledger, &before, "rijksmuseum", EventKind::Convert, NOW);
    let after = overview_with(&engine, &ledger, "2027-02-01T00:00:00Z");
    assert_eq!(rule_of(&after, "rijksmuseum").map(|t| t.rule), Some(Rule::Converted));
}

#[test]
fn recording_checks_the_token_against_the_bundle() {
    let engine = sample_engine();
    let mut ledger = Ledger::new("bank-nl-web");
    let stranger = token_for(1, "not-in-bundle");
    let e = engine.record(&mut ledger, EventKind::Click, &stranger, at(NOW), None).unwrap_err();
    assert_eq!(e.code(), "invalid_argument");
    assert!(e.to_string().contains("not-in-bundle"), "{e}");
    assert_eq!(engine.record(&mut ledger, EventKind::Click, "garbage!", at(NOW), None).unwrap_err().code(), "invalid_argument");
    assert!(ledger.is_empty());
}

#[test]
fn measurement_needs_analytics_consent() {
    let engine = sample_engine();
    let d = overview(&engine, student());
    let token = &d.slots[0].token;
    let with = engine.profile_from_value(&student()).unwrap();
    let mut no_analytics = student();
    no_analytics["consent"]["analytics"] = json!(false);
    let without = engine.profile_from_value(&no_analytics).unwrap();
    let mut ledger = Ledger::new("bank-nl-web");
    let out = engine.record(&mut ledger, EventKind::Click, token, at(NOW), Some(&with)).unwrap();
    let m = out.measurement.expect("analytics consent gives a measurement event");
    assert_eq!((m.decision_id.as_str(), m.proposition.as_str(), m.subject.as_str()), (d.decision_id.as_str(), "student-13th-month", "p-student-01"));
    assert_eq!(serde_json::to_value(&m).unwrap()["event"], "click");
    let mut fresh = Ledger::new("bank-nl-web");
    assert!(engine.record(&mut fresh, EventKind::Click, token, at(NOW), Some(&without)).unwrap().measurement.is_none());
    // A duplicate is not measured twice either.
    assert!(engine.record(&mut ledger, EventKind::Click, token, at(NOW), Some(&with)).unwrap().measurement.is_none());
}

#[test]
fn without_the_trace_the_decision_is_the_same() {
    let engine = sample_engine();
    let profile = engine.profile_from_value(&student()).unwrap();
    let context = Context::from_value(&json!({"page": "/overzicht"})).unwrap();
    let request = DecideRequest { placement: "overview", profile: &profile, context: &context, ledger: None, now: at(NOW) };
    let full = engine.decide(&request).unwrap();
    let lean = engine.decide_without_trace(&request).unwrap();
    assert!(!full.trace.is_empty());
    assert!(lean.trace.is_empty());
    assert_eq!(Decision { trace: Vec::new(), ..full }, lean);
}


/// A student-like profile id that falls in the sample catalogue's 2% holdout group.
fn held_out_student() -> Value {
    let holdout = sample_payload().catalogue.holdout.unwrap();
    let id = (0..).map(|i| format!("p-held-{i}")).find(|id| holdout::is_member(Some(&holdout), Some(id))).unwrap();
    let mut profile = student();
    profile["id"] = json!(id);
    profile
}

/// The held-out student's overview decision under each holdout mode.
fn holdout_decisions() -> Vec<(HoldoutMode, Decision)> {
    [HoldoutMode::NoSales, HoldoutMode::Fallbacks, HoldoutMode::Random]
        .into_iter()
        .map(|mode| {
            let mut payload = sample_payload();
            if let Some(h) = payload.catalogue.holdout.as_mut() {
                h.mode = mode;
            }
            (mode, overview(&engine_for(&payload), held_out_student()))
        })
        .collect()
}

#[test]
fn the_holdout_group_gets_what_the_catalogue_says() {
    let engine = sample_engine();
    assert!(!overview(&engine, student()).holdout);
    for (mode, d) in holdout_decisions() {
        assert!(d.holdout, "{mode:?}");
        match mode {
            HoldoutMode::NoSales => {
                assert!(d.slots.iter().all(|s| s.kind == Kind::Service), "{:?}", shown(&d));
                assert_eq!(rule_of(&d, "student-13th-month").map(|t| t.rule), Some(Rule::Holdout));
            }
            HoldoutMode::Fallbacks => {
                assert!(!d.slots.is_empty());
                assert!(d.slots.iter().all(|s| ["can-we-help", "green-savings"].contains(&s.proposition.as_str())), "{:?}", shown(&d));
            }
            HoldoutMode::Random => {
                assert_eq!(d.slots.len(), 1, "{:?}", shown(&d));
                assert!(d.trace.iter().filter(|t| t.rule == Rule::Holdout).count() >= 2);
            }
        }
    }
    // The same inputs pick the same random proposition.
    let again = holdout_decisions();
    assert_eq!(shown(&again[2].1), shown(&holdout_decisions()[2].1));
}

#[test]
fn measurement_of_a_held_out_customer_says_so() {
    let engine = sample_engine();
    let d = overview(&engine, held_out_student());
    let profile = engine.profile_from_value(&held_out_student()).unwrap();
    let mut ledger = Ledger::new("bank-nl-web");
    let m = engine.record(&mut ledger, EventKind::Impression, &d.slots[0].token, at(NOW), Some(&profile)).unwrap().measurement.unwrap();
    assert!(m.holdout);
}

#[test]
fn sampled_propensities_draw_p_from_the_shown_treatment() {
    let mut payload = sample_payload();
    payload.catalogue.arbitration.sampled_propensities = true;
    for p in &mut payload.catalogue.propositions {
        p.treatments[0].alpha = 4.0;
        p.treatments[0].beta = 36.0;
    }
    let engine = engine_for(&payload);
    let p_of = |id: &str, now: &str| {
        let mut profile = student();
        profile["id"] = json!(id);
        let d = decide_json(&engine, "overview", profile, json!({"page": "/overzicht"}), now).unwrap();
        assert!(d.slots.iter().all(|s| s.parts.propensity_source == PropensitySource::Sampled));
        d.slots[0].parts.p
    };
    // Stable for a customer within a day, different between customers.
    assert_eq!(p_of("p-1", NOW), p_of("p-1", "2026-12-05T18:00:00Z"));
    let draws: Vec<f64> = (0..200).map(|i| p_of(&format!("p-{i}"), NOW)).collect();
    let mean = draws.iter().sum::<f64>() / draws.len() as f64;
    // Beta(4, 36) has mean 0.1; the first slot's draws are the ones arbitration favoured (the
    // higher ones), so their mean is only bounded loosely. The draws must differ.
    assert!(mean > 0.05 && mean < 0.3, "{mean}");
    assert!(draws.iter().any(|&x| x != draws[0]));
    // Without the option P is the profile's score, as before.
    let d = overview(&sample_engine(), student());
    assert_eq!(d.slots[0].parts.propensity_source, PropensitySource::Profile);
}

#[test]
fn conditions_come_before_contact_policies() {
    // Six sales impressions today reach the daily sales cap; kids-savings is still reported as
    // not eligible for a student without children, which is why it is not shown.
    let engine = sample_engine();
    let mut ledger = Ledger::new("bank-nl-web");
    for (i, p) in ["green-savings", "kids-savings", "design-your-card", "spaar-spektakel", "student-13th-month", "rijksmuseum"].iter().enumerate() {
        let token = token_for(i as u8, p);
        engine.record(&mut ledger, EventKind::Impression, &token, at(NOW), None).unwrap();
    }
    let d = overview_with(&engine, &ledger, "2026-12-05T10:00:00Z");
    assert_eq!(rule_of(&d, "kids-savings").map(|t| t.rule), Some(Rule::Eligibility));
    // The student may have the 13th month: the cap is what keeps it away.
    assert_eq!(rule_of(&d, "student-13th-month").map(|t| t.rule), Some(Rule::SalesPerDay));
}

#[test]
fn conditions_read_the_profile_s_id() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/www/catalogue.json");
    let mut catalogue: Value = serde_json::from_str(&crate::bundle::compile::read_catalogue_file(path).unwrap()).unwrap();
    catalogue["savedGroups"] = json!({"vips": ["p-student-01"]});
    for p in catalogue["propositions"].as_array_mut().unwrap() {
        if p["id"] == "kids-savings" {
            p["eligibility"] = json!({"id": {"$inGroup": "vips"}});
        }
    }
    let payload = crate::bundle::compile::compile_json(&catalogue.to_string(), at("2026-11-23T12:00:00Z")).unwrap();
    let engine = engine_for(&payload);
    let vip = overview(&engine, student());
    assert_ne!(rule_of(&vip, "kids-savings").map(|t| t.rule), Some(Rule::Eligibility), "{:?}", rule_of(&vip, "kids-savings"));
    let mut someone_else = student();
    someone_else["id"] = json!("p-student-02");
    assert_eq!(rule_of(&overview(&engine, someone_else), "kids-savings").map(|t| t.rule), Some(Rule::Eligibility));
    // Without personalisation consent the id is as unseen as every attribute.
    let mut no_consent = student();
    no_consent["consent"]["personalisation"] = json!(false);
    assert_eq!(rule_of(&overview(&engine, no_consent), "kids-savings").map(|t| t.rule), Some(Rule::Eligibility));
}
