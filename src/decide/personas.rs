//! Personas against the sample catalogue: the decisions the bank expects, slot by slot and
//! reason by reason.
//!
//! Each persona is a JSON fixture in `tests/personas/` (shared with the Wasm suites, which must
//! reach the same decisions): a profile, a `now`, and one or more decisions, each with a
//! placement, a context, the expected slots in order and the expected `stage/rule` of the
//! propositions not shown. Optional expectations: `fallbacks` (slots filled by a segment
//! fallback), `creative` (`locale` and `formFactor` of every slot), `withoutKnob` and
//! `knobCost`. The profile is parsed once per persona
//! and reused for all of its decisions, as a page does.

use std::path::Path;

use serde_json::Value;

use super::tests::{at, sample_engine};
use super::{Context, DecideRequest, Decision};

struct Persona {
    file: String,
    json: Value,
}

fn personas() -> Vec<Persona> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/personas");
    let mut files: Vec<_> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).collect();
    files.sort();
    files
        .into_iter()
        .filter(|f| f.extension().is_some_and(|e| e == "json"))
        .map(|f| Persona {
            file: f.file_name().unwrap().to_string_lossy().into_owned(),
            json: serde_json::from_str(&std::fs::read_to_string(&f).unwrap()).unwrap(),
        })
        .collect()
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array().map(|a| a.iter().map(|s| s.as_str().unwrap().to_string()).collect()).unwrap_or_default()
}

fn check(persona: &Persona, expected: &Value, d: &Decision) {
    let name = format!("{} / {}", persona.file, expected["placement"]);
    let table = super::explain::table(d);
    let shown: Vec<&str> = d.slots.iter().map(|s| s.proposition.as_str()).collect();
    assert_eq!(shown, strings(&expected["slots"]), "{name}: slots\n{table}");

    let reasons = expected["reasons"].as_object().unwrap();
    for (proposition, reason) in reasons {
        let entry = d.trace.iter().find(|t| &t.proposition == proposition);
        let actual = entry.map(|t| format!("{}/{}", t.stage.as_str(), t.rule.as_str()));
        assert_eq!(actual.as_deref(), reason.as_str(), "{name}: {proposition}\n{table}");
    }
    // Every proposition is accounted for exactly once, and every one not shown has a reason
    // in the fixture.
    assert_eq!(d.slots.len() + d.trace.len(), 11, "{name}\n{table}");
    assert_eq!(reasons.len(), d.trace.len(), "{name}: the fixture names a reason for every proposition not shown\n{table}");

    let fallbacks = strings(&expected["fallbacks"]);
    for s in &d.slots {
        assert_eq!(s.fallback, fallbacks.contains(&s.proposition), "{name}: {} fallback\n{table}", s.proposition);
        assert_eq!(s.note.is_some(), s.fallback, "{name}: a fallback slot says why");
        if let Some(creative) = expected.get("creative") {
            assert_eq!(s.creative.locale, creative["locale"].as_str().unwrap(), "{name}: {}", s.proposition);
            assert_eq!(serde_json::to_value(s.creative.form_factor).unwrap(), creative["formFactor"], "{name}");
        }
        let token = super::parse_token(&s.token).unwrap();
        assert_eq!((token.decision.as_str(), token.proposition.as_str()), (d.decision_id.as_str(), s.proposition.as_str()));
        assert!(s.priority > 0.0);
        let p = &s.parts;
        assert!((p.p * p.c * p.v * p.l - s.priority).abs() < 1e-12, "{name}: priority is P × C × V × L");
    }
    if let Some(without) = expected.get("withoutKnob") {
        assert_eq!(d.without_knob.propositions, strings(without), "{name}: without the knob\n{table}");
    }
    if let Some(cost) = expected.get("knobCost") {
        assert!((d.without_knob.knob_cost - cost.as_f64().unwrap()).abs() < 1e-9, "{name}: knob cost {}\n{table}", d.without_knob.knob_cost);
    }
}

#[test]
fn every_persona_gets_the_expected_slots_and_reasons() {
    let engine = sample_engine();
    let personas = personas();
    assert!(personas.len() >= 9, "persona fixtures are missing");
    for persona in &personas {
        let profile = engine.profile_from_value(&persona.json["profile"]).unwrap();
        let now = at(persona.json["now"].as_str().unwrap());
        for expected in persona.json["decisions"].as_array().unwrap() {
            let context = Context::from_value(&expected["context"]).unwrap();
            let placement = expected["placement"].as_str().unwrap();
            let d = engine.decide(&DecideRequest { placement, profile: &profile, context: &context, ledger: None, now }).unwrap();
            check(persona, expected, &d);
        }
    }
}

#[test]
fn the_issue_s_personas_are_all_there() {
    let names: Vec<String> = personas().iter().map(|p| p.json["persona"].as_str().unwrap().to_string()).collect();
    for wanted in [
        "a student",
        "a young family",
        "a pensioner with a mortgage",
        "a customer in arrears",
        "a customer without marketing consent",
        "a customer without personalisation consent",
        "an anonymous logged-off visitor on a savings page",
        "a visitor on a small screen",
    ] {
        assert!(names.iter().any(|n| n == wanted), "no persona {wanted:?}");
    }
}

#[test]
fn details_explain_in_words() {
    let engine = sample_engine();
    let persona = personas().into_iter().find(|p| p.file == "no-personalisation-consent.json").unwrap();
    let profile = engine.profile_from_value(&persona.json["profile"]).unwrap();
    let context = Context::from_value(&persona.json["decisions"][0]["context"]).unwrap();
    let d = engine
        .decide(&DecideRequest { placement: "overview", profile: &profile, context: &context, ledger: None, now: at("2026-12-05T09:30:00Z") })
        .unwrap();
    let detail = |id: &str| d.trace.iter().find(|t| t.proposition == id).unwrap().detail.clone();
    assert_eq!(
        detail("rejected-order"),
        "the applicability condition does not hold (without personalisation consent conditions see no profile attributes)"
    );
    assert_eq!(detail("mobile-app"), "one proposition per segment: service is already shown by phishing-tips");
    let green = &d.slots[0];
    assert_eq!(green.parts.propensity_source, super::PropensitySource::Default, "the profile's savings score is not used");
    assert_eq!(green.parts.p, 0.04);
    assert_eq!(d.slots[1].parts.context_weights, [100.0], "the security topic lifts the phishing tips");
}
