//! A bundle's payload decoder, reached past the signature: the fuzzer's bytes are the payload,
//! signed here with the test key, then loaded (verify, decode under the memory budget, check,
//! prepare the conditions) at a moment inside their own validity window, and every placement is
//! decided for an anonymous visitor.
#![no_main]

use libfuzzer_sys::fuzz_target;
use opmaat::bundle::envelope::{decode, seal_raw};
use opmaat::{Context, Engine, LoadOptions, Profile};
use opmaat_fuzz::{decide_everywhere, test_key, trusted, NOW};

fuzz_target!(|payload: &[u8]| {
    let Ok(bytes) = seal_raw(payload, test_key()) else { return };
    // Decide inside the bundle's own window, so that loading goes past the validity checks.
    let now = decode::<opmaat::bundle::Payload>(payload).map(|p| p.not_before).unwrap_or(NOW);
    let options = LoadOptions { trusted_keys: trusted(), now, min_version: None };
    if let Ok(engine) = Engine::load(&bytes, &options) {
        decide_everywhere(&engine, &Profile::anonymous(), &Context::default(), None, now);
    }
});
