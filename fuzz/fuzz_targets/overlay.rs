//! An availability overlay's payload decoder, reached past the signature: the fuzzer's bytes are
//! the payload, signed here with the test key as an overlay, applied to the sample bundle at a
//! moment inside their own window, and every placement decided for an anonymous visitor and a
//! logged-in customer, then and at the fixed moment (the overlay expired or not yet valid). The
//! bytes themselves, as an unsigned envelope, must be refused with a code.
#![no_main]

use libfuzzer_sys::fuzz_target;
use opmaat::bundle::envelope::{decode, seal_raw_as};
use opmaat::bundle::overlay::{self, OverlayPayload, OVERLAY};
use opmaat::{Context, Engine, LoadOptions, Profile};
use opmaat_fuzz::{customer, decide_everywhere, sample_bundle, test_key, trusted, NOW};

fuzz_target!(|payload: &[u8]| {
    let options = LoadOptions { trusted_keys: trusted(), now: NOW, min_version: None };
    let Ok(mut engine) = Engine::load(sample_bundle(), &options) else { return };
    assert!(overlay::load(payload, trusted(), engine.bundle(), NOW, None).is_err(), "unsigned bytes passed as an overlay");
    let Ok(bytes) = seal_raw_as(&OVERLAY, payload, test_key()) else { return };
    let now = decode::<OverlayPayload>(payload).map(|p| p.not_before).unwrap_or(NOW);
    if engine.apply_overlay(&bytes, now).is_err() {
        return;
    }
    for at in [now, NOW] {
        decide_everywhere(&engine, &Profile::anonymous(), &Context::default(), None, at);
        decide_everywhere(&engine, customer(), &Context::default(), None, at);
    }
});
