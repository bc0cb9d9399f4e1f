//! What `learn` reads and what a host hands `record`: tracking tokens, and JSON Lines of
//! measurement events, server-side conversions and counts. Inputs starting with `#` are a
//! token's bytes (base64url-encoded here): a token that parses makes the same token again and is
//! recorded by the sample engine (an error is fine, a panic is not). Any other input is JSON
//! Lines, read as each of the three kinds; what reads is aggregated, learned from and evaluated
//! on the sample catalogue.
#![no_main]

use std::sync::OnceLock;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use libfuzzer_sys::fuzz_target;
use opmaat::bundle::catalogue::Catalogue;
use opmaat::decide::{parse_token, DecisionId};
use opmaat::learn::{aggregate, evaluate, learn, parse_conversions, parse_events, CountRow, Counts, Options};
use opmaat::ledger::{EventKind, Ledger};
use opmaat::measure::token::tracking_token;
use opmaat_fuzz::{customer, sample_engine, NOW};

fn catalogue() -> &'static Catalogue {
    static CATALOGUE: OnceLock<Catalogue> = OnceLock::new();
    CATALOGUE.get_or_init(|| {
        let json = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../www/catalogue.json")).expect("the sample catalogue");
        opmaat::bundle::compile::parse_catalogue(&json).expect("the sample catalogue parses")
    })
}

fuzz_target!(|data: &[u8]| {
    if let Some((b'#', bytes)) = data.split_first() {
        let text = URL_SAFE_NO_PAD.encode(bytes);
        if let Ok(token) = parse_token(&text) {
            let mut id = [0u8; 8];
            for (i, pair) in token.decision.as_bytes().chunks(2).enumerate() {
                if let (Some(slot), Ok(hex)) = (id.get_mut(i), u8::from_str_radix(std::str::from_utf8(pair).unwrap_or(""), 16)) {
                    *slot = hex;
                }
            }
            let again = parse_token(&tracking_token(DecisionId(id), &token)).expect("a made token parses");
            assert_eq!(again.proposition, token.proposition);
            assert_eq!((again.bundle_version, again.holdout, again.position), (token.bundle_version, token.holdout, token.position));
        }
        let mut ledger = Ledger::new(sample_engine().bundle_id());
        let _ = sample_engine().record(&mut ledger, EventKind::Click, &text, NOW, Some(customer()));
        return;
    }
    let Ok(text) = std::str::from_utf8(data) else { return };
    let events = parse_events(text, "events.jsonl").unwrap_or_default();
    let conversions = parse_conversions(text, "conversions.jsonl").unwrap_or_default();
    let mut rows = Vec::new();
    let _ = opmaat::learn::events::read_lines(text.as_bytes(), "counts.jsonl", "row of counts", |_: &CountRow| Ok(()), |r| rows.push(r));
    let options = Options { now: NOW, half_life_days: 30.0, decay: 0.8, prior_strength: 20.0 };
    for counts in [aggregate(&events, &conversions, catalogue()), Counts::new(rows)] {
        let mut learned = catalogue().clone();
        if let Ok(report) = learn(&mut learned, &counts, &options) {
            let _ = opmaat::learn::table(&report);
        }
        let policy = evaluate::policy_of(&sample_engine().bundle().payload.catalogue);
        let _ = evaluate::table(&evaluate::evaluate(&counts, &policy));
    }
});
