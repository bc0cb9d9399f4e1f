//! Tests of availability overlays: the round trip, every refusal, and what they do to decisions.

use serde_json::{json, Value};

use super::*;
use crate::bundle::envelope::{seal, seal_as, seal_raw_as};
use crate::bundle::model::Reward;
use crate::bundle::tests::{dev_key, sample_payload};
use crate::bundle::{LoadOptions, Payload};
use crate::decide::tests::{at, decide_json, engine_for, student, with_proposition, NOW};
use crate::decide::{Decision, Rule, Stage, OVERLAY_EXPIRED, OVERLAY_NOT_YET_VALID};
use crate::Engine;

/// The overlay `source` says, issued at `issued` (valid an hour) and signed with `key`.
fn sealed(source: Value, issued: &str, key: u8) -> Vec<u8> {
    let source = parse_source(&source.to_string()).unwrap();
    seal_as(&OVERLAY, &build(&source, at(issued), DEFAULT_TTL_MINUTES).unwrap(), &dev_key(key)).unwrap()
}

fn museum(state: Value, sequence: u64) -> Value {
    json!({"bundle": "bank-nl-web", "sequence": sequence, "propositions": {"rijksmuseum": state}})
}

/// The student persona's overview, where the museum deal is shown.
fn overview(engine: &Engine, now: &str) -> Decision {
    decide_json(engine, "overview", student(), json!({"page": "/overzicht"}), now).unwrap()
}

fn shown(d: &Decision) -> Vec<&str> {
    d.slots.iter().map(|s| s.proposition.as_str()).collect()
}

fn code<T>(r: Result<T>) -> &'static str {
    match r {
        Ok(_) => panic!("expected an error, got a success"),
        Err(e) => e.code(),
    }
}

#[test]
fn round_trip() {
    let bytes = sealed(
        json!({"bundle": "bank-nl-web", "sequence": 7, "propositions": {
            "rijksmuseum": {"remaining": 12},
            "spaar-spektakel": {"soldOut": true, "paused": "partner incident"},
            "gone-since-v41": {"available": true}
        }}),
        NOW,
        1,
    );
    let mut engine = engine_for(&sample_payload());
    let overlay = engine.apply_overlay(&bytes, at(NOW)).unwrap();
    assert_eq!(overlay.payload.sequence, 7);
    assert_eq!(overlay.payload.expires_at - overlay.payload.not_before, DEFAULT_TTL_MINUTES * 60);
    assert_eq!(overlay.unknown, ["gone-since-v41"]);
    assert_eq!(overlay.matched(), 2);
    let index = |id: &str| engine.bundle().payload.catalogue.propositions.iter().position(|p| p.id == id).unwrap();
    let overlay = engine.overlay().unwrap();
    assert_eq!(overlay.entry(index("rijksmuseum")).unwrap().stock, Stock::Remaining(12));
    let spektakel = overlay.entry(index("spaar-spektakel")).unwrap();
    assert_eq!((spektakel.stock, spektakel.paused.as_deref()), (Stock::SoldOut, Some("partner incident")));
    assert!(overlay.entry(index("phishing-tips")).is_none());
}

