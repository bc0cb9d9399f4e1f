//! The ledger string kept in `localStorage` or a cookie: any text parses (a bad ledger is reset,
//! never fatal), serialises back to what it parsed to, fits any size, and is decided with. Inputs
//! starting with `#` are taken as the ledger's binary body instead, wrapped with its checksum as
//! the page would write it, so that the decoder behind the checksum is reached.
#![no_main]

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use libfuzzer_sys::fuzz_target;
use opmaat::ledger::{EventKind, Ledger};
use opmaat::{Context, Profile};
use opmaat_fuzz::{decide_everywhere, sample_engine, NOW};

/// The ledger's checksum: FNV-1a, 32 bits, little-endian after the body.
fn fnv1a32(bytes: &[u8]) -> u32 {
    bytes.iter().fold(0x811c_9dc5, |h, &b| (h ^ u32::from(b)).wrapping_mul(0x0100_0193))
}

fuzz_target!(|data: &[u8]| {
    let text = match data.split_first() {
        Some((b'#', body)) => {
            let mut bytes = body.to_vec();
            bytes.extend_from_slice(&fnv1a32(body).to_le_bytes());
            format!("L1.{}", URL_SAFE_NO_PAD.encode(bytes))
        }
        _ => match std::str::from_utf8(data) {
            Ok(text) => text.to_string(),
            Err(_) => return,
        },
    };
    let catalogue = sample_engine().bundle_id().to_string();
    let (mut ledger, _warning) = Ledger::parse(&text, &catalogue);
    let again = Ledger::parse(&ledger.serialise(), &catalogue);
    assert_eq!(again.0, ledger, "a serialised ledger parses back to itself");
    assert_eq!(again.1, None, "a serialised ledger parses without a warning");
    decide_everywhere(sample_engine(), &Profile::anonymous(), &Context::default(), Some(&ledger), NOW);
    ledger.record("green-savings", EventKind::Dismiss, "0123456789abcdef", NOW);
    let limit = text.len() % 4096;
    if ledger.fit(limit) {
        assert!(ledger.serialise().len() <= limit, "fit keeps its promise");
    }
});
