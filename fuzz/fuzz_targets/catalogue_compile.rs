//! The catalogue compiler: any text, as a marketer's catalogue JSON. A catalogue that compiles
//! must also seal and load (what builds, loads).
#![no_main]

use libfuzzer_sys::fuzz_target;
use opmaat::bundle::compile::compile_json;
use opmaat::bundle::envelope::seal;
use opmaat::{Engine, LoadOptions};
use opmaat_fuzz::{test_key, trusted, NOW};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(payload) = compile_json(text, NOW) else { return };
    let Ok(bytes) = seal(&payload, test_key()) else { return };
    let options = LoadOptions { trusted_keys: trusted(), now: payload.not_before, min_version: None };
    if let Err(e) = Engine::load(&bytes, &options) {
        // Over a host's memory budget is the one refusal a compiled catalogue may meet.
        assert_eq!(e.code(), "too_large", "a compiled catalogue does not load: {e}");
    }
});