#[test]
fn the_sequence_defaults_to_the_issue_time() {
    let source = parse_source(r#"{"bundle": "bank-nl-web", "propositions": {"rijksmuseum": {"soldOut": true}}}"#).unwrap();
    let payload = build(&source, at(NOW), 15).unwrap();
    assert_eq!(payload.sequence, at(NOW) as u64);
    assert_eq!((payload.not_before, payload.expires_at), (at(NOW), at(NOW) + 15 * 60));
}

#[test]
fn every_refusal_has_its_code() {
    let engine = engine_for(&sample_payload());
    let bundle = engine.bundle();
    let trusted = {
        let mut t = TrustedKeys::new();
        t.add(&dev_key(1).public_key()).unwrap();
        t
    };
    let good = sealed(museum(json!({"soldOut": true}), 5), NOW, 1);
    let try_load = |bytes: &[u8], now: &str, min: Option<u64>| code(load(bytes, &trusted, bundle, at(now), min));
    assert!(load(&good, &trusted, bundle, at(NOW), None).is_ok());
    // A bundle is not an overlay, nor the other way round.
    let bundle_bytes = seal(&sample_payload(), &dev_key(1)).unwrap();
    assert_eq!(try_load(&bundle_bytes, NOW, None), "bad_magic");
    let as_bundle = crate::bundle::load(&good, &LoadOptions { trusted_keys: &trusted, now: at(NOW), min_version: None });
    assert_eq!(code(as_bundle), "bad_magic");
    let flipped = |i: usize| {
        let mut b = good.clone();
        b[i] ^= 1;
        b
    };
    assert_eq!(try_load(&flipped(4), NOW, None), "unsupported_format_version");
    assert_eq!(try_load(&flipped(6), NOW, None), "unknown_key");
    assert_eq!(try_load(&flipped(good.len() - 1), NOW, None), "bad_signature");
    assert_eq!(try_load(&sealed(museum(json!({"soldOut": true}), 5), NOW, 2), NOW, None), "unknown_key");
    assert_eq!(try_load(&good, "2026-12-05T09:29:59Z", None), "not_yet_valid");
    assert_eq!(try_load(&good, "2026-12-05T10:30:00Z", None), "expired");
    assert_eq!(try_load(&good, NOW, Some(6)), "rollback");
    assert!(load(&good, &trusted, bundle, at(NOW), Some(5)).is_ok(), "the same overlay again is a revalidation");
    let other = json!({"bundle": "bank-be-web", "sequence": 5, "propositions": {"rijksmuseum": {"soldOut": true}}});
    let err = load(&sealed(other, NOW, 1), &trusted, bundle, at(NOW), None).unwrap_err();
    assert_eq!(err.code(), "wrong_bundle");
    assert!(err.to_string().contains("bank-be-web") && err.to_string().contains("bank-nl-web"), "{err}");
    assert_eq!(try_load(&[good.clone(), vec![0]].concat(), NOW, None), "trailing_bytes");
    assert_eq!(try_load(&vec![b'O'; MAX_OVERLAY_BYTES + 1], NOW, None), "too_large");
    assert_eq!(try_load(&seal_raw_as(&OVERLAY, b"\x01\x02", &dev_key(1)).unwrap(), NOW, None), "malformed_payload");
    // Hand-made payloads that `build` would never write.
    let payload = |change: &dyn Fn(&mut OverlayPayload)| {
        let mut p = build(&parse_source(&museum(json!({"soldOut": true}), 5).to_string()).unwrap(), at(NOW), 60).unwrap();
        change(&mut p);
        seal_as(&OVERLAY, &p, &dev_key(1)).unwrap()
    };
    let entry = |id: &str| Entry { proposition: id.into(), stock: Stock::SoldOut, paused: None };
    for (what, bytes) in [
        ("a day and a second", payload(&|p| p.expires_at = p.not_before + MAX_OVERLAY_VALIDITY_SECONDS + 1)),
        ("an empty window", payload(&|p| p.expires_at = p.not_before)),
        ("unsorted entries", payload(&|p| p.entries = vec![entry("z"), entry("a")])),
        ("one proposition twice", payload(&|p| p.entries = vec![entry("a"), entry("a")])),
        ("a pause without a reason", payload(&|p| p.entries[0].paused = Some(" ".into()))),
    ] {
        assert_eq!(try_load(&bytes, NOW, None), "malformed_payload", "{what}");
    }
}

#[test]
fn a_refused_overlay_leaves_the_one_in_use() {
    let mut engine = engine_for(&sample_payload());
    engine.apply_overlay(&sealed(museum(json!({"soldOut": true}), 5), NOW, 1), at(NOW)).unwrap();
    let older = sealed(museum(json!({"available": true}), 4), NOW, 1);
    assert_eq!(code(engine.apply_overlay(&older, at(NOW))), "rollback");
    assert_eq!(engine.overlay().unwrap().payload.sequence, 5);
    assert!(!shown(&overview(&engine, NOW)).contains(&"rijksmuseum"));
}

#[test]
fn source_mistakes_are_named_by_path() {
    let cases = [
        (json!({"available": false}), "propositions.rijksmuseum.available", "use soldOut or paused"),
        (json!({"soldOut": false}), "propositions.rijksmuseum.soldOut", "use available or remaining"),
        (json!({"soldOut": true, "remaining": 3}), "propositions.rijksmuseum", "give one of"),
        (json!({}), "propositions.rijksmuseum", "says nothing"),
        (json!({"paused": ""}), "propositions.rijksmuseum.paused", "reason"),
    ];
    for (state, path, message) in cases {
        let source = parse_source(&museum(state.clone(), 1).to_string()).unwrap();
        let err = build(&source, at(NOW), 60).unwrap_err();
        assert_eq!(err.code(), "invalid_argument");
        assert!(err.to_string().starts_with(path) && err.to_string().contains(message), "{state}: {err}");
    }
    let typo = parse_source(r#"{"bundle": "b", "propositions": {"x": {"sold_out": true}}}"#).unwrap_err();
    assert!(typo.to_string().contains("propositions.x") && typo.to_string().contains("unknown field"), "{typo}");
    let long = json!({"bundle": "bank-nl-web", "valid": {"from": "2026-12-05T00:00:00Z", "until": "2026-12-06T00:00:01Z"},
        "propositions": {"rijksmuseum": {"soldOut": true}}});
    let err = build(&parse_source(&long.to_string()).unwrap(), at(NOW), 60).unwrap_err();
    assert!(err.to_string().contains("at most a day"), "{err}");
    let source = parse_source(&museum(json!({"soldOut": true}), 1).to_string()).unwrap();
    assert_eq!(build(&source, at(NOW), 0).unwrap_err().code(), "invalid_argument");
    assert_eq!(build(&source, at(NOW), 24 * 60 + 1).unwrap_err().code(), "invalid_argument");
}

#[test]
fn a_sold_out_deal_is_gone_at_the_next_decision() {
    let mut engine = engine_for(&sample_payload());
    let before = overview(&engine, NOW);
    assert_eq!(shown(&before), ["student-13th-month", "rijksmuseum", "phishing-tips"]);
    let slot = before.slots.iter().find(|s| s.proposition == "rijksmuseum").unwrap();
    let loyalty = slot.loyalty.as_ref().unwrap();
    assert_eq!((loyalty.partner.as_str(), loyalty.discount_percent, loyalty.remaining, loyalty.low_stock), ("Rijksmuseum", Some(50.0), Some(500), false));
    assert_eq!(before.overlay_sequence, None);

    engine.apply_overlay(&sealed(museum(json!({"soldOut": true}), 2), NOW, 1), at(NOW)).unwrap();
    let after = overview(&engine, NOW);
    assert!(!shown(&after).contains(&"rijksmuseum"), "{:?}", shown(&after));
    let entry = after.trace.iter().find(|t| t.proposition == "rijksmuseum").unwrap();
    assert_eq!((entry.stage, entry.rule), (Stage::Select, Rule::SoldOut));
    assert_eq!(entry.detail, "sold out (availability overlay 2)");
    assert_eq!(after.overlay_sequence, Some(2));
    assert!(after.warnings.is_empty());
    // Without the trace, the same slots.
    let profile = engine.profile_from_value(&student()).unwrap();
    let context = crate::Context::from_value(&json!({"page": "/overzicht"})).unwrap();
    let request = crate::DecideRequest { placement: "overview", profile: &profile, context: &context, ledger: None, now: at(NOW) };
    assert_eq!(engine.decide_without_trace(&request).unwrap().slots, after.slots);
}

#[test]
fn a_paused_proposition_has_its_trace_entry() {
    let mut engine = engine_for(&sample_payload());
    let source = museum(json!({"remaining": 40, "paused": "wrong discount in the text"}), 3);
    engine.apply_overlay(&sealed(source, NOW, 1), at(NOW)).unwrap();
    let d = overview(&engine, NOW);
    assert!(!shown(&d).contains(&"rijksmuseum"));
    let entry = d.trace.iter().find(|t| t.proposition == "rijksmuseum").unwrap();
    assert_eq!((entry.stage, entry.rule), (Stage::Select, Rule::Paused));
    assert_eq!(entry.detail, "paused by availability overlay 3: wrong discount in the text");
}

#[test]
fn an_expired_overlay_falls_back_to_the_catalogue_with_a_warning() {
    let mut engine = engine_for(&sample_payload());
    engine.apply_overlay(&sealed(museum(json!({"soldOut": true}), 2), NOW, 1), at(NOW)).unwrap();
    let later = "2026-12-05T10:30:00Z"; // the overlay's hour has passed
    let d = overview(&engine, later);
    assert!(shown(&d).contains(&"rijksmuseum"), "the catalogue's stock of 500 applies again");
    assert_eq!(d.warnings, [OVERLAY_EXPIRED]);
    assert_eq!(d.overlay_sequence, None);
    let early = overview(&engine, "2026-12-05T09:00:00Z");
    assert_eq!(early.warnings, [OVERLAY_NOT_YET_VALID]);
    assert!(shown(&early).contains(&"rijksmuseum"));
}

/// The sample payload with the museum deal's catalogued stock set.
fn museum_stock(stock: u32) -> Payload {
    with_proposition("rijksmuseum", |p| p.loyalty.as_mut().unwrap().stock = Some(stock))
}

#[test]
fn the_catalogue_s_stock_of_zero_is_sold_out_until_an_overlay_restocks() {
    let mut engine = engine_for(&museum_stock(0));
    let d = overview(&engine, NOW);
    let entry = d.trace.iter().find(|t| t.proposition == "rijksmuseum").unwrap();
    assert_eq!(entry.rule, Rule::SoldOut);
    assert!(entry.detail.contains("the catalogue's stock is 0"), "{}", entry.detail);
    engine.apply_overlay(&sealed(museum(json!({"available": true}), 1), NOW, 1), at(NOW)).unwrap();
    let d = overview(&engine, NOW);
    let slot = d.slots.iter().find(|s| s.proposition == "rijksmuseum").expect("restocked");
    assert_eq!(slot.loyalty.as_ref().unwrap().remaining, None);
}

#[test]
fn low_stock_moves_the_priority_by_the_catalogue_s_lever() {
    let mut engine = engine_for(&sample_payload());
    // The museum deal's priority parts, shown or (outranked) in the trace.
    let parts = |engine: &Engine| {
        let d = overview(engine, NOW);
        match d.slots.iter().find(|s| s.proposition == "rijksmuseum") {
            Some(s) => (s.parts.clone(), Some(s.loyalty.clone().unwrap())),
            None => (*d.trace.iter().find(|t| t.proposition == "rijksmuseum").unwrap().parts.clone().unwrap(), None),
        }
    };
    let (full, loyalty) = parts(&engine);
    assert_eq!((full.stock_lever, loyalty.unwrap().low_stock), (0.0, false));
    // 25 left: at the threshold, the sample catalogue's lever of -30 % applies, and the deal
    // (third before) loses its slot to the next best.
    engine.apply_overlay(&sealed(museum(json!({"remaining": 25}), 1), NOW, 1), at(NOW)).unwrap();
    let (low, shown_low) = parts(&engine);
    assert_eq!(low.stock_lever, -30.0);
    assert!(shown_low.is_none(), "saved for where it matters more");
    assert!((low.l - (full.l - 0.30)).abs() < 1e-12, "{} → {}", full.l, low.l);
    assert!((low.priority - full.priority * low.l / full.l).abs() < 1e-9, "{} → {}", full.priority, low.priority);
    // 26 left: not low.
    engine.apply_overlay(&sealed(museum(json!({"remaining": 26}), 2), NOW, 1), at(NOW)).unwrap();
    assert_eq!(parts(&engine).0.stock_lever, 0.0);
    // A positive lever clears the last ones: shown, and the slot says they are few.
    let clear = with_proposition("rijksmuseum", |p| p.loyalty.as_mut().unwrap().low_stock.as_mut().unwrap().lever = 30.0);
    let mut engine = engine_for(&clear);
    engine.apply_overlay(&sealed(museum(json!({"remaining": 3}), 1), NOW, 1), at(NOW)).unwrap();
    let (high, loyalty) = parts(&engine);
    let loyalty = loyalty.expect("shown");
    assert_eq!((high.stock_lever, loyalty.remaining, loyalty.low_stock), (30.0, Some(3), true));
}

#[test]
fn loyalty_blocks_are_checked_when_compiled() {
    let json = crate::bundle::compile::read_catalogue_file(concat!(env!("CARGO_MANIFEST_DIR"), "/www/catalogue.json")).unwrap();
    let cases = [
        (r#""discountPercent": 50"#, r#""discountPercent": 50, "pointsCost": 100"#, "exactly one of pointsCost and discountPercent"),
        (r#""discountPercent": 50"#, r#""discountPercent": 0"#, "above 0 and at most 100"),
        (r#""threshold": 25"#, r#""threshold": 0"#, "at least 1"),
        (r#""partner": "Rijksmuseum""#, r#""partner": " ""#, "the partner's name"),
        (r#""stock": 500"#, r#""stock": -1"#, "invalid value"),
    ];
    for (from, to, message) in cases {
        let err = crate::bundle::compile::compile_json(&json.replacen(from, to, 1), at(NOW)).unwrap_err();
        assert!(err.to_string().contains("propositions[3].loyalty") && err.to_string().contains(message), "{to}: {err}");
    }
    let sales = json.replacen(r#""kind": "loyalty",
      "loyalty""#, r#""kind": "sales",
      "loyalty""#, 1);
    let err = crate::bundle::compile::compile_json(&sales, at(NOW)).unwrap_err();
    assert!(err.to_string().contains("belongs to a proposition of kind loyalty"), "{err}");
    let payload = sample_payload();
    let museum = payload.catalogue.propositions.iter().find(|p| p.id == "rijksmuseum").unwrap();
    assert_eq!(museum.loyalty.as_ref().unwrap().reward, Reward::DiscountPercent(50.0));
}
