//! The contact's context (`page`, `topic`, `locale`, `formFactor`, …): any text as context
//! JSON; a context that parses is decided with.
#![no_main]

use libfuzzer_sys::fuzz_target;
use opmaat::{Context, Profile};
use opmaat_fuzz::{decide_everywhere, sample_engine, NOW};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(context) = Context::parse(text) {
        decide_everywhere(sample_engine(), &Profile::anonymous(), &context, None, NOW);
    }
});
