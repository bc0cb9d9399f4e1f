//! The measurement events say what the decision knew, whatever the engine holds when the
//! response arrives.

use serde_json::json;

use super::*;
use crate::bundle::model::{Holdout, HoldoutMode};
use crate::decide::tests::{at, decide_json, engine_for, student, with_proposition};

const NOW: &str = "2026-12-05T09:30:00Z";

fn everyone_held_out(percent: f64) -> crate::bundle::Payload {
    let mut payload = with_proposition("green-savings", |_| {});
    payload.catalogue.holdout = Some(Holdout { percent, salt: "2026-12".into(), mode: HoldoutMode::NoSales });
    payload
}

#[test]
fn an_event_carries_the_decisions_bundle_version_holdout_and_slot_after_the_bundle_is_replaced() {
    // Decided from version 1, where the student is in the holdout group (100%) ...
    let v1 = engine_for(&everyone_held_out(100.0));
    let d = decide_json(&v1, "overview", student(), json!({"page": "/overzicht"}), NOW).unwrap();
    assert!(d.holdout && !d.slots.is_empty());
    let slot = d.slots.last().unwrap();
    // ... and the response arrives after version 2 (no holdout group) has replaced it.
    let mut next = everyone_held_out(0.0);
    next.version = 2;
    let v2 = engine_for(&next);
    let profile = v2.profile_from_value(&student()).unwrap();
    let mut ledger = Ledger::new("bank-nl-web");
    let m = v2.record(&mut ledger, EventKind::Click, &slot.token, at(NOW), Some(&profile)).unwrap().measurement.unwrap();
    assert_eq!((m.bundle.as_str(), m.bundle_version, m.holdout), ("bank-nl-web", 1, true), "before, the engine's version 2 and holdout false were reported");
    assert_eq!((m.decision_id.as_str(), m.placement.as_str(), m.position), (d.decision_id.as_str(), "overview", slot.position));
    assert!((m.selection_probability - slot.selection_probability).abs() < 1e-6);
    // The collector's form of the event has every field.
    let value = serde_json::to_value(&m).unwrap();
    for field in ["placement", "position", "selectionProbability", "bundleVersion", "holdout"] {
        assert!(value.get(field).is_some(), "{field} in {value}");
    }
}

#[test]
fn a_held_out_decision_reports_what_it_withheld() {
    let engine = engine_for(&everyone_held_out(100.0));
    let held = decide_json(&engine, "overview", student(), json!({"page": "/overzicht"}), NOW).unwrap();
    let outside = decide_json(&engine_for(&everyone_held_out(0.0)), "overview", student(), json!({"page": "/overzicht"}), NOW).unwrap();
    let would: Vec<&str> = outside.slots.iter().map(|s| s.proposition.as_str()).filter(|p| !held.slots.iter().any(|s| s.proposition == *p)).collect();
    let withheld: Vec<&str> = held.withheld.iter().map(|w| w.proposition.as_str()).collect();
    assert!(!withheld.is_empty());
    assert_eq!(withheld, would, "withheld is what the decision would have shown outside the group");
    assert_eq!(held.measurement.len(), withheld.len());
    for (m, w) in held.measurement.iter().zip(&held.withheld) {
        assert_eq!((m.event, m.holdout, m.position, m.proposition.as_str()), (Measured::Withheld, true, 0, w.proposition.as_str()));
        assert_eq!(m.time, NOW);
    }
    // Not without analytics consent; never outside the group.
    let mut quiet = student();
    quiet["consent"]["analytics"] = json!(false);
    let d = decide_json(&engine, "overview", quiet, json!({"page": "/overzicht"}), NOW).unwrap();
    assert!(d.measurement.is_empty() && !d.withheld.is_empty());
    assert!(outside.withheld.is_empty() && outside.measurement.is_empty());
    // A withheld proposition was never shown: its token records nothing.
    let mut ledger = Ledger::new("bank-nl-web");
    let err = engine.record(&mut ledger, EventKind::Click, &held.withheld[0].token, at(NOW), None).unwrap_err();
    assert!(err.to_string().contains("withheld"), "{err}");
    assert!(ledger.is_empty());
}

#[test]
fn decision_ids_are_bound_to_the_bundles_content() {
    // Same id, same version, one lever changed: before, the decision ids were equal.
    let a = engine_for(&with_proposition("green-savings", |_| {}));
    let b = engine_for(&with_proposition("green-savings", |p| p.lever += 10.0));
    let decide = |e: &Engine| decide_json(e, "overview", student(), json!({"page": "/overzicht"}), NOW).unwrap();
    assert_eq!(a.version(), b.version());
    assert_ne!(decide(&a).decision_id, decide(&b).decision_id);
    assert_eq!(decide(&a).decision_id, decide(&engine_for(&with_proposition("green-savings", |_| {}))).decision_id, "and still replayable");
}

#[test]
fn a_token_of_another_bundle_is_refused() {
    let mut other = with_proposition("green-savings", |_| {});
    other.bundle_id = "another-bank".into();
    let d = decide_json(&engine_for(&other), "overview", student(), json!({"page": "/overzicht"}), NOW).unwrap();
    let engine = engine_for(&with_proposition("green-savings", |_| {}));
    let err = engine.record(&mut Ledger::new("bank-nl-web"), EventKind::Click, &d.slots[0].token, at(NOW), None).unwrap_err();
    assert!(err.to_string().contains("is from bundle \"another-bank\""), "{err}");
}
